"""Build the sdist and wheel, install the wheel into a fresh venv, import it and call relu."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.nbi", "*.nbc", "_build",
    ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".asv", ".benchmarks", "env",
    "results", "html", "bench-out", ".whl",
)  # fmt: skip


def _version() -> str:
    text = (ROOT / "fastrelu" / "_version.py").read_text()
    return re.search(r'__version__\s*=\s*["\']([^"\']+)["\']', text).group(1)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """sdist + wheel built from a copy of the tree (the checkout is never written to)."""
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_IGNORE)
    out = tmp / "dist"
    # --no-isolation: no network; -x: the build-system's "wheel" requirement is not needed by
    # setuptools >= 70.1 (it ships bdist_wheel), so a missing `wheel` package must not stop the build
    cmd = [sys.executable, "-m", "build", "--no-isolation", "-x", "--sdist", "--wheel"]
    r = subprocess.run([*cmd, "--outdir", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.mark.slow
def test_version_single_source(dists):
    wheel, sdist = dists
    v = _version()
    assert wheel.name.startswith(f"fastrelu-{v}-")
    assert sdist.name == f"fastrelu-{v}.tar.gz"
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(f"fastrelu-{v}.dist-info/METADATA").decode()
    assert f"\nVersion: {v}\n" in meta
    assert "Requires-Dist: numpy" in meta and "Requires-Dist: numba" in meta


@pytest.mark.slow
def test_wheel_contents(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for required in ("fastrelu/__init__.py", "fastrelu/py.typed", "fastrelu/__init__.pyi",
                     "fastrelu/parallel.pyi", "fastrelu/_spec.py", "fastrelu/_kernels.py"):  # fmt: skip
        assert required in names, required
    assert not [n for n in names if n.startswith(("tests/", "docs/", "tools/", "benchmarks/"))]
    assert not [n for n in names if n.endswith((".nbi", ".nbc", ".pyc"))], "compiled caches leaked"


@pytest.mark.slow
def test_sdist_contents(dists):
    _, sdist = dists
    v = _version()
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for required in ("pyproject.toml", "LICENSE", "fastrelu/__init__.py", "fastrelu/_version.py"):
        assert required in names, (required, v)
    assert not [n for n in names if n.endswith((".nbi", ".nbc", ".pyc"))]


@pytest.fixture(scope="module")
def installed(dists, tmp_path_factory):
    """(python of a fresh venv holding only the wheel, its environment, a directory outside the checkout).

    numpy/numba/tbb (and torch, mpmath) come from the test environment through
    PYTHONPATH (no network); fastrelu only from the venv.  A fresh Numba cache:
    nothing compiled from the checkout is reused.
    """
    wheel, _ = dists
    tmp = tmp_path_factory.mktemp("installed")
    env = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    py = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    deps = sysconfig.get_paths()["purelib"]
    envvars = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    envvars.update(PYTHONPATH=deps, NUMBA_CACHE_DIR=str(tmp / "numba-cache"), PYTHONNOUSERSITE="1")
    work = tmp / "work"  # the commands run here: outside the checkout, no tests/ beside them
    work.mkdir()
    return py, envvars, work


def _run(cmd, installed, timeout=300):
    _, envvars, work = installed
    r = subprocess.run(cmd, cwd=work, env=envvars, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (cmd, r.stdout[-3000:] + r.stderr[-3000:])
    return r.stdout


@pytest.mark.slow
def test_install_wheel_in_fresh_venv(installed):
    py = installed[0]
    smoke = (
        "import numpy as np, fastrelu, sys\n"
        "assert fastrelu.__file__.startswith(sys.prefix), fastrelu.__file__\n"
        "x = np.array([-1.0, 0.0, 2.5], np.float32)\n"
        "y = fastrelu.relu(x)\n"
        "assert y.dtype == np.float32 and y.tolist() == [0.0, 0.0, 2.5], y\n"
        "assert fastrelu.relu_grad(x, np.ones_like(x)).tolist() == [0.0, 0.0, 1.0]\n"
        "import fastrelu.parallel\n"
        "assert fastrelu.parallel.relu(x).tolist() == [0.0, 0.0, 2.5]\n"
        "import fastrelu.training as tr\n"
        "y, m = tr.relu_mask(x)\n"
        "assert tr.relu_grad_mask(m, np.ones_like(x)).tolist() == [0.0, 0.0, 1.0]\n"
        "print(fastrelu.__version__)\n"
    )
    assert _run([str(py), "-c", smoke], installed).strip() == _version()


@pytest.mark.slow
def test_commands_from_installed_wheel(installed):
    """Every ``python -m fastrelu`` command and the console script, from the installed wheel."""
    py = installed[0]
    scripts = py.parent
    out = _run([str(py), "-m", "fastrelu", "config"], installed)
    assert f"fastrelu: {_version()}" in out and "threading_layer" in out, out
    out = _run(
        [str(py), "-m", "fastrelu", "bench", "--quick", "--names", "relu", "--sizes", "1e3",
         "--dtypes", "float32", "--targets", "cpu", "--repeat", "1", "--time", "0.001"],
        installed,
    )  # fmt: skip
    assert "relu" in out, out
    # the reference table ships in the wheel (package data), not in tests/
    out = _run([str(py), "-m", "fastrelu", "accuracy", "--no-torch"], installed)
    assert "| gelu | float32 |" in out and "| silu_grad | float64 |" in out, out
    exe = scripts / ("fastrelu.exe" if os.name == "nt" else "fastrelu")
    out = _run([str(exe), "--help"], installed)
    assert "accuracy" in out, out
