"""Machinery of the parallel CPU target (:mod:`fastrelu.parallel`).

The measurements behind these choices are in ``docs/design.md``; the tuned
numbers (cut-over, chunk size, streaming threshold) in
:mod:`fastrelu._tuning`.

* **Which calls run multi-threaded.**  A :class:`ParallelUfunc` sends an
  operand set to an ``@njit(parallel=True)`` ``prange`` loop built from the
  *same* scalar kernel as the cpu ufunc (compiled with ``forceinline``, see
  :func:`fastrelu._build.inline_kernel`) when all of these hold:

  - ``x`` (and ``g`` for gradients) are plain :class:`numpy.ndarray` of one
    native-byte-order float dtype (float16, float32 or float64), aligned, of
    the same shape, all C-contiguous or all F-contiguous, with at least
    :data:`CUTOVER` elements (per family);
  - the parameters are scalars (Python numbers, NumPy scalars or 0-d arrays);
  - the only keyword is ``out=`` (an aligned, writeable, plain ndarray of the
    same dtype, shape and layout; ``out=x`` is fine, partial overlap is not)
    or ``where=True``;
  - Numba runs more than one thread.

  Everything else -- small arrays, broadcasting, strided views, ``where=``
  masks, ``dtype=``/``casting=``/``order=``, integer inputs, duck arrays --
  goes to the shared :class:`numpy.ufunc` of the cpu target, unchanged.  Both
  paths run the same scalar code with the same types, so results are bit-for-
  bit identical (``tests/test_parallel.py``).  A dask or xarray argument is
  handed to its ``__array_ufunc__`` with the shared ufunc (dask's threads
  then parallelise over blocks); use ``map_blocks(fastrelu.parallel.relu)``
  for prange loops inside blocks.  float16 runs in the prange loop on the raw
  ``uint16`` bits, widened exactly to float32 and rounded once, as the
  ufunc's float16 loop does.

* **Chunks.**  The prange runs over chunks of :data:`CHUNK` elements, each
  handed to the serial loop compiled on its own (the cpu target's ``_run``
  template), so each chunk is the same vectorised loop as the cpu target's.

* **Streaming stores.**  An output of at least :data:`STREAM_MIN_BYTES`
  (``FASTRELU_STREAM_MIN_BYTES`` overrides) from a piecewise function is
  written with non-temporal stores (x86-64 only): the chunks then start at
  the output's first 32-byte aligned element (the few before it are written
  first, serially) and run a variant of the serial loop whose stores LLVM
  vectorises into non-temporal stores (:func:`fastrelu._build._nt_set`).
  In place (``out`` is an input) nothing streams, and the smooth functions
  (compute-bound) never stream.  Results are bit-identical either way.

* **Cut-over.**  Below :data:`CUTOVER` elements (per family) a prange
  launch costs more than the serial loop's work; ``FASTRELU_PARALLEL_CUTOVER``
  (read at import) overrides both families.

* **Threading layer.**  Chosen before the first prange launch by
  :func:`ensure_threads`:

  - the user's choice wins (``NUMBA_THREADING_LAYER`` /
    ``numba.config.THREADING_LAYER``, or a layer another library already
    started);
  - otherwise Numba's default order (tbb, omp, workqueue), after preloading
    (at import of this module: it starts no thread) a pip-installed
    ``libtbb`` (``<sys.prefix>/lib/libtbb.so.12``) with ``RTLD_GLOBAL`` so
    that Numba finds it (``pip install fastrelu[parallel]`` installs it).
    TBB is thread-safe and fork-safe; GNU OpenMP aborts a forked child that
    uses it;
  - with the ``workqueue`` layer (not thread-safe: concurrent launches from
    several Python threads abort the process) every prange launch is
    serialised by a lock.

  ``NUMBA_NUM_THREADS`` and :func:`numba.set_num_threads` (thread-local in
  Numba) are honoured: the loop uses ``numba.get_num_threads()`` threads, and
  with 1 thread every call takes the serial ufunc.

* **Fork.**  With TBB or workqueue a child forked after the parent used the
  parallel target works.  Python 3.12+ warns (``DeprecationWarning``) when a
  process with threads forks: prefer the ``spawn`` or ``forkserver`` start
  method for process pools.

* **Compilation** is lazy, per public name and dtype, cached on disk with the
  cpu kernels (:data:`fastrelu._build.SOURCE_HASH` and the chunk size in the
  cache name); the ``precompile()`` method of each object (and
  ``fastrelu.precompile(targets=["parallel"])``) compiles float32/float64
  (and float16) ahead of time.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import numba
import numpy as np
from numba import get_num_threads, njit, types

from fastrelu import _build, _compat, _tuning
from fastrelu._ufunc import Ufunc

__all__ = ["CUTOVER", "ParallelUfunc", "ensure_threads", "threading_info"]

# --------------------------------------------------------------------------
# cut-over (elements) below which the serial ufunc is faster
# --------------------------------------------------------------------------

CUTOVER: dict[str, int] = dict(_tuning.value("parallel_cutover"))
_env_cut = os.environ.get("FASTRELU_PARALLEL_CUTOVER")
if _env_cut:
    CUTOVER = dict.fromkeys(CUTOVER, max(int(_env_cut), 2))

# --------------------------------------------------------------------------
# threading layer
# --------------------------------------------------------------------------

_layer_lock = threading.Lock()
_launch_lock = threading.Lock()  # serialises launches on the workqueue layer
_state: dict = {"ready": False, "serialize": False, "tbb_preloaded": None}
# THREADING_LAYER values under which Numba may choose TBB
_TBB_LAYERS = ("default", "tbb", "safe", "threadsafe", "forksafe")


def _tbb_candidates() -> list[str]:
    if sys.platform.startswith("win"):
        return [
            os.path.join(sys.prefix, "Library", "bin", "tbb12.dll"),
            os.path.join(sys.prefix, "tbb12.dll"),
        ]
    name = "libtbb.12.dylib" if sys.platform == "darwin" else "libtbb.so.12"
    return [os.path.join(sys.prefix, "lib", name)]


def _preload_tbb() -> str | None:
    """Load a pip-installed libtbb globally so that Numba's tbbpool finds it."""
    for path in _tbb_candidates():
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            except OSError:
                continue
            return path
    return None


