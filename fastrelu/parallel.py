"""Parallel CPU target: ``fastrelu.parallel.relu`` etc.

(Placeholder: same behaviour as the cpu target until the multi-threaded path lands.)
"""

from __future__ import annotations

from fastrelu._spec import public_names, resolve
from fastrelu._ufunc import Ufunc


def threading_info() -> dict:
    import numba

    return {"threading_layer": "not initialised", "num_threads": numba.config.NUMBA_NUM_THREADS}


def _make(name: str) -> Ufunc:
    spec, kind = resolve(name)
    return Ufunc(spec, kind, "parallel")


relu = _make("relu")
__all__ = public_names()
