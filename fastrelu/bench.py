"""Benchmarks people can trust: shared pieces and the ``python -m fastrelu bench`` command.

This module is the one place that defines *what* is measured, and is used by
all three benchmark front ends:

* ``python -m fastrelu bench`` (:func:`main`): a quick table, JSON, Markdown
  and a plot, for people and for the README;
* the asv suite in ``benchmarks/`` (history and regressions);
* the pytest-benchmark suite in ``tests/bench/`` (``--benchmark-compare``).

What is measured
----------------
* Inputs: ``x ~ 2 * N(0, 1)`` (a typical pre-activation: both branches of every
  piecewise function taken, in random order), ``g ~ N(0, 1)``; for
  ``*_grad_from_output`` the first operand is ``y = f(x)``.  Parameters are the
  row's defaults (``test_params`` for required ones), passed positionally.
* Every call writes into a preallocated ``out=`` array, for fastrelu and for
  NumPy alike, so allocation is not part of the throughput numbers (the asv
  ``Memory`` benchmark measures allocation separately).
* The NumPy baseline is the best NumPy expression we know for the function
  (:data:`NUMPY_BASELINES`): in-place, fewest passes, ``np.maximum(x, 0, out=o)``
  for relu, ``np.clip`` for relu6/hardtanh, ``scipy.special`` ufuncs for
  erfc/expit.  Functions without a hand-written one use the row's float64
  ``ref``/``ref_grad`` expression (:func:`numpy_baseline` says which).
* The copy ceiling is ``np.copyto(o, x)`` (one thread) and a Numba ``prange``
  copy (all threads): no elementwise function that reads ``x`` and writes ``o``
  can beat the memory bandwidth these reach.
* Throughput counts bytes moved: every array operand read once plus the output
  written once (``2 * itemsize`` per element for a forward call, ``3 *``
  for a gradient).  The "ceiling" column divides by the copy's throughput at the
  same dtype and size (np.copyto for ``cpu``/``numpy``, the faster of the two
  copies for ``parallel``).
* Timing: each point is calibrated to run ``>= --time`` seconds per sample,
  the best of several samples is reported (``timeit`` practice; the median is
  kept in ``--json``).  The first call of each function (JIT compile or on-disk
  cache load) is reported separately, never mixed into the timings.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import math
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "NUMPY_BASELINES",
    "BenchCase",
    "copy_ceiling",
    "environment",
    "function_names",
    "main",
    "make_case",
    "measure",
    "numpy_baseline",
    "run",
]

#: the functions ``python -m fastrelu bench`` measures by default (forward and
#: gradient of the cheapest piecewise function and of the common smooth ones)
DEFAULT_NAMES = ("relu", "relu_grad", "leaky_relu", "elu", "silu")
DEFAULT_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
QUICK_SIZES = (10**3, 10**5, 10**6)
DEFAULT_DTYPES = ("float32",)
DEFAULT_TARGETS = ("cpu", "parallel")
REFERENCE_TARGETS = ("numpy",)
#: elements of the first call of each function (reported as compile/cache-load time)
FIRST_CALL_SIZE = 1 << 17


def markers(tag: str) -> tuple[str, str]:
    """The start and end marker lines of a generated block (``write_markdown``)."""
    return f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"


MARK_TAG = "fastrelu-bench"
MARK_START, MARK_END = markers(MARK_TAG)

# --------------------------------------------------------------------------
# the best NumPy expressions (baselines)
# --------------------------------------------------------------------------


def _expit(x, out):
    from scipy.special import expit

    return expit(x, out=out)


def _erfc(x, out):
    from scipy.special import erfc

    return erfc(x, out=out)


def _np_relu(x, out):
    return np.maximum(x, 0, out=out)


def _np_leaky(x, a, out):
    # a*x <= x exactly where x >= 0 (for 0 <= a <= 1): two passes, no mask
    np.multiply(x, a, out=out)
    return np.maximum(x, out, out=out)


def _np_rrelu(x, lo, hi, out):
    return _np_leaky(x, (lo + hi) / 2, out)


def _np_threshold(x, th, v, out):
    np.copyto(out, x)
    np.copyto(out, v, where=np.less_equal(x, th))
    return out


def _np_clip06(x, out):
    return np.clip(x, 0, 6, out=out)


def _np_hardtanh(x, lo, hi, out):
    return np.clip(x, lo, hi, out=out)


def _np_elu(x, a, out):
    np.minimum(x, 0, out=out)
    np.expm1(out, out=out)
    np.multiply(out, a, out=out)
    np.copyto(out, x, where=np.greater(x, 0))
    return out


def _np_selu(x, out):
    from fastrelu._kernels import SELU_ALPHA, SELU_SCALE

    _np_elu(x, SELU_ALPHA, out)
    return np.multiply(out, SELU_SCALE, out=out)


def _np_celu(x, a, out):
    np.minimum(x, 0, out=out)
    np.divide(out, a, out=out)
    np.expm1(out, out=out)
    np.multiply(out, a, out=out)
    np.copyto(out, x, where=np.greater(x, 0))
    return out


def _np_gelu(x, out):
    np.multiply(x, -1 / math.sqrt(2.0), out=out)
    _erfc(out, out)
    np.multiply(out, x, out=out)
    return np.multiply(out, 0.5, out=out)


def _np_gelu_tanh(x, out):
    # x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)  ==  x/2 (1 + tanh u)
    np.multiply(x, x, out=out)
    np.multiply(out, 0.044715, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, x, out=out)
    np.multiply(out, 2 * math.sqrt(2 / math.pi), out=out)
    _expit(out, out)
    return np.multiply(out, x, out=out)


def _np_silu(x, out):
    _expit(x, out)
    return np.multiply(out, x, out=out)


def _np_mish(x, out):
    np.logaddexp(0, x, out=out)
    np.tanh(out, out=out)
    return np.multiply(out, x, out=out)


def _np_softplus(x, beta, threshold, out):
    bx = x if beta == 1 else np.multiply(x, beta)
    np.logaddexp(0, bx, out=out)
    if beta != 1:
        np.divide(out, beta, out=out)
    np.copyto(out, x, where=np.greater(bx, threshold))
    return out


def _np_hardsigmoid(x, out):
    np.add(x, 3, out=out)
    np.clip(out, 0, 6, out=out)
    return np.divide(out, 6, out=out)


def _np_hardswish(x, out):
    np.add(x, 3, out=out)
    np.clip(out, 0, 6, out=out)
    np.multiply(out, x, out=out)
    return np.divide(out, 6, out=out)


def _np_squareplus(x, b, out):
    np.multiply(x, x, out=out)
    np.add(out, b, out=out)
    np.sqrt(out, out=out)
    np.add(out, x, out=out)
    return np.multiply(out, 0.5, out=out)


def _np_step_grad(x, g, out):
    return np.multiply(g, np.greater(x, 0), out=out)


def _np_leaky_grad(x, g, a, out):
    np.multiply(g, a, out=out)
    np.copyto(out, g, where=np.greater(x, 0))
    return out


def _np_rrelu_grad(x, g, lo, hi, out):
    return _np_leaky_grad(x, g, (lo + hi) / 2, out)


def _np_threshold_grad(x, g, th, out):
    return np.multiply(g, np.greater(x, th), out=out)


def _np_relu6_grad(x, g, out):
    return np.multiply(g, np.greater(x, 0) & np.less(x, 6), out=out)


def _np_hardtanh_grad(x, g, lo, hi, out):
    return np.multiply(g, np.greater(x, lo) & np.less(x, hi), out=out)


def _np_elu_grad(x, g, a, out):
    np.minimum(x, 0, out=out)
    np.exp(out, out=out)
    np.multiply(out, a, out=out)
    np.multiply(out, g, out=out)
    np.copyto(out, g, where=np.greater(x, 0))
    return out


def _np_elu_grad_from_output(y, g, a, out):
    np.add(y, a, out=out)
    np.multiply(out, g, out=out)
    np.copyto(out, g, where=np.greater(y, 0))
    return out


def _np_silu_grad(x, g, out):
    s = _expit(x, None)
    np.subtract(1, s, out=out)
    np.multiply(out, x, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, s, out=out)
    return np.multiply(out, g, out=out)


#: name -> the best NumPy expression, ``f(*operands, *params, out)``
NUMPY_BASELINES: dict[str, Callable] = {
    "relu": _np_relu,
    "leaky_relu": _np_leaky,
    "prelu": _np_leaky,
    "rrelu": _np_rrelu,
    "threshold": _np_threshold,
    "relu6": _np_clip06,
    "hardtanh": _np_hardtanh,
    "elu": _np_elu,
    "selu": _np_selu,
    "celu": _np_celu,
    "gelu": _np_gelu,
    "gelu_tanh": _np_gelu_tanh,
    "silu": _np_silu,
    "mish": _np_mish,
    "softplus": _np_softplus,
    "hardsigmoid": _np_hardsigmoid,
    "hardswish": _np_hardswish,
    "squareplus": _np_squareplus,
    "relu_grad": _np_step_grad,
    "relu_grad_from_output": _np_step_grad,
    "leaky_relu_grad": _np_leaky_grad,
    "leaky_relu_grad_from_output": _np_leaky_grad,
    "prelu_grad": _np_leaky_grad,
    "rrelu_grad": _np_rrelu_grad,
    "threshold_grad": _np_threshold_grad,
    "relu6_grad": _np_relu6_grad,
    "hardtanh_grad": _np_hardtanh_grad,
    "elu_grad": _np_elu_grad,
    "elu_grad_from_output": _np_elu_grad_from_output,
    "silu_grad": _np_silu_grad,
}


def numpy_baseline(name: str) -> tuple[Callable, str]:
    """``(f(*operands, *params, out), how)`` for public function *name*.

    *how* is ``"best"`` for a hand-written expression from
    :data:`NUMPY_BASELINES`, ``"ref"`` for one derived from the table row's
    float64 reference (``ref`` for a forward, ``g * ref_grad(x)`` for a
    gradient).
    """
    if name in NUMPY_BASELINES:
        return NUMPY_BASELINES[name], "best"
    from fastrelu._spec import resolve

    spec, kind = resolve(name)
    if kind == "forward" and spec.ref is not None:
        ref = spec.ref

        def from_ref(x, *rest):
            *params, out = rest
            np.copyto(out, ref(x, *params), casting="same_kind")
            return out

        return from_ref, "ref"
    if kind == "grad" and spec.ref_grad is not None:
        ref_grad = spec.ref_grad
        fwd_params = [p.name for p in spec.params]
        grad_params = [p.name for p in spec.grad_param_list]
        defaults = spec.defaults()

        def from_ref_grad(x, g, *rest):
            *params, out = rest
            given = dict(zip(grad_params, params, strict=True))
            full = [given.get(n, defaults[n]) for n in fwd_params]
            return np.multiply(g, ref_grad(x, *full), out=out, casting="same_kind")

        return from_ref_grad, "ref"
    raise LookupError(f"no NumPy baseline for {name!r}: add one to fastrelu.bench.NUMPY_BASELINES")


# --------------------------------------------------------------------------
# inputs and calls
# --------------------------------------------------------------------------


def function_names(kind: str | None = None) -> list[str]:
    """Public function names from the table (``kind``: forward, grad or None)."""
    from fastrelu._spec import public_names, resolve

    names = public_names()
    if kind is None:
        return names
    if kind == "forward":
        return [n for n in names if resolve(n)[1] == "forward"]
    return [n for n in names if resolve(n)[1] != "forward"]


def _expand_names(spec: str) -> list[str]:
    """``relu,gelu`` / ``all`` / ``forward`` / ``grad`` / ``piecewise`` / ``smooth``."""
    from fastrelu._spec import BY_NAME, resolve

    out: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item == "all":
            new = function_names()
        elif item in ("forward", "grad"):
            new = function_names(item)
        elif item in ("piecewise", "smooth"):
            new = [n for n in function_names("forward") if BY_NAME[n].family == item]
        else:
            try:
                resolve(item)
            except KeyError:
                raise SystemExit(f"fastrelu bench: unknown function {item!r}") from None
            new = [item]
        out.extend(n for n in new if n not in out)
    return out


class BenchCase:
    """Operands, parameters and an ``out=`` array for one (function, dtype, size)."""

    def __init__(self, name: str, dtype, size: int, seed: int = 0):
        from fastrelu._spec import resolve

        self.name = name
        self.dtype = np.dtype(dtype)
        self.size = int(size)
        spec, kind = resolve(name)
        self.spec, self.kind = spec, kind
        rng = np.random.default_rng(seed)
        x = (2.0 * rng.standard_normal(self.size)).astype(self.dtype)
        defaults = spec.defaults()
        if kind == "forward":
            self.params = tuple(defaults[p.name] for p in spec.params)
            self.operands: tuple[np.ndarray, ...] = (x,)
        else:
            self.params = tuple(defaults[p.name] for p in spec.grad_param_list)
            g = rng.standard_normal(self.size).astype(self.dtype)
            if kind == "grad_from_output":
                fwd = [defaults[p.name] for p in spec.params]
                with np.errstate(all="ignore"):
                    x = np.asarray(spec.ref(x.astype(np.float64), *fwd)).astype(self.dtype)
            self.operands = (x, g)
        self.out = np.empty(self.size, self.dtype)

    @property
    def nbytes(self) -> int:
        """Bytes moved by one call: operands read + output written."""
        return (len(self.operands) + 1) * self.size * self.dtype.itemsize

    def args(self) -> tuple:
        return self.operands + self.params

    def call(self, target: str, inplace: bool = False) -> Callable[[], object]:
        """A zero-argument callable running one call on *target* (not yet warmed up).

        *inplace*: the call writes over its last operand (``f(x, out=x)``,
        ``f_grad(x, g, out=g)``), on working copies of the operands; every
        call then changes its input, so time it with ``measure(...,
        reset=case.reset)``, which restores the operands before each sample.
        """
        if inplace:
            self.work = tuple(a.copy() for a in self.operands)
            operands, out = self.work, self.work[-1]
        else:
            operands, out = self.operands, self.out
        args = operands + self.params
        if target == "numpy":
            fn, _ = numpy_baseline(self.name)
            return lambda: fn(*args, out)
        if target == "cuda":
            if inplace:
                raise ValueError("in-place rows are measured on the cpu and parallel targets")
            from numba import cuda as nbcuda

            f = getattr(importlib.import_module("fastrelu.cuda"), self.name)
            dargs = tuple(nbcuda.to_device(a) for a in self.operands) + self.params
            dout = nbcuda.device_array_like(out)

            def run_cuda():
                f(*dargs, out=dout)
                nbcuda.synchronize()

            return run_cuda
        f = target_function(self.name, target)
        return lambda: f(*args, out=out)

    def reset(self) -> None:
        """Restore the working operands of an in-place call (see :meth:`call`)."""
        for w, a in zip(self.work, self.operands, strict=True):
            np.copyto(w, a)

    def ceiling(
        self, parallel: bool, inplace: bool = False
    ) -> tuple[dict[str, Callable[[], object]], Callable[[], object] | None]:
        """``(passes, reset)``: the copy-ceiling passes with this call's memory
        traffic (:func:`ceiling_calls`), on arrays of their own; *reset*
        (in place) restores their operands, to be timed as the in-place call
        is (``measure(..., reset=reset)``), else None."""
        work = tuple(a.copy() for a in self.operands)
        out = work[-1] if inplace else np.empty_like(self.out)

        def reset():
            for w, a in zip(work, self.operands, strict=True):
                np.copyto(w, a)

        return ceiling_calls(work, out, parallel), (reset if inplace else None)


def make_case(name: str, dtype="float32", size: int = 10**5, seed: int = 0) -> BenchCase:
    return BenchCase(name, dtype, size, seed)


def target_function(name: str, target: str):
    """``fastrelu.<name>`` / ``fastrelu.parallel.<name>`` / ``fastrelu.cuda.<name>``."""
    module = "fastrelu" if target == "cpu" else f"fastrelu.{target}"
    return getattr(importlib.import_module(module), name)


# --------------------------------------------------------------------------
# the copy ceiling: the fastest pass with the same memory traffic as a call
# --------------------------------------------------------------------------
#
# A call reads its operands and writes one output.  The ceiling for it is the
# fastest of several passes that move exactly those bytes and compute nothing
# that costs (they operate on the bits, as unsigned integers of the same
# width): one operand, out of place: a copy; in place: a read-modify-write of
# the array; two operands: ``o = a ^ b`` (in place: ``b ^= a``).  Candidates:
# NumPy's one-pass ufunc (``np.copyto`` for a copy), a Numba loop with normal
# stores, the same loop with non-temporal (streaming) stores -- fastrelu's
# parallel target streams large outputs, so a ceiling without streaming is
# not a ceiling -- and, for the parallel target, the two Numba loops under
# ``prange``.  "% of copy" divides by the best of them, measured at the same
# dtype and size.

#: every ceiling method; ``parallel`` ones use all of Numba's threads
CEILING_METHODS = ("numpy", "numba loop", "numba stream", "numba prange", "numba prange stream")
SERIAL_CEILING_METHODS = CEILING_METHODS[:3]
#: the copy rows of the bench command before the ceiling took the best of several
#: passes (``copy_ceiling`` still accepts them)
COPY_TARGETS = ("np.copyto", "numba prange")
#: prange chunk (elements): a multiple of 32 bytes for every itemsize, so that
#: every chunk of a streamed pass starts 32-byte aligned
CEILING_CHUNK = 1 << 14

try:  # the package's non-temporal store (x86-64); absent in old versions
    from fastrelu._build import STREAM_OK as _STREAM_OK
    from fastrelu._build import _nt_set, _sfence, stream_start
except ImportError:  # pragma: no cover - old fastrelu under asv history
    _STREAM_OK = False

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_passes: dict[str, Callable] = {}


def _ceiling_passes() -> dict[str, Callable]:
    """The Numba passes, compiled on first use (cached on disk)."""
    if _passes:
        return _passes
    from numba import njit, prange

    @njit(cache=True)
    def loop1(a, o, m):  # pragma: no cover - compiled
        for i in range(o.shape[0]):
            o[i] = a[i] ^ m

    @njit(cache=True)
    def loop2(a, b, o):  # pragma: no cover - compiled
        for i in range(o.shape[0]):
            o[i] = a[i] ^ b[i]

    # in place: one array read and written (two views of the same memory would
    # fail LLVM's run-time overlap check and run a scalar loop)
    @njit(cache=True)
    def rmw1(o, m):  # pragma: no cover - compiled
        for i in range(o.shape[0]):
            o[i] = o[i] ^ m

    @njit(cache=True)
    def rmw2(a, o):  # pragma: no cover - compiled
        for i in range(o.shape[0]):
            o[i] = a[i] ^ o[i]

    _passes.update(loop1=loop1, loop2=loop2, rmw1=rmw1, rmw2=rmw2)
    if _STREAM_OK:

        @njit(cache=True)
        def stream1(a, o, m):  # pragma: no cover - compiled; o[0] 32-byte aligned
            for i in range(o.shape[0]):
                _nt_set(o, i, a[i] ^ m)
            _sfence()

        @njit(cache=True)
        def stream2(a, b, o):  # pragma: no cover - compiled; o[0] 32-byte aligned
            for i in range(o.shape[0]):
                _nt_set(o, i, a[i] ^ b[i])
            _sfence()

        _passes.update(stream1=stream1, stream2=stream2)
    else:
        stream1, stream2 = loop1, loop2
    ch = CEILING_CHUNK

    @njit(parallel=True, cache=True)
    def prange1(a, o, m, p0, nt):  # pragma: no cover - compiled
        # elements before p0 serially (normal stores); chunks from p0
        loop1(a[:p0], o[:p0], m)
        n = o.shape[0]
        for c in prange((n - p0 + ch - 1) // ch):
            lo = p0 + c * ch
            hi = min(lo + ch, n)
            if nt:
                stream1(a[lo:hi], o[lo:hi], m)
            else:
                loop1(a[lo:hi], o[lo:hi], m)

    @njit(parallel=True, cache=True)
    def prange2(a, b, o, p0, nt):  # pragma: no cover - compiled
        loop2(a[:p0], b[:p0], o[:p0])
        n = o.shape[0]
        for c in prange((n - p0 + ch - 1) // ch):
            lo = p0 + c * ch
            hi = min(lo + ch, n)
            if nt:
                stream2(a[lo:hi], b[lo:hi], o[lo:hi])
            else:
                loop2(a[lo:hi], b[lo:hi], o[lo:hi])

    @njit(parallel=True, cache=True)
    def prange_rmw1(o, m):  # pragma: no cover - compiled
        n = o.shape[0]
        for c in prange((n + ch - 1) // ch):
            rmw1(o[c * ch : min(c * ch + ch, n)], m)

    @njit(parallel=True, cache=True)
    def prange_rmw2(a, o):  # pragma: no cover - compiled
        n = o.shape[0]
        for c in prange((n + ch - 1) // ch):
            lo = c * ch
            hi = min(lo + ch, n)
            rmw2(a[lo:hi], o[lo:hi])

    _passes.update(prange1=prange1, prange2=prange2, prange_rmw1=prange_rmw1, prange_rmw2=prange_rmw2)
    return _passes


def _ensure_threads() -> None:
    """Start Numba's threads the way fastrelu.parallel does (its threading layer)."""
    try:
        from fastrelu._parallel import ensure_threads
    except ImportError:  # pragma: no cover - old fastrelu under asv history
        return
    ensure_threads()