def _early_preload() -> None:
    """Preload libtbb at import when Numba will pick its layer by itself.

    Loading a shared library starts no thread; doing it here (not only in
    :func:`ensure_threads`) means that Numba finds TBB even when another
    library, or ``numba.get_num_threads()``, starts the threading layer first.
    """
    layer = str(numba.config.THREADING_LAYER).lower()
    if not _compat.threading_layer_started() and layer in _TBB_LAYERS:
        _state["tbb_preloaded"] = _preload_tbb()


def ensure_threads() -> None:
    """Choose and start Numba's threading layer (once per process)."""
    if _state["ready"]:
        return
    with _layer_lock:
        if _state["ready"]:
            return
        if not _compat.threading_layer_started():
            layer = str(numba.config.THREADING_LAYER).lower()
            if layer in _TBB_LAYERS and _state["tbb_preloaded"] is None:
                _state["tbb_preloaded"] = _preload_tbb()
            _compat.start_threading_layer()
        _state["serialize"] = numba.threading_layer() == "workqueue"
        _state["ready"] = True


def threading_info() -> dict:
    """The threading layer in use and the thread count (starts the layer)."""
    ensure_threads()
    return {
        "threading_layer": numba.threading_layer(),
        "num_threads": numba.get_num_threads(),
        "parallel_launches_serialized": _state["serialize"],
        "parallel_cutover": dict(CUTOVER),
        "stream_min_bytes": STREAM_MIN_BYTES if _build.STREAM_OK else None,
    }


# --------------------------------------------------------------------------
# prange loops: ``_build.RUN_TEMPLATES`` bound to a kernel, compiled parallel
# --------------------------------------------------------------------------

