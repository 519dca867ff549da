"""Sphinx configuration: furo theme, MyST pages, autodoc with Google docstrings, and the
tutorials executed by sphinx-gallery (each run in this process; unchanged ones are cached)."""

import sys
from pathlib import Path

import torch

import inn

DOCS = Path(__file__).parent
sys.path.insert(0, str(DOCS / "_ext"))
# The tutorials train toy models: one thread is fastest, and several oversubscribe a shared CPU.
torch.set_num_threads(1)

project = "inn"
author = "The inn developers"
copyright = "The inn developers"
release = inn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "api_pages",
    "readme_sections",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# tutorials/ holds the scripts; sphinx-gallery writes their pages to generated/tutorials/.
exclude_patterns = ["_build", "_ext", "_generated", "tutorials", "Thumbs.db", ".DS_Store"]

# Autodoc: Google-style docstrings; type hints in the description, next to the argument.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autodoc_inherit_docstrings = False

# MyST: $...$ math, ::: fences, anchors for ## and ### headings (links like errors.md#...).
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["generated/tutorials"],
    "filename_pattern": r"/\d\d_",  # execute every numbered tutorial
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib", "tutorial_reset.reset_torch"),
    "min_reported_time": 0,
    "show_memory": False,
    "show_signature": False,
    "write_computation_times": True,
    "first_notebook_cell": None,
    "matplotlib_animations": False,
    "parallel": 2,  # CI has 2 cores; the tutorials run one thread each
}

# The benchmarks page's figure (matplotlib's plot directive), without source links.
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

html_theme = "furo"
html_title = f"inn {release}"
html_static_path = []
html_theme_options = {"navigation_with_keys": True}
pygments_style = "friendly"
pygments_dark_style = "monokai"
