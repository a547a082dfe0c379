"""The asv suite and ``python -m fastrelu bench`` share one Numba cache safely.

Numba's on-disk cache records the module of each cached function.  The suite
once loaded ``fastrelu/bench.py`` by file path under another module name; the
bench command, loading those cache entries, then failed with
``ModuleNotFoundError`` until the cache was wiped.  This runs the sequence:
the suite's setup (which compiles ``fastrelu.bench``'s cached ceiling passes)
then the bench command, in two processes sharing one ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SUITE = """
import sys
sys.path.insert(0, {root!r})
from benchmarks import common as C
BM = C.bench_module()
print("module", BM.__name__)
import numpy as np
case = BM.make_case("relu", "float32", 4096)
for inplace in (False, True):
    calls, reset = case.ceiling(parallel=True, inplace=inplace)
    for fn in calls.values():
        fn()
"""


@pytest.mark.slow
def test_suite_then_bench_command_share_a_numba_cache(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"), FASTRELU_ASV_QUICK="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    suite = subprocess.run(
        [sys.executable, "-c", SUITE.format(root=str(ROOT))],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert suite.returncode == 0, suite.stderr
    assert "module fastrelu.bench" in suite.stdout
    cached = [p.name for p in (tmp_path / "numba-cache").rglob("bench.*.nbi")]
    assert cached, "the suite compiled no cached fastrelu.bench function"
    cmd = [sys.executable, "-m", "fastrelu", "bench", "--names", "relu", "--sizes", "1e3"]
    cmd += ["--quick", "--no-plot", "--targets", "cpu,parallel"]
    bench = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert bench.returncode == 0, bench.stderr[-3000:]
    assert "ModuleNotFoundError" not in bench.stderr
    assert "copy (ceiling)" in bench.stdout