_PAR_OPTIONS = {"parallel": True, "cache": True, **_build.TARGET_OPTIONS}
#: elements per prange chunk (each chunk runs the serial loop)
CHUNK: int = _tuning.value("parallel_chunk")

#: outputs of at least this many bytes are written with non-temporal stores
#: (``FASTRELU_STREAM_MIN_BYTES`` overrides; default: the tuning table's, or
#: the last-level cache size)
STREAM_MIN_BYTES = int(
    os.environ.get("FASTRELU_STREAM_MIN_BYTES")
    or _tuning.value("stream_min_bytes")
    or _tuning.host()["llc_bytes"]
)


def streams(nbytes: int) -> bool:
    """Whether *nbytes* of fresh output are written with non-temporal stores
    (x86-64, at least :data:`STREAM_MIN_BYTES`); the callers add their own
    conditions (a piecewise function, not in place)."""
    return _build.STREAM_OK and nbytes >= STREAM_MIN_BYTES


_loops: dict = {}
_loops_lock = threading.Lock()


def prange_loop(kernel, nin: int, half: bool, stream: bool = False):
    """The ``@njit(parallel=True)`` loop of *kernel* (float16: on uint16 bits),
    called as ``loop((*arrays, *params), out, p0)``; *stream*: the variant
    writing ``out`` with non-temporal stores (``p0``: its first 32-byte
    aligned element, see :func:`fastrelu._build.stream_start`)."""
    key = (kernel, half, stream)
    disp = _loops.get(key)
    if disp is None:
        with _loops_lock:
            disp = _loops.get(key)
            if disp is None:
                k = _build.inline_kernel(kernel, half, nin)
                ic = _build.interleave_count(kernel)
                name = f"par_{'half_' if half else ''}{kernel.__name__}_ic{ic}"
                serial = njit(cache=True, **_build.TARGET_OPTIONS)(
                    _build.cacheable(_build.RUN_TEMPLATES[nin], f"{name}_chunk", _k=k)
                )
                streamed = None
                if stream:
                    streamed = njit(cache=True, **_build.TARGET_OPTIONS)(
                        _build.cacheable(_build.STREAM_TEMPLATE, f"{name}_stream", _k=k)
                    )
                tag = f"{name}_ch{CHUNK}{'_st' if stream else ''}"
                fn = _build.cacheable(_build.CHUNK_TEMPLATE, tag, _s=serial, _CH=CHUNK, _ST=streamed)
                disp = njit(**_PAR_OPTIONS)(fn)
                if ic:
                    # every compilation of this loop (first call of a type
                    # signature, precompile) with the family's interleave count
                    compile_ = disp.compile

                    def compile_interleaved(sig, _compile=compile_, _ic=ic):
                        with _build.interleaved(_ic):
                            return _compile(sig)

                    disp.compile = compile_interleaved
                _loops[key] = disp
    return disp


# --------------------------------------------------------------------------
# the parallel ufunc object
# --------------------------------------------------------------------------

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_FLOATS = {_F16: np.uint16, _F32: None, _F64: None}
_EXACT_INT = 2**53
_SCALAR_TYPES = (float, int, bool)


