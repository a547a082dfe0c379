"""Sphinx glue for the fastrelu docs.

* ``builder-inited``: run ``tools/gen_docs_tables.py`` (tables and API pages
  generated from the activation table, by calling the ufuncs).
* ``source-read`` of ``index``: replace the line ``FASTRELU_OPTIONAL_PAGES``
  with every top-level page that other documents do not already list
  (``benchmarks``, ``training``, ``accuracy`` ... written by other people), so
  the site builds with ``-W`` whether or not those pages exist yet.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
#: top-level pages index.md lists itself
OWN_PAGES = {"index", "dask", "semantics", "api"}
MARKER = "FASTRELU_OPTIONAL_PAGES"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs_tables", ROOT / "tools" / "gen_docs_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def optional_pages() -> list[str]:
    pages = sorted(p.stem for p in DOCS.iterdir() if p.suffix in (".md", ".rst") and p.stem not in OWN_PAGES)
    return pages


def _generate(app):
    _generator().write()


def _source_read(app, docname, source):
    if docname == "index" and MARKER in source[0]:
        source[0] = source[0].replace(MARKER, "\n".join(optional_pages()))


def setup(app):
    app.connect("builder-inited", _generate)
    app.connect("source-read", _source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
