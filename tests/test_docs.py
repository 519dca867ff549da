"""The documentation site: it builds with warnings as errors, every tutorial page shows its
executed figures, every how-to page is in the site, the API reference documents every name in
the ``__all__`` of every public module, and the guide's examples run.

CI builds the site once (``make -C docs html``) and points ``INN_DOCS_HTML`` at it; without that
variable the fixture builds it here (sphinx-gallery re-runs only changed tutorials).
"""

import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

import inn

DOCS = Path(__file__).parent.parent / "docs"
TUTORIALS = sorted(DOCS.glob("tutorials/[0-9][0-9]_*.py"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built HTML site."""
    if os.environ.get("INN_DOCS_HTML"):
        return Path(os.environ["INN_DOCS_HTML"])
    for package in ["sphinx", "furo", "myst_parser", "sphinx_gallery", "matplotlib"]:
        pytest.importorskip(package)
    from sphinx.cmd.build import build_main

    out = tmp_path_factory.mktemp("html")
    assert build_main(["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)]) == 0
    return out


def public_modules():
    found = [info.name for info in pkgutil.walk_packages(inn.__path__, "inn.")]
    return ["inn"] + [m for m in found if not any(p.startswith("_") for p in m.split("."))]


def resolve(full_name, kind):
    """The object a documented dotted name refers to: a module, or an attribute of the longest
    importable prefix (``inn.transformers.functional.affine`` is a function and a module)."""
    if kind == "py:module":
        return importlib.import_module(full_name)
    parts = full_name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise LookupError(full_name)


def documented_objects(site):
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    # A dict {"py:class": {name: ...}, ...}, or an object holding it as .data in newer Sphinx.
    by_kind = getattr(inventory, "data", inventory)
    kinds = ["py:module", "py:class", "py:exception", "py:function", "py:data"]
    entries = {(name, kind) for kind in kinds for name in by_kind.get(kind, {})}
    return {id(resolve(name, kind)) for name, kind in entries if name.startswith("inn")}


def test_api_reference_documents_every_public_name(site):
    documented = documented_objects(site)
    missing = []
    modules = public_modules()
    assert {"inn.framework", "inn.modules", "inn.transformers", "inn.nn"} <= set(modules)
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            if id(getattr(module, name)) not in documented:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_api_pages_render_the_docstrings(site):
    page = (site / "api" / "inn.framework.html").read_text()
    assert 'id="inn.framework.GraphINN"' in page
    assert "intermediate_outputs" in page  # GraphINN.forward's documented arguments


@pytest.mark.parametrize("script", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_tutorial_pages_show_their_figures(site, script):
    page = site / "generated" / "tutorials" / f"{script.stem}.html"
    html = page.read_text()
    images = re.findall(rf'<img[^>]+src="([^"]*sphx_glr_{script.stem}_\d+\.png)"', html)
    assert images, f"{page.name} shows no figure"
    for src in images:
        image = (page.parent / src).resolve()
        assert image.stat().st_size > 5_000, f"{src} is empty"
    assert "Traceback" not in html


def test_every_source_page_is_in_the_site(site):
    sources = [p for p in DOCS.rglob("*.md") if "_build" not in p.parts]
    assert DOCS / "howto" / "condition_images_on_a_vector.md" in sources
    for source in sources:
        assert (site / source.relative_to(DOCS).with_suffix(".html")).exists(), source
    howto = (site / "howto.html").read_text()
    for page in DOCS.glob("howto/*.md"):
        assert f'href="howto/{page.stem}.html"' in howto


def test_benchmarks_page_shows_the_readme_benchmark_sections(site):
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    from readme_sections import TITLE, benchmark_sections

    readme = (DOCS.parent / "README.md").read_text()
    titles = [t for t in re.findall(r"^## (.+)$", readme, flags=re.M) if TITLE.search(t)]
    assert "Benchmarks" in titles
    page = (site / "benchmarks.html").read_text()
    for title in titles:
        assert title.replace("`", "").split(" (")[0] in re.sub(r"<[^>]+>", "", page), title
    assert "benchmark_figures.png" in page or "benchmark_figures" in page
    rewritten = benchmark_sections("## Speed\n[a](docs/howto/x.md) ![m](docs/m.png) [s](b/s.py)\n")
    assert rewritten == "## Speed\n[a](/howto/x.md) ![m](/m.png) s\n"


def test_guide_examples_run(capsys):
    guide = (DOCS / "guide.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/guide.md", "exec"), namespace)
    assert namespace["new_x"].shape == (10, 4)
    assert namespace["log_px"].shape == (256,)


def test_home_page_and_howto_examples_run():
    for page in ["index.md", "howto/condition_images_on_a_vector.md"]:
        namespace = {}
        for block in re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S):
            exec(compile(block, f"docs/{page}", "exec"), namespace)
    assert namespace["images_back"].shape == (5, 2, 8, 8)
