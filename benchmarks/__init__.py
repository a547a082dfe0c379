"""asv benchmarks for fastrelu, generated from the activation table.

Layout
------
``common.py``         parameters (full or ``FASTRELU_ASV_QUICK=1``), the coverage guard, helpers
``bench_fastrelu.py`` the benchmark classes, one per concern:

    Forward / Gradient   one call with ``out=``; target ``numpy`` is the best NumPy expression
    CopyCeiling          ``np.copyto`` and a Numba ``prange`` copy: the memory-bandwidth ceiling
    SmallCall            per-call overhead on a Python float and on 1- and 64-element arrays
    Memory               ``track_``: peak traced bytes of a call with ``out=`` and without
    Import / FirstCall*  ``timeraw_``: import time, first call with an empty or a warm Numba cache
    Environment          ``track_``: Numba thread count and threading layer, per commit

``smoke.sh``          the CI smoke run (reduced parameters, fails on any benchmark error)

:data:`METADATA` (versions, threading layer, thread count) is what the runs were made
with; ``python -m benchmarks`` prints it.
"""

from __future__ import annotations


def metadata() -> dict:
    """Versions, CPU count, Numba threading layer and thread count of this interpreter."""
    from .common import bench_module

    return bench_module().environment()


def __getattr__(name: str):
    # computed on first use: importing the suite must not start thread pools
    if name == "METADATA":
        return metadata()
    raise AttributeError(name)
