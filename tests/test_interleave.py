"""The LLVM interleave count of the smooth kernels' loops.

``_build.interleaved(n)`` forces LLVM's loop interleave count for the
compilations inside the block only (LLVM options are process-wide); every
kernel's count comes from the spec table (its row's ``interleave`` entry, or
its family's default); the cpu loops and the parallel target's prange loops
are both compiled with it.
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from fastrelu import _build, _kernels, _parallel, _spec


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
    asm = next(iter(f.inspect_asm().values()))
    return len(re.findall(r"\bv(?:fmadd|mul|add)\w*pd\s+[^\n]*(?:ymm|xmm)", asm))


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


def test_every_kernel_gets_its_rows_count():
    for row in _spec.TABLE:
        for kind in ("forward", "grad", "grad_from_output"):
            kernel = row.kernel(kind)
            if kernel is None:
                continue
            want = row.interleave.get(kind, _build.INTERLEAVE.get(row.family, 0))
            assert _build.interleave_count(kernel) == want, (row.name, kind)
            if row.family == "piecewise":
                assert want == 0, row.name  # memory-bound: LLVM's choice
    assert _build.interleave_count(_kernels.mish) == 4
    assert _build.interleave_count(_kernels.gelu) == _build.INTERLEAVE["smooth"]
    assert _build.interleave_count(lambda x: x) == 0  # not in the table


def test_parallel_loops_compile_with_the_count():
    smooth = _parallel.prange_loop(_kernels.mish, 1, False)
    assert smooth.compile.__name__ == "compile_interleaved"
    piecewise = _parallel.prange_loop(_kernels.relu, 1, False)
    assert piecewise.compile.__name__ != "compile_interleaved"
