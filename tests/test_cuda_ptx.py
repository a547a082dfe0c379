"""Compile every CUDA kernel to PTX with ``numba.cuda.compile_ptx`` (no GPU needed).

The checks live in ``tests/cuda_ptx/ptx_cuda.py`` (not collected by the main
run) and run here in a child pytest process: Numba's CUDA typing registry is
process-global, and overloads the CPU tests register first (the CPU
implementations of :mod:`fastrelu._approx`) must not decide which
implementation the CUDA target types -- a fresh process gives every run the
same, GPU-like state.  On failure the child's output is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PTX_TESTS = Path(__file__).parent / "cuda_ptx" / "ptx_cuda.py"


def test_compile_ptx_suite():
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    cmd = [sys.executable, "-m", "pytest", str(PTX_TESTS), "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    cmd += ["-m", "slow or not slow"]
    r = subprocess.run(cmd, cwd=PTX_TESTS.parents[2], env=env, capture_output=True, text=True, timeout=1200)
    tail = (r.stdout + r.stderr)[-6000:]
    assert r.returncode == 0, f"compile_ptx tests failed ({' '.join(cmd)}):\n{tail}"
    last = r.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last and "failed" not in last, tail
