"""Adding an activation is one kernel and one row (fastrelu/_spec.py's promise), checked.

A copy of the package, its tests and tools gets a toy row, ``softsign`` = x / (1 + |x|), by
inserting text into the copy's ``_kernels.py`` and ``_spec.py`` only.  The generators then
rewrite the stubs, the README's function list and the docs tables there, and the parametrised
suite, restricted to the toy (``-k softsign``), plus the namespace, stub and generated-file
checks, must pass with no other edit.  The toy's name appears in the copy's package only in
those two files and the generated stubs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOY = "softsign"

KERNELS = """

# --------------------------------------------------------------------------
# softsign (the toy row of tests/test_toy_row.py)
# --------------------------------------------------------------------------


def softsign(x):
    # x / (1 + |x|), with the limits -1, +1 at -inf, +inf (inf / inf would be NaN); NaN kept
    one = ap.lit(x, 1.0)
    a = abs(x)
    y = x / (one + a)
    y = math.copysign(one, x) if a == ap.lit(x, INF) else y
    return x if x != x else y


def softsign_grad(x, g):
    # g / (1 + |x|)^2: 0 * g at +-inf (multiplies: a NaN or inf g there gives NaN)
    d = ap.lit(x, 1.0) + abs(x)
    return g / (d * d)
"""

ROW = """    _A(
        name="softsign",
        forward=K.softsign,
        grad=K.softsign_grad,
        summary="Softsign: x / (1 + abs(x)).",
        math=r"x / (1 + |x|)",
        grad_math=r"g / (1 + |x|)^2",
        kinks=(Kink(0.0, 0.0, 1.0),),  # smooth: a reference point
        family="smooth",
        ulps={"float16": 1, "float32": 4, "float64": 4},
        ref=lambda x: x / (1 + np.abs(x)),
        ref_grad=lambda x: 1 / (1 + np.abs(x)) ** 2,
        limits=(-1.0, 1.0),
        grad_limits=(0.0, 0.0),
        grad_at_nan=math.nan,
        grad2=lambda x: -2 * x / ((1 + abs(x)) ** 3 * (abs(x) + (x == 0))),
        torch_module="Softsign",
    ),
"""

#: the toy through fastrelu.torch: function, module (torch.nn.Softsign's subclass),
#: autograd to second order
TORCH_CHECK = """
import torch
import fastrelu.torch as ft
x = torch.linspace(-4, 4, 40, dtype=torch.float64, requires_grad=True)  # not 0: f'' jumps there
torch.testing.assert_close(ft.softsign(x), torch.nn.functional.softsign(x))
assert torch.autograd.gradcheck(ft.softsign, (x,))
assert torch.autograd.gradgradcheck(ft.softsign, (x,))
m = ft.Softsign()
assert isinstance(m, torch.nn.Softsign) and "softsign" in ft.__all__ and "Softsign" in ft.__all__
torch.testing.assert_close(m(x), torch.nn.Softsign()(x))
print("torch ok")
"""

#: the parametrised suite, run for the toy's parameters only
SUITE = [
    "tests/test_values.py",
    "tests/test_special_values.py",
    "tests/test_hostile.py",
    "tests/test_parallel.py",
    "tests/test_ufunc_api.py",
    "tests/test_call_paths.py",
    "tests/test_docstrings.py",
]
#: checks of the namespaces, stubs and generated files (not parametrised by row)
WHOLE = [
    "tests/test_typing.py::test_stub_is_up_to_date",
    "tests/test_typing.py::test_stub_all_matches_module",
    "tests/test_typing.py::test_stub_signatures_match_runtime_binding",
    "tests/test_generated.py",
    "tests/test_ufunc_api.py::test_targets_expose_every_public_name",
    "tests/test_ufunc_api.py::test_all_matches_table",
    "tests/test_ufunc_api.py::test_import_compiles_nothing",
    "tests/test_parallel.py::test_every_public_name",
]


def _ignore(_dir, names):
    return {n for n in names if n in ("__pycache__", "data") and _dir.endswith("fastrelu")} | {
        n for n in names if n == "__pycache__" or n.endswith((".nbi", ".nbc", ".pyc"))
    }


def _insert(path: Path, before: str, text: str) -> None:
    src = path.read_text()
    assert src.count(before) == 1, (path, before)
    path.write_text(src.replace(before, text + before))


def _run(cmd, cwd, env, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (cmd, r.stdout[-6000:], r.stderr[-3000:])
    return r.stdout


@pytest.mark.slow
def test_toy_row_needs_one_kernel_and_one_row(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for d in ("fastrelu", "tests", "tools"):
        shutil.copytree(ROOT / d, work / d, ignore=_ignore)
    shutil.copytree(ROOT / "fastrelu" / "data", work / "fastrelu" / "data")
    for f in ("README.md", "pyproject.toml"):
        shutil.copy2(ROOT / f, work / f)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NUMBA_CACHE_DIR"))}
    env["PYTHONPATH"] = str(work)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    _run([*git, "init", "-q"], work, env)
    _run([*git, "add", "-A"], work, env)
    _run([*git, "commit", "-q", "-m", "copy"], work, env)

    # the whole edit: one kernel, one row
    (work / "fastrelu" / "_kernels.py").write_text((work / "fastrelu" / "_kernels.py").read_text() + KERNELS)
    _insert(work / "fastrelu" / "_spec.py", ")\n\nBY_NAME", ROW)
    changed = _run([*git, "diff", "--name-only"], work, env).split()
    assert changed == ["fastrelu/_kernels.py", "fastrelu/_spec.py"]

    py = sys.executable
    where = _run([py, "-c", "import fastrelu; print(fastrelu.__file__)"], work, env).strip()
    assert Path(where).parent == work / "fastrelu", where  # the copy, not the checkout
    _run([py, "tools/gen_stubs.py"], work, env)
    _run([py, "tools/gen_docs_tables.py", "--readme", "README.md", "--out", str(tmp_path / "docs"),
          "--names", TOY], work, env)  # fmt: skip
    for f in ("semantics_table.md", "dtype_table.md", "api_cpu.rst", "api_targets.md"):
        assert TOY in (tmp_path / "docs" / f).read_text(), f
    assert f"`{TOY}`" in (work / "README.md").read_text()

    listed = _run([*git, "grep", "-l", TOY, "--", "fastrelu"], work, env).split()
    stubs = {"fastrelu/__init__.pyi", "fastrelu/parallel.pyi"}
    assert set(listed) - stubs == {"fastrelu/_kernels.py", "fastrelu/_spec.py"}, listed
    assert stubs <= set(listed)

    pytest_cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0"]
    out = _run([*pytest_cmd, *SUITE, "-k", TOY], work, env, timeout=900)
    assert " passed" in out and "failed" not in out, out[-3000:]
    out = _run([*pytest_cmd, *WHOLE], work, env)
    assert " passed" in out and "failed" not in out, out[-3000:]
    if importlib.util.find_spec("torch") is not None:  # the test extra installs it
        assert _run([py, "-c", TORCH_CHECK], work, env).strip() == "torch ok"