def ceiling_calls(
    operands: Sequence[np.ndarray], out: np.ndarray, parallel: bool = False
) -> dict[str, Callable[[], object]]:
    """``{method: zero-argument pass}``: the ceiling candidates for a call.

    The passes read *operands* (1 or 2 arrays of one dtype and length) and
    write *out*; *out* may be the last operand (in place).  Serial methods
    always; with *parallel* also the ``prange`` ones.  Streaming methods only
    where fastrelu streams (x86-64).  A pass's results are meaningless bits:
    use arrays of its own.
    """
    if len(operands) not in (1, 2):
        raise ValueError(f"a ceiling pass reads 1 or 2 operands, not {len(operands)}")
    u = _UINT[out.dtype.itemsize]
    ins = tuple(a.view(u) for a in operands)
    o = out.view(u)
    inplace = out is operands[-1]
    P = _ceiling_passes()
    calls: dict[str, Callable[[], object]] = {}
    k = len(ins)
    if inplace:
        # a read-modify-write of the output (o ^= 0, or o ^= a); nothing streams
        # in place (as in fastrelu)
        rmw_args = (o, u(0)) if k == 1 else (ins[0], o)
        rmw, prange_rmw = P[f"rmw{k}"], P[f"prange_rmw{k}"]
        calls["numpy"] = lambda: np.bitwise_xor(*rmw_args, out=o)
        calls["numba loop"] = lambda: rmw(*rmw_args)
        if parallel:
            _ensure_threads()
            calls["numba prange"] = lambda: prange_rmw(*rmw_args)
        return calls
    # one operand: o = a ^ 0 (a copy the compiler cannot drop); two: o = a ^ b
    args = (ins[0], o, u(0)) if k == 1 else (*ins, o)
    loop, stream, prange_ = P[f"loop{k}"], P.get(f"stream{k}"), P[f"prange{k}"]
    calls["numpy"] = (lambda: np.copyto(o, ins[0])) if k == 1 else (lambda: np.bitwise_xor(*ins, out=o))
    calls["numba loop"] = lambda: loop(*args)
    if _STREAM_OK:
        p = stream_start(out)
        # the elements before the first 32-byte aligned one with normal stores
        head = tuple(v[:p] if isinstance(v, np.ndarray) else v for v in args)
        tail = tuple(v[p:] if isinstance(v, np.ndarray) else v for v in args)

        def streamed():
            loop(*head)
            stream(*tail)

        calls["numba stream"] = streamed
    if parallel:
        _ensure_threads()
        calls["numba prange"] = lambda: prange_(*args, 0, False)
        if _STREAM_OK:
            p0 = stream_start(out)
            calls["numba prange stream"] = lambda: prange_(*args, p0, True)
    return calls


