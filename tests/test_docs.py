"""The Sphinx documentation builds without warnings (skipped without the docs extra)."""

from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("myst_parser")
    pytest.importorskip("sphinx_rtd_theme")
    from sphinx.cmd.build import build_main

    assert build_main(["-W", "-q", "-b", "html", str(DOCS), str(tmp_path)]) == 0
    assert (tmp_path / "api.html").stat().st_size > 100_000
