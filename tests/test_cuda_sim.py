"""Run the CUDA kernels in Numba's CUDA simulator (no GPU needed).

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, and it
replaces ``numba.cuda`` for the whole process (``compile_ptx`` disappears), so
the simulator tests live in ``tests/cuda_sim/sim_cuda.py`` (not collected by
the main run: its name does not match ``test_*.py``) and this test runs them
in a child pytest process with the variable set.  One ``pytest tests`` run
therefore covers both; on failure the child's output is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SIM_TESTS = Path(__file__).parent / "cuda_sim" / "sim_cuda.py"


def test_cuda_simulator_suite():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", str(SIM_TESTS), "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    r = subprocess.run(cmd, cwd=SIM_TESTS.parents[2], env=env, capture_output=True, text=True, timeout=900)
    tail = (r.stdout + r.stderr)[-6000:]
    assert r.returncode == 0, f"simulator tests failed ({' '.join(cmd)}):\n{tail}"
    assert " passed" in r.stdout and "skipped" not in r.stdout.splitlines()[-1], tail
