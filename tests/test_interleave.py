"""The LLVM interleave count of the smooth kernels' loops.

``_build.interleaved(n)`` forces LLVM's loop interleave count for the
compilations inside the block only (LLVM options are process-wide); every
kernel's count comes from the spec table (its row's ``interleave`` entry, or
its family's default); the cpu loops and the parallel target's prange loops
are both compiled with it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

from fastrelu import _build, _kernels, _parallel, _spec, _tuning


def _fresh_loop():
    # a new function object each call: Numba compiles it anew (no cache)
    def axpb(a, o):
        for i in range(a.shape[0]):
            o[i] = a[i] * 3.0 + 1.0

    f = njit(axpb)
    a = np.ones(64)
    f(a, np.empty_like(a))
    return f


def _vector_fmas(f) -> int:
    # vector arithmetic in the optimised LLVM IR, whatever the ISA and vector
    # width (AVX2, AVX-512, NEON): the interleave count multiplies it
    ir = next(iter(f.inspect_llvm().values()))
    return len(re.findall(r"=\s*(?:fmul|fadd)\s+(?:\w+\s+)*<\d+ x double>", ir)) + len(
        re.findall(r"call\s+(?:\w+\s+)*<\d+ x double> @llvm\.fmuladd", ir)
    )


def test_interleaved_applies_inside_the_block_only():
    before = _vector_fmas(_fresh_loop())
    with _build.interleaved(8):
        inside = _vector_fmas(_fresh_loop())
    after = _vector_fmas(_fresh_loop())
    assert before > 0
    assert inside > before  # eight vectors per iteration
    assert after == before  # the option is back to LLVM's choice


def test_interleaved_zero_changes_nothing():
    before = _vector_fmas(_fresh_loop())
    with _build.interleaved(0):
        assert _vector_fmas(_fresh_loop()) == before


def test_every_kernel_gets_its_tuned_count():
    """Counts come from the tuning table for this host's ISA: a kernel's own
    entry, else its family's, else 0; hosts without an entry get the default."""
    setting = _tuning.TABLE["interleave"]
    counts = _tuning.value("interleave")
    assert counts == setting.measured.get(_tuning.host()["isa"], setting.default)
    for row in _spec.TABLE:
        for kind in ("forward", "grad", "grad_from_output"):
            kernel = row.kernel(kind)
            if kernel is None:
                continue
            want = counts.get(kernel.__name__, counts.get(row.family, 0))
            assert _build.interleave_count(kernel) == want, (row.name, kind)
    assert _build.interleave_count(lambda x: x) == 0  # not in the table
    # the keyed entries and the default are what they say
    assert _tuning.interleave("mish", "smooth", key="x86-64-avx2") == 4
    assert _tuning.interleave("gelu", "smooth", key="x86-64-avx2") == 2
    assert _tuning.interleave("relu", "piecewise", key="x86-64-avx2") == 0
    assert _tuning.interleave("mish", "smooth", key="no-such-isa") == setting.default["smooth"]


def test_tuning_table_entries_name_their_command():
    for s in _tuning.TABLE.values():
        assert s.how.startswith("python tools/"), s.name
        assert s.key in _tuning.host() or s.key == "device", s.name
    h = _tuning.host()
    assert h["llc_bytes"] > 0 and h["cpus"] >= 1 and h["isa"]


def test_parallel_loops_compile_with_the_count():
    smooth = _parallel.prange_loop(_kernels.mish, 1, False)
    assert smooth.compile.__name__ == "compile_interleaved"
    piecewise = _parallel.prange_loop(_kernels.relu, 1, False)
    assert piecewise.compile.__name__ != "compile_interleaved"


@pytest.mark.slow
@pytest.mark.parametrize("cpu", ["x86-64", "znver4"])
def test_this_file_passes_for_other_cpus(tmp_path, cpu):
    """The interleave tests assert behaviour for any code generation: run
    them again with Numba generating code for another CPU (the baseline
    x86-64: SSE2, 128-bit vectors; Zen 4: AVX-512, where a register-counting
    check once failed), where this host can execute that code."""
    isa = _tuning.host()["isa"]
    if not isa.startswith("x86-64"):
        pytest.skip("x86-64 code generation targets")
    if cpu == "znver4" and isa != "x86-64-avx512":
        pytest.skip("this host cannot run AVX-512 code")
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CACHE_DIR": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"\b[1-9]\d* passed", r.stdout) and "skipped" not in r.stdout, r.stdout[-3000:]
