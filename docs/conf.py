"""Sphinx configuration: autodoc with Google-style docstrings (napoleon) and Markdown (myst)."""

import inn

project = "inn"
author = "The inn developers"
release = inn.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "myst_parser"]
napoleon_google_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "sphinx_rtd_theme"
