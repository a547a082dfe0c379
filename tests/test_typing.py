"""The committed stubs are generated from the table, up to date, and useful to mypy."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, load_script

import fastrelu
from fastrelu._spec import public_names


def _gen_stubs():
    return load_script("tools/gen_stubs.py")


def test_py_typed_marker():
    assert (ROOT / "fastrelu" / "py.typed").is_file()


@pytest.mark.parametrize("module", ["fastrelu", "fastrelu.parallel"])
def test_stub_is_up_to_date(module):
    gen = _gen_stubs()
    path = gen.STUBS[module]
    assert path.read_text() == gen.render(module), (
        f"{path.relative_to(ROOT)} is stale: run `python tools/gen_stubs.py`"
    )


def _stub_all(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"no __all__ in {path}")


@pytest.mark.parametrize(
    ("module", "stub"), [("fastrelu", "__init__.pyi"), ("fastrelu.parallel", "parallel.pyi")]
)
def test_stub_all_matches_module(module, stub):
    mod = importlib.import_module(module)
    path = ROOT / "fastrelu" / stub
    assert _stub_all(path) == list(mod.__all__)
    tree = ast.parse(path.read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
        elif isinstance(node, ast.FunctionDef):
            declared.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            declared.update(a.asname for a in node.names if a.asname)
    assert set(mod.__all__) <= declared, set(mod.__all__) - declared
    # every table function is in the stub and exists at runtime
    assert set(public_names()) <= declared
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is in __all__ but missing at runtime"


def test_stub_signatures_match_runtime_binding():
    """Parameter names in the stubs are the ones the runtime objects accept."""
    tree = ast.parse((ROOT / "fastrelu" / "__init__.pyi").read_text())
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for name in public_names():
        obj = getattr(fastrelu, name)
        cls = next(c for c in classes.values() if c.name == _gen_stubs()._class_name(name))
        call = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__call__")
        posonly = [a.arg for a in call.args.posonlyargs][1:]  # drop self
        params = [a.arg for a in call.args.args]
        assert len(posonly) == obj._ndata
        assert tuple(params) == obj._pnames
        required = len(call.args.args) - len(call.args.defaults)
        assert [d is None for d in obj._defaults] == [i < required for i in range(len(params))]


def test_mypy_on_typed_usage(tmp_path):
    """mypy accepts tests/typing_usage.py and reports each deliberate mistake.

    ``--warn-unused-ignores`` turns a mistake the stubs fail to catch (its
    ``# type: ignore[...]`` going unused) into an error.
    """
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--warn-unused-ignores",
        "--follow-imports=silent",
        "--cache-dir",
        str(tmp_path / "mypy_cache"),
        "tests/typing_usage.py",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY")}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success: no issues found" in r.stdout
