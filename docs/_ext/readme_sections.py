"""Sphinx extension: the benchmark sections of README.md, for the benchmarks page.

Engineers add their figures to README.md under their own ``## `` headings; the benchmarks page
includes every top-level section whose title names a benchmark (benchmarks, speed, memory,
compile, quality), as it stands, so the page always shows the latest tables. Links into
``docs/`` become links within the site; other relative links become plain text.
"""

import re
from pathlib import Path

TITLE = re.compile(r"benchmark|speed|memory|compil|quality", re.IGNORECASE)
OUTPUT = Path("_generated") / "readme_benchmarks.md.inc"


def benchmark_sections(readme: str) -> str:
    """The selected ``## `` sections of ``readme``, links rewritten for the site."""
    sections = re.split(r"\n(?=## )", readme)
    titled = [s for s in sections if s.startswith("## ")]
    chosen = [s.strip() for s in titled if TITLE.search(s.split("\n")[0])]
    text = "\n\n".join(chosen)
    text = re.sub(r"\]\(docs/", "](/", text)  # a page or image of the site
    # Any other relative link (a script, a file outside docs/) becomes its text.
    return re.sub(r"(?<!!)\[([^\]]+)\]\((?!https?://|/|#)[^)]+\)", r"\1", text) + "\n"


def write_sections(app) -> None:
    """Write ``docs/_generated/readme_benchmarks.md.inc`` from ``README.md``."""
    readme = (Path(app.srcdir).parent / "README.md").read_text()
    out = Path(app.srcdir) / OUTPUT
    out.parent.mkdir(exist_ok=True)
    text = benchmark_sections(readme)
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


def setup(app) -> dict:
    """Register the section writer."""
    app.connect("builder-inited", write_sections)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
