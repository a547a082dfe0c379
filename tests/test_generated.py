"""Committed files generated from the activation table are current: the README's function list
(tools/gen_docs_tables.py) and, in tests/test_typing.py, the stubs (tools/gen_stubs.py)."""

from __future__ import annotations

from conftest import ROOT, load_script

from fastrelu import _spec


def _gen_docs_tables():
    return load_script("tools/gen_docs_tables.py")


def test_readme_function_list_is_current():
    gen = _gen_docs_tables()
    text = (ROOT / "README.md").read_text()
    assert text == gen.update_readme(text), (
        "README.md's function list is stale: run `python tools/gen_docs_tables.py --readme README.md`"
    )


def test_readme_function_list_names_every_row():
    block = _gen_docs_tables().readme_functions()
    for name in _spec.public_names():
        if not name.endswith("_grad"):
            assert f"`{name}`" in block, name
