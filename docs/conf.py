"""Sphinx configuration of the fastrelu documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

import fastrelu  # noqa: E402

project = "fastrelu"
author = "The fastrelu developers"
copyright = "2026, The fastrelu developers"
release = fastrelu.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "fastrelu_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md", "api/generated"]
templates_path: list[str] = []

# numpydoc renders the generated docstrings; its own validation is the job of
# tests/test_docstrings.py.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autosummary_generate = False
autodoc_typehints = "none"

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_static_path = ["_static"] if (DOCS / "_static").is_dir() else []
html_title = f"fastrelu {release}"