def best_ceiling(
    calls: dict[str, Callable[[], object]],
    min_time: float = 0.02,
    repeat: int = 5,
    budget: float | None = None,
    reset: Callable[[], object] | None = None,
) -> tuple[str, float, float]:
    """``(method, best, median)`` of the fastest pass in *calls* (each warmed up
    here; *reset*: see :func:`measure`)."""
    found = []
    for method, fn in calls.items():
        fn()
        best, med = measure(fn, min_time, repeat, budget, reset=reset)
        found.append((best, med, method))
    best, med, method = min(found)
    return method, best, med


def copy_ceiling(method: str, x: np.ndarray, out: np.ndarray) -> Callable[[], object]:
    """A zero-argument copy ``out[:] = x``: ``"np.copyto"``, ``"numba prange"``, or
    any of :data:`CEILING_METHODS` (see :func:`ceiling_calls`)."""
    if method == "np.copyto":
        return lambda: np.copyto(out, x)
    calls = ceiling_calls((x,), out, parallel=True)
    if method in calls:
        return calls[method]
    raise ValueError(f"unknown or unavailable copy method {method!r}")


#: the most calls per timed sample of an in-place call (between two restores of
#: its operands): few enough that no function's repeated application leaves the
#: operands' range (denormals, zeros), which would change what is timed
INPLACE_MAX_NUMBER = 4


