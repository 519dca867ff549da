"""The documentation: the guide's examples run, and Sphinx builds without warnings (skipped
without the docs extra)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("myst_parser")
    pytest.importorskip("sphinx_rtd_theme")
    from sphinx.cmd.build import build_main

    assert build_main(["-W", "-q", "-b", "html", str(DOCS), str(tmp_path)]) == 0
    assert (tmp_path / "api.html").stat().st_size > 100_000


def test_guide_examples_run(capsys):
    guide = (DOCS / "guide.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/guide.md", "exec"), namespace)
    assert namespace["new_x"].shape == (10, 4)
    assert namespace["log_px"].shape == (256,)
