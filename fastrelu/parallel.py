"""Parallel CPU target: fastrelu.parallel.relu etc.

The same functions as the cpu target (:mod:`fastrelu`), with the same NumPy
ufunc behaviour and bit-identical results; calls on large contiguous float
arrays run an ``@njit(parallel=True)`` prange loop on several threads,
everything else the shared single-thread ufunc.  See
:mod:`fastrelu._parallel` for the design, the cut-over and the choice of
threading layer; :func:`threading_info` reports the layer in use.

Importing this module neither compiles nor starts threads.
"""

from __future__ import annotations

from fastrelu._parallel import CUTOVER as CUTOVER
from fastrelu._parallel import ParallelUfunc as ParallelUfunc
from fastrelu._parallel import make
from fastrelu._parallel import threading_info as threading_info
from fastrelu._spec import namespace

# Every table function, in table order, made on first access (as in fastrelu/__init__.py).
__all__, __getattr__, __dir__ = namespace(
    __name__,
    lambda row, kind: make(row if kind == "forward" else f"{row}_{kind}"),
    ("CUTOVER", "ParallelUfunc", "threading_info"),
)