class ParallelUfunc(Ufunc):
    """A :class:`~fastrelu.Ufunc` whose large calls run multi-threaded."""

    _cutover = CUTOVER

    def __init__(self, spec, kind: str = "forward", target: str = "parallel"):
        super().__init__(spec, kind, target)
        self._kernel = spec.kernel(kind)
        self._family = spec.family

    def _invoke(self, uf, args, kwargs):
        x = args[0]
        if type(x) is not np.ndarray or x.size < CUTOVER[self._family]:
            return uf(*args, **kwargs)
        res = self._try_parallel(args, kwargs)
        if res is None:
            return uf(*args, **kwargs)
        return res

    # The checks below cost a few µs, negligible above the cut-over.
    def _try_parallel(self, args, kwargs):
        """Run the prange loop and return the result, or None to fall back."""
        x = args[0]
        dt = x.dtype
        if dt not in _FLOATS:  # ints, bool, byte-swapped ...
            return None
        out = None
        if kwargs:
            for k, v in kwargs.items():
                if k == "out":
                    if type(v) is tuple:
                        if len(v) != 1:
                            return None
                        v = v[0]
                    out = v
                elif not (k == "where" and v is True):
                    return None
        nd = self._ndata
        shape = x.shape
        fx = x.flags
        if not fx.aligned:
            return None
        order = "C" if fx.c_contiguous else ("F" if fx.f_contiguous else None)
        if order is None:
            return None
        data = [x]
        if nd == 2:
            g = args[1]
            if type(g) is not np.ndarray or g.dtype != dt or g.shape != shape:
                return None
            fg = g.flags
            if not fg.aligned or not (fg.c_contiguous if order == "C" else fg.f_contiguous):
                return None
            data.append(g)
        params = []
        for p in args[nd:]:
            tp = type(p)
            if tp in _SCALAR_TYPES:
                if tp is int and not -_EXACT_INT <= p <= _EXACT_INT:
                    return None
                if tp is float and p == p and abs(p) > _MAX[dt] and abs(p) != np.inf:
                    return None  # would overflow in the cast: let NumPy decide
                p = dt.type(p)
            elif tp is np.ndarray:
                if p.ndim != 0 or p.dtype != dt:
                    return None
                p = p[()]
            elif type(p) is not dt.type:
                return None
            params.append(p)
        if out is None:
            out = np.empty_like(x)
        else:
            if type(out) is not np.ndarray or out.dtype != dt or out.shape != shape:
                return None
            fo = out.flags
            if not (fo.writeable and fo.aligned):
                return None
            if not (fo.c_contiguous if order == "C" else fo.f_contiguous):
                return None
            for a in data:
                if a is not out and np.may_share_memory(a, out):
                    # exact aliasing (same start) is element-wise safe
                    if a.__array_interface__["data"][0] != out.__array_interface__["data"][0]:
                        return None
        ensure_threads()
        if get_num_threads() < 2:
            return None
        view = _FLOATS[dt]
        flat = [a.ravel(order) for a in data]
        oflat = out.ravel(order)
        if view is not None:
            flat = [a.view(view) for a in flat]
            oflat = oflat.view(view)
            params = [np.asarray(p, dt).view(view)[()] for p in params]
        # in place (out is an input) the lines are in cache already: no stream
        stream = (
            self._family == "piecewise"
            and streams(oflat.nbytes)
            and not any(a is out or np.may_share_memory(a, out) for a in data)
        )
        p0 = _build.stream_start(oflat) if stream else 0
        loop = prange_loop(self._kernel, self._nargs, view is not None, stream)
        if _state["serialize"]:
            with _launch_lock:
                loop((*flat, *params), oflat, p0)
        else:
            loop((*flat, *params), oflat, p0)
        return out

    def precompile(self, dtypes=(_F32, _F64, _F16)) -> None:
        """Compile the ufunc's loops and the prange loops for *dtypes*."""
        _build.compile_loops(self.ufunc, dtypes)
        for dt in dtypes:
            dt = np.dtype(dt)
            half = dt == _F16
            nbt = _build._NUMBA_TYPES[np.dtype(np.uint16) if half else dt]
            arr = types.Array(nbt, 1, "C")
            ins = types.Tuple((arr,) * self._ndata + (nbt,) * (self._nargs - self._ndata))
            streams = (False, True) if _build.STREAM_OK and self._family == "piecewise" else (False,)
            for stream in streams:
                prange_loop(self._kernel, self._nargs, half, stream).compile((ins, arr, types.intp))


_MAX = {dt: float(np.finfo(dt).max) for dt in _FLOATS}

_early_preload()


def make(name: str) -> ParallelUfunc:
    """The parallel-target object for public name *name*."""
    from fastrelu._spec import resolve

    spec, kind = resolve(name)
    return ParallelUfunc(spec, kind, "parallel")