def measure(
    fn: Callable[[], object],
    min_time: float = 0.02,
    repeat: int = 5,
    budget: float | None = None,
    reset: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """(best, median) seconds per call of an already warmed-up *fn*.

    Each sample runs *fn* enough times to last >= *min_time*; *repeat*
    samples are taken, fewer (but at least 3) once *budget* seconds are spent.
    With *reset* (in-place calls), a sample is ``reset()`` (untimed) then
    :data:`INPLACE_MAX_NUMBER` timed calls, and there are as many samples as
    make up the same timed total (``repeat * min_time``; at most 1000).
    """
    perf = time.perf_counter
    start = perf()
    if reset is not None:
        samples = []
        count = 1
        while len(samples) < count:
            if budget is not None and len(samples) >= 3 and perf() - start > budget:
                break
            reset()
            t0 = perf()
            for _ in range(INPLACE_MAX_NUMBER):
                fn()
            samples.append((perf() - t0) / INPLACE_MAX_NUMBER)
            if len(samples) == 1:
                block = samples[0] * INPLACE_MAX_NUMBER
                count = min(1000, repeat * max(1, math.ceil(min_time / max(block, 1e-9))))
        samples.sort()
        return samples[0], samples[len(samples) // 2]
    number = 1
    while True:  # calibrate: a sample lasts >= min_time
        t0 = perf()
        for _ in range(number):
            fn()
        dt = perf() - t0
        if dt >= min_time or number >= 1 << 24:
            break
        number = max(number * 2, int(number * min_time / max(dt, 1e-9) * 1.2))
    samples = [dt / number]
    while len(samples) < repeat:
        if budget is not None and len(samples) >= 3 and perf() - start > budget:
            break
        t0 = perf()
        for _ in range(number):
            fn()
        samples.append((perf() - t0) / number)
    samples.sort()
    return samples[0], samples[len(samples) // 2]


def environment() -> dict:
    """Versions, CPU, threading layer and thread count (after starting the pool)."""
    import numba

    from fastrelu._config import config

    # start Numba's threads as fastrelu.parallel does, so the layer reported is
    # the one its calls (and the parallel ceiling passes) run on
    _ensure_threads()
    a = np.zeros(16, np.uint8)
    _ceiling_passes()["prange1"](a, a.copy(), np.uint8(0), 0, False)
    info = {k: v for k, v in config().items() if k != "built_ufuncs"}
    try:
        info["numba_threading_layer"] = numba.threading_layer()
    except ValueError:
        info["numba_threading_layer"] = "none"
    info["numba_threads"] = numba.get_num_threads()
    info["processor"] = platform.processor() or platform.machine()
    for mod in ("scipy", "torch"):
        m = sys.modules.get(mod)
        if m is not None:
            info[mod] = m.__version__
    return info


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------


def cuda_available() -> bool:
    try:
        from numba import cuda as nbcuda

        return bool(nbcuda.is_available())
    except Exception:
        return False


MODES = ("out", "in place")


def _ceiling_name(nin: int, mode: str) -> str:
    base = "copy" if nin == 1 else f"{nin}-in copy"
    return base if mode == "out" else f"{base}, in place"


def run(
    names: Sequence[str] = DEFAULT_NAMES,
    sizes: Sequence[int] = DEFAULT_SIZES,
    dtypes: Sequence[str] = DEFAULT_DTYPES,
    targets: Sequence[str] = DEFAULT_TARGETS,
    min_time: float = 0.02,
    repeat: int = 5,
    progress: Callable[[str], None] | None = None,
    budget: float | None = 0.5,
    inplace: bool = True,
) -> dict:
    """Measure; returns ``{"environment", "first_call", "results"}`` (see :func:`main`).

    *inplace*: also time ``f(x, out=x)`` / ``f_grad(x, g, out=g)`` on the cpu
    and parallel targets (rows with ``mode`` "in place").
    """
    say = progress or (lambda _msg: None)
    first_call: list[dict] = []
    results: list[dict] = []
    # 1. first calls: JIT compile or cache load, reported on their own (n = 2**17 is
    #    above the parallel target's cut-over, so its multi-threaded kernels compile too)
    first = {}
    for name in names:
        for target in targets:
            say(f"first call {name} [{target}]")
            case = first.get(name) or first.setdefault(name, BenchCase(name, "float32", FIRST_CALL_SIZE))
            fn = case.call(target)
            t0 = time.perf_counter()
            fn()
            first_call.append({"name": name, "target": target, "seconds": time.perf_counter() - t0})
    say("environment")
    env = environment()
    modes = MODES if inplace else MODES[:1]
    inplace_targets = [t for t in targets if t in ("cpu", "parallel")]
    scopes = ["cpu"] + (["parallel"] if "parallel" in targets else [])
    # 2. throughput
    for dtype in dtypes:
        for size in sizes:
            cases = {name: BenchCase(name, dtype, size) for name in names}
            # the ceilings these calls need: (operands, mode) x (serial, all threads)
            ceiling: dict[tuple[int, str, str], dict] = {}
            for nin in sorted({len(c.operands) for c in cases.values()}):
                probe = next(c for c in cases.values() if len(c.operands) == nin)
                for mode in modes:
                    for scope in scopes:
                        cname = _ceiling_name(nin, mode)
                        say(f"{cname} [{scope}] {dtype} n={size}")
                        calls, reset = probe.ceiling(scope == "parallel", mode != "out")
                        method, best, med = best_ceiling(calls, min_time, repeat, budget, reset)
                        rec = _record(cname, "copy", scope, dtype, size, best, med, probe.nbytes)
                        rec.update(method=method, mode=mode, operands=nin)
                        results.append(rec)
                        ceiling[nin, mode, scope] = rec
            for name, case in cases.items():
                rows = [(t, "out") for t in (*targets, "numpy")]
                rows += [(t, "in place") for t in inplace_targets if "in place" in modes]
                for target, mode in rows:
                    say(f"{name} [{target}{', in place' if mode != 'out' else ''}] {dtype} n={size}")
                    fn = case.call(target, inplace=mode != "out")
                    fn()  # warm-up: touches out=, starts threads
                    reset = case.reset if mode != "out" else None
                    best, med = measure(fn, min_time, repeat, budget, reset=reset)
                    rec = _record(name, case.kind, target, dtype, size, best, med, case.nbytes)
                    rec.update(mode=mode, operands=len(case.operands))
                    scope = "parallel" if target == "parallel" else "cpu"
                    if target != "cuda":
                        c = ceiling[len(case.operands), mode, scope]
                        rec["ceiling_gbps"] = c["gbps"]
                        rec["ceiling_method"] = f"{c['target']}: {c['method']}"
                        rec["fraction_of_ceiling"] = rec["gbps"] / c["gbps"]
                    results.append(rec)
            del cases
            _ratios(results, dtype, size)
    return {"environment": env, "first_call": first_call, "results": results}


def _record(name, kind, target, dtype, size, best, med, nbytes) -> dict:
    return {
        "name": name,
        "kind": kind,
        "target": target,
        "dtype": str(np.dtype(dtype)),
        "size": int(size),
        "seconds": best,
        "seconds_median": med,
        "ns_per_element": best / size * 1e9,
        "gbps": nbytes / best / 1e9,
        "bytes": nbytes,
    }


def _ratios(results: list[dict], dtype, size) -> None:
    """× NumPy for the out-of-place rows; in place ÷ out of place for the in-place rows."""
    dtype = str(np.dtype(dtype))
    rows = [r for r in results if r["dtype"] == dtype and r["size"] == size and r["kind"] != "copy"]
    out_time = {(r["name"], r["target"]): r["seconds"] for r in rows if r.get("mode", "out") == "out"}
    for r in rows:
        if r.get("mode", "out") == "out":
            if (r["name"], "numpy") in out_time and r["target"] != "numpy":
                r["speedup_vs_numpy"] = out_time[r["name"], "numpy"] / r["seconds"]
        elif (r["name"], r["target"]) in out_time:
            r["inplace_vs_out"] = r["seconds"] / out_time[r["name"], r["target"]]


# --------------------------------------------------------------------------
# output: table, markdown, plot
# --------------------------------------------------------------------------

_COLUMNS = (
    "function",
    "dtype",
    "size",
    "target",
    "time/call",
    "ns/elem",
    "GB/s",
    "× NumPy",
    "% of copy",
    "in place ÷ out",
)


def _fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _fmt_size(n: int) -> str:
    e = round(math.log10(n)) if n > 0 else 0
    return f"1e{e}" if n > 0 and 10**e == n else str(n)


def _target_cell(r: dict) -> str:
    if r["kind"] == "copy":
        return f"{r['target']}: {r['method']}" if "method" in r else r["target"]
    return r["target"] if r.get("mode", "out") == "out" else f"{r['target']}, in place"


def _row_cells(r: dict) -> list[str]:
    sp = r.get("speedup_vs_numpy")
    frac = r.get("fraction_of_ceiling")
    ip = r.get("inplace_vs_out")
    return [
        r["name"] if r["kind"] != "copy" else f"{r['name']} (ceiling)",
        r["dtype"],
        _fmt_size(r["size"]),
        _target_cell(r),
        _fmt_time(r["seconds"]),
        f"{r['ns_per_element']:.3g}",
        f"{r['gbps']:.3g}",
        "" if sp is None or r["target"] == "numpy" else f"{sp:.2f}",
        "" if frac is None else f"{100 * frac:.0f}%",
        "" if ip is None else f"{ip:.2f}",
    ]


def _env_line(env: dict) -> str:
    return (
        f"fastrelu {env.get('fastrelu')}, NumPy {env.get('numpy')}, Numba {env.get('numba')}, "
        f"Python {env.get('python')}; {env.get('cpu_model')} ({env.get('vector_isa')}) "
        f"with {env.get('cpu_count')} CPUs; "
        f"threading layer {env.get('numba_threading_layer')} ({env.get('numba_threads')} threads)"
    )


def _sorted_rows(results: list[dict]) -> list[dict]:
    order = {"cpu": 0, "parallel": 1, "cuda": 2, "numpy": 3}
    names: list[str] = []
    for r in results:
        if r["name"] not in names:
            names.append(r["name"])
    return sorted(
        results,
        key=lambda r: (
            names.index(r["name"]),
            r["dtype"],
            r["size"],
            r.get("mode", "out") != "out",
            order.get(r["target"], 9),
        ),
    )


def to_markdown(report: dict, command: str = "") -> str:
    """The Markdown tables (summary at the largest size, then every point)."""
    env, results = report["environment"], report["results"]
    lines = [
        f"<!-- generated by `{command or 'python -m fastrelu bench'}`: do not edit by hand -->",
        "",
        f"*{_env_line(env)}.*",
        "",
    ]
    big = max(r["size"] for r in results)
    summary = [r for r in results if r["size"] == big and r["kind"] != "copy" and r["target"] != "numpy"]
    if summary:
        lines += [
            f"Throughput at n = {_fmt_size(big)} elements (× NumPy: speedup over the best NumPy "
            "expression; % of copy: fraction of the copy ceiling, the fastest pass moving the same "
            "bytes; in place ÷ out: time of `f(x, out=x)` over `f(x, out=o)`):",
            "",
            "| function | dtype | target | ns/elem | GB/s | × NumPy | % of copy | in place ÷ out |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in _sorted_rows(summary):
            c = _row_cells(r)
            lines.append(f"| `{c[0]}` | {c[1]} | {c[3]} | {c[5]} | {c[6]} | {c[7]} | {c[8]} | {c[9]} |")
        lines.append("")
    lines += [
        "<details><summary>Every point</summary>",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in _sorted_rows(results):
        lines.append("| " + " | ".join(_row_cells(r)) + " |")
    lines += ["", "</details>", ""]
    if report.get("first_call"):
        fc = ", ".join(f"`{r['name']}` [{r['target']}] {r['seconds']:.2f} s" for r in report["first_call"])
        lines += [f"First calls (JIT compile, or load from Numba's on-disk cache): {fc}.", ""]
    return "\n".join(lines)


def write_markdown(path: Path, text: str, tag: str = MARK_TAG) -> None:
    """Write *text* to *path*, between the ``<!-- {tag}:start -->`` and
    ``<!-- {tag}:end -->`` markers if the file has them (the bench's own tag
    by default; ``fastrelu.accuracy`` and ``tools/bench_smooth.py`` use
    theirs).

    The markers must stand alone on their lines (so prose may mention them).
    """
    mark_start, mark_end = markers(tag)
    if path.exists():
        old = path.read_text(encoding="utf-8")
        start = re.search(rf"^{re.escape(mark_start)}[ \t]*$", old, re.M)
        end = re.search(rf"^{re.escape(mark_end)}[ \t]*$", old, re.M)
        if start and end and start.end() < end.start():
            new = f"{old[: start.end()]}\n{text.rstrip()}\n{old[end.start() :]}"
            path.write_text(new, encoding="utf-8")
            return
        if old.strip() and not old.lstrip().startswith("<!-- generated by"):
            raise SystemExit(
                f"fastrelu: {path} exists and has no {mark_start} ... {mark_end} marker lines; "
                "refusing to overwrite it"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def plot(report: dict, path: Path) -> None:
    """Throughput (GB/s) vs size, one panel per (function, dtype)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    panels: list[tuple[str, str]] = []
    for r in _sorted_rows(results):
        if r["kind"] != "copy" and (r["name"], r["dtype"]) not in panels:
            panels.append((r["name"], r["dtype"]))
    ncol = min(3, len(panels)) or 1
    nrow = math.ceil(len(panels) / ncol) or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow), squeeze=False, sharex=True)
    styles = {"cpu": ("C0", "o"), "parallel": ("C1", "s"), "cuda": ("C2", "^")}
    for ax, (name, dtype) in zip(axes.flat, panels, strict=False):
        nin = next(r.get("operands", 1) for r in results if r["name"] == name and r["kind"] != "copy")
        for target in ("cpu", "parallel", "cuda", "numpy"):
            for mode in MODES:
                pts = sorted(
                    (r["size"], r["gbps"])
                    for r in results
                    if r["name"] == name
                    and r["dtype"] == dtype
                    and r["target"] == target
                    and r.get("mode", "out") == mode
                )
                if not pts:
                    continue
                xs, ys = zip(*pts, strict=True)
                if target == "numpy":
                    ax.plot(xs, ys, "k--", lw=1.2, label="NumPy (best expr.)")
                elif mode == "out":
                    color, marker = styles[target]
                    ax.plot(xs, ys, color=color, marker=marker, label=f"fastrelu [{target}]")
                else:
                    color, marker = styles[target]
                    ax.plot(
                        xs, ys, color=color, marker=marker, mfc="none", ls=":", label=f"[{target}] in place"
                    )
        # the out-of-place ceilings for this call's operands: serial and all threads
        for scope, color, style in (("cpu", "0.6", (0, (1, 1.5))), ("parallel", "0.15", (0, (6, 2)))):
            pts = sorted(
                (r["size"], r["gbps"])
                for r in results
                if r["kind"] == "copy"
                and r["dtype"] == dtype
                and r["target"] == scope
                and r.get("mode") == "out"
                and r.get("operands") == nin
            )
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, color=color, ls=style, lw=2.0, label=f"copy ceiling ({scope})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{name} ({dtype})", fontsize=10)
        ax.set_ylabel("GB/s")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("elements")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    fig.suptitle("fastrelu throughput (GB/s) vs size\n" + _env_line(report["environment"]), fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print_table(report: dict, console) -> None:
    results = _sorted_rows(report["results"])
    env = report["environment"]
    if console is None:
        print("  ".join(_COLUMNS))
        for r in results:
            print("  ".join(_row_cells(r)))
        print(_env_line(env))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="fastrelu bench", caption=escape(_env_line(env)), header_style="bold")
    for c in _COLUMNS:
        table.add_column(c, justify="left" if c in ("function", "dtype", "target") else "right")
    prev = None
    for r in results:
        key = (r["name"], r["dtype"])
        if prev is not None and key != prev:
            table.add_section()
        prev = key
        style = "dim" if r["target"] == "numpy" or r["kind"] == "copy" else None
        table.add_row(*(escape(c) for c in _row_cells(r)), style=style)
    console.print(table)
    if report["first_call"]:
        fc = ", ".join(f"{r['name']} [{r['target']}] {r['seconds']:.2f}s" for r in report["first_call"])
        console.print(escape(f"first calls (compile or cache load): {fc}"))


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _sizes(text: str) -> list[int]:
    try:
        return [int(float(s)) for s in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size list {text!r} (e.g. 1e3,1e5,1e7)") from None


def build_parser(prog: str = "python -m fastrelu bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Time fastrelu against the best NumPy expression and the memory-copy ceiling.",
    )
    p.add_argument(
        "--names",
        default=",".join(DEFAULT_NAMES),
        help="comma list of functions, or all/forward/grad/piecewise/smooth (default: %(default)s)",
    )
    p.add_argument("--sizes", type=_sizes, default=None, help="element counts, e.g. 1e3,1e5,1e7")
    p.add_argument("--dtypes", default=",".join(DEFAULT_DTYPES), help="default: %(default)s")
    p.add_argument(
        "--targets",
        default=None,
        help="cpu,parallel[,cuda] (default: cpu,parallel, plus cuda when a GPU is present)",
    )
    p.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} and shorter samples")
    p.add_argument("--time", type=float, default=None, help="seconds per sample (default 0.02, quick 0.005)")
    p.add_argument("--repeat", type=int, default=None, help="samples per point (default 5, quick 3)")
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds per point after which sampling stops at 3 samples (default 0.5, quick 0.2)",
    )
    p.add_argument("--json", metavar="PATH", type=Path, help="write every result and the environment")
    p.add_argument(
        "--markdown",
        metavar="PATH",
        type=Path,
        help=f"write the tables; into an existing file only between {MARK_START} / {MARK_END}",
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        type=Path,
        default=Path("bench-out/fastrelu-bench.png"),
        help="PNG of throughput vs size (default: %(default)s)",
    )
    p.add_argument("--no-plot", action="store_true")
    p.add_argument(
        "--no-inplace",
        action="store_true",
        help="skip the in-place rows (f(x, out=x), f_grad(x, g, out=g) on cpu and parallel)",
    )
    return p


def bench_main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = _expand_names(args.names)
    dtypes = [str(np.dtype(d)) for d in _csv(args.dtypes)]
    for d in dtypes:
        if d not in ("float16", "float32", "float64"):
            raise SystemExit(f"fastrelu bench: dtype must be float16, float32 or float64, got {d}")
    sizes = args.sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.targets is None:
        targets = list(DEFAULT_TARGETS) + (["cuda"] if cuda_available() else [])
    else:
        targets = _csv(args.targets)
    for t in targets:
        if t not in ("cpu", "parallel", "cuda"):
            raise SystemExit(f"fastrelu bench: unknown target {t!r} (cpu, parallel, cuda)")
    min_time = args.time if args.time is not None else (0.005 if args.quick else 0.02)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    budget = args.budget if args.budget is not None else (0.2 if args.quick else 0.5)
    command = "python -m fastrelu bench " + " ".join(argv if argv is not None else sys.argv[2:])

    inplace = not args.no_inplace
    nin = {len(make_case(n, "float32", 1).operands) for n in names}
    n_ip = len([t for t in targets if t in ("cpu", "parallel")]) if inplace else 0
    n_ceil = len(nin) * (2 if inplace else 1) * (2 if "parallel" in targets else 1)
    npoints = len(names) * len(targets) + 1
    npoints += len(dtypes) * len(sizes) * (n_ceil + len(names) * (len(targets) + 1 + n_ip))
    t_start = time.perf_counter()
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console()
        if not console.is_terminal:  # logs and CI: do not squeeze the table into 80 columns
            console = Console(width=150)
    except ImportError:  # rich is in the [bench] extra: plain output without it
        console = None
    if console is not None:
        with Progress(
            TextColumn("[progress.description]{task.description:<44}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as prog:
            task = prog.add_task("starting", total=npoints)

            def say(msg: str) -> None:
                prog.update(task, description=escape(msg), advance=1)

            report = run(
                names, sizes, dtypes, targets, min_time, repeat, progress=say, budget=budget, inplace=inplace
            )
    else:
        report = run(
            names,
            sizes,
            dtypes,
            targets,
            min_time,
            repeat,
            progress=lambda m: print(m, flush=True),
            budget=budget,
            inplace=inplace,
        )
    report["command"] = command
    report["date"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    report["wall_seconds"] = time.perf_counter() - t_start
    _print_table(report, console)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.markdown:
        write_markdown(args.markdown, to_markdown(report, command))
        print(f"wrote {args.markdown}")
    if not args.no_plot:
        try:
            plot(report, args.plot)
            print(f"wrote {args.plot}")
        except ImportError:
            print("matplotlib is not installed: no plot (pip install 'fastrelu[bench]')", file=sys.stderr)
    print(f"done in {report['wall_seconds']:.1f} s")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m fastrelu.bench`` (the same as ``python -m fastrelu bench``)."""
    return bench_main(None if argv is None else list(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
