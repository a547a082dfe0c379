"""CUDA target: ``fastrelu.cuda.relu`` etc., for arrays that live on an NVIDIA GPU.

Dispatch
--------
* ``fastrelu.cuda.<name>(x, ...)`` takes anything exposing
  ``__cuda_array_interface__`` -- CuPy arrays, PyTorch CUDA tensors, Numba
  device arrays -- and returns the **same kind of array** (CuPy in, CuPy out;
  torch in, torch out, on the same device), or writes into ``out=``.
* ``fastrelu.<name>(x, ...)`` (the cpu target) routes here by itself: its
  ``__call__`` binds the parameters, sees that ``x`` is not a host type but has
  ``__cuda_array_interface__`` and calls ``fastrelu.cuda.<name>`` with the
  bound arguments (see :mod:`fastrelu._ufunc`).  NumPy input never reaches
  this module.
* Host NumPy input is a ``TypeError`` here (no silent round trip);
  ``copy_host=True`` copies to the device and back explicitly.

Laziness
--------
``import fastrelu.cuda`` creates the public objects only; it imports neither
``numba.cuda`` nor the driver.  The first call imports
:mod:`fastrelu._cuda_kernels`, checks that a GPU exists (a clear
:class:`CudaUnavailableError` otherwise, naming ``pip install
"fastrelu[cuda]"``), compiles the kernel for the call's dtypes and layout and
caches it.

Calls
-----
* Parameters: Python/NumPy scalars (passed as kernel arguments, cast to the
  computation type) or device arrays broadcasting NumPy-style.  Scalar
  parameters are validated as on the cpu target; device-array parameters are
  not (that would synchronise the device).
* Dtypes: float32, float64; float16 storage computed in float32 and rounded
  once; bfloat16 from PyTorch (its ``__cuda_array_interface__`` typestr is
  ``"<V2"``; we read torch tensors directly and treat bfloat16 as uint16 bits,
  widened by a 16-bit shift and rounded back to nearest even); integer and
  bool input keep their dtype for the exact rows (relu, relu6, hardtanh,
  threshold) and otherwise go to the float loop NumPy would pick (int8 ->
  float16, int16 -> float32, int32/int64 -> float64).
* Layout: C-contiguous operands use a flat grid-stride kernel; anything else
  (non-contiguous, negative strides, broadcast parameters) a strided kernel
  over the flat int64 index with per-operand element strides -- no host round
  trip, and more than 2**31 elements are indexed correctly.  The output is
  C-contiguous unless ``out=`` says otherwise.
* Streams: the producer's current stream (CuPy's current stream, torch's
  ``torch.cuda.current_stream()``, the ``stream`` entry of the interface), or
  ``stream=`` (a Numba/CuPy/torch stream, a raw handle, or anything with
  ``__cuda_stream__``).  Calls are asynchronous, like the producer's own ops.

Launch path
-----------
One ``@cuda.jit`` kernel per (function, dtypes, layout, ndim) is compiled
with an explicit signature and cached; so are the launch configuration per
device and the stream wrappers.  A call then reads pointers, shapes and
strides from the producer, allocates the output with the producer, builds the
kernel's argument list directly (every array argument is a 1-D span:
``meminfo, parent, size, itemsize, data, shape, stride``) and launches through
``cuda.core`` -- no ``cuda.as_cuda_array`` and no type inference per call.
``FASTRELU_CUDA_LAUNCH=public`` switches to Numba's public launch API
(``kernel[grid, block, stream](*device_arrays)``), e.g. should a Numba-CUDA
release change the internals the fast path uses; the fast path also falls
back to it by itself (with a warning) if those internals are missing.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import threading
import warnings
from numbers import Number

import numpy as np

from fastrelu import _compat, _tuning
from fastrelu._spec import BY_NAME, FLOAT_DTYPES, INT_DTYPES, namespace, public_names
from fastrelu._ufunc import UFUNC_KWARGS, Ufunc, _prelu_weight

INSTALL_HINT = 'pip install "fastrelu[cuda]"'
BF16 = "bfloat16"

# __all__ (table functions in table order, then these) and the PEP 562 hooks: the export block
# at the end of this file.
_EXTRAS = ("CudaUfunc", "CudaUnavailableError", "is_available", "status")


class CudaUnavailableError(RuntimeError):
    """numba-cuda is not installed, or no usable GPU was found."""


# --------------------------------------------------------------------------
# backend (lazy)
# --------------------------------------------------------------------------

_lock = threading.RLock()
_backend_state: dict = {}


def _sim_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _backend():
    """Import the device side and check for a GPU (once); raise a clear error."""
    be = _backend_state.get("be")
    if be is not None:
        return be
    with _lock:
        if "error" in _backend_state:
            raise CudaUnavailableError(_backend_state["error"])
        try:
            from numba import cuda

            from fastrelu import _cuda_kernels as ck
        except ImportError as e:
            _backend_state["error"] = (
                f"fastrelu.cuda needs numba-cuda, which could not be imported ({e}). "
                f"Install it with: {INSTALL_HINT}"
            )
            raise CudaUnavailableError(_backend_state["error"]) from None
        if not ck.SIM and not cuda.is_available():
            _backend_state["error"] = (
                "fastrelu.cuda: no CUDA GPU found (numba.cuda.is_available() is False: no NVIDIA "
                "driver or no device). numba-cuda is installed; if the CUDA libraries are missing, "
                f"install them with: {INSTALL_HINT}. Use the cpu target (fastrelu.<name>) instead."
            )
            raise CudaUnavailableError(_backend_state["error"])
        be = _Backend(cuda, ck)
        _backend_state["be"] = be
        return be


class _Backend:
    def __init__(self, cuda, ck):
        self.cuda = cuda
        self.ck = ck
        self.sim = ck.SIM
        mode = os.environ.get("FASTRELU_CUDA_LAUNCH", "fast")
        if mode not in ("fast", "public"):
            raise ValueError(f"FASTRELU_CUDA_LAUNCH must be 'fast' or 'public', got {mode!r}")
        self.mode = "sim" if self.sim else mode
        self.max_blocks: dict = {}
        self.streams: dict = {}
        self.configs: dict = {}
        if self.mode == "fast":
            try:
                from cuda.core import LaunchConfig, launch
                from numba.cuda.cudadrv.driver import _to_core_stream

                self._launch, self._LaunchConfig, self._to_core = launch, LaunchConfig, _to_core_stream
                ctx = cuda.descriptor.cuda_target.target_context
                fields = _compat.array_arg_fields(ctx.data_model_manager)
                if fields != _compat.ARRAY_ARG_FIELDS:
                    raise ImportError(f"numba-cuda's array arguments are {fields}, not the layout built here")
            except (ImportError, AttributeError) as e:  # pragma: no cover - depends on the numba-cuda release
                warnings.warn(
                    f"fastrelu.cuda: fast launch path unavailable ({e}); using Numba's public API",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self.mode = "public"

    # -- launch configuration ------------------------------------------------
    def config(self, n: int, device: int):
        if self.sim:
            return max(1, min(2, -(-n // 32))), 32
        mb = self.max_blocks.get(device)
        if mb is None:
            with self.cuda.gpus[device]:
                sms = self.cuda.get_current_device().MULTIPROCESSOR_COUNT
            mb = self.max_blocks[device] = sms * _tuning.value("cuda_blocks_per_sm")
        return max(1, min(mb, -(-n // 256))), 256

    def core_stream(self, handle: int):
        s = self.streams.get(handle)
        if s is None:
            if handle == 0:
                s = self._to_core(0)
            else:
                s = self._to_core(self.numba_stream(handle))
            self.streams[handle] = s
        return s

    def numba_stream(self, handle: int):
        cuda = self.cuda
        if handle == 0:
            return 0
        if handle == 1:
            return cuda.legacy_default_stream()
        if handle == 2:
            return cuda.per_thread_default_stream()
        return cuda.external_stream(handle)


def is_available() -> bool:
    """True if numba-cuda imports and a GPU is usable (initialises the driver)."""
    try:
        _backend()
    except CudaUnavailableError:
        return False
    return True


def status() -> str:
    """A one-line CUDA status for :func:`fastrelu.show_config` (initialises the driver)."""
    try:
        import numba_cuda  # noqa: F401
        from numba import cuda
    except ImportError:
        return f"numba-cuda not installed ({INSTALL_HINT})"
    try:
        from importlib.metadata import version

        ver = version("numba-cuda")
    except Exception:  # pragma: no cover
        ver = "?"
    if _sim_enabled():
        return f"numba-cuda {ver}, simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        if not cuda.is_available():
            return f"numba-cuda {ver}, no GPU found"
        names = [d.name.decode() if isinstance(d.name, bytes) else str(d.name) for d in cuda.gpus]
    except Exception as e:  # pragma: no cover - driver problems are reported, not raised
        return f"numba-cuda {ver}, unavailable ({e})"
    be = _backend_state.get("be")
    mode = be.mode if be is not None else os.environ.get("FASTRELU_CUDA_LAUNCH", "fast")
    return f"numba-cuda {ver}, {len(names)} GPU(s): {', '.join(names)}; launch path: {mode}"


# --------------------------------------------------------------------------
# operands: (ptr, shape, byte strides or None, dtype name, itemsize, producer)
# --------------------------------------------------------------------------


class _Arr:
    __slots__ = ("device", "isz", "kind", "obj", "producer", "ptr", "shape", "stream", "strides")

    def __init__(self, ptr, shape, strides, kind, isz, producer, obj, device, stream):
        self.ptr = ptr
        self.shape = shape
        self.strides = strides
        self.kind = kind
        self.isz = isz
        self.producer = producer
        self.obj = obj
        self.device = device
        self.stream = stream


_TORCH_KINDS: dict = {}


def _torch_kinds():
    if not _TORCH_KINDS:
        import torch

        for name in (
            "float16",
            "float32",
            "float64",
            "bfloat16",
            "int8",
            "uint8",
            "int16",
            "int32",
            "int64",
            "bool",
        ):
            _TORCH_KINDS[getattr(torch, name)] = name
        for name in ("uint16", "uint32", "uint64"):
            if hasattr(torch, name):
                _TORCH_KINDS[getattr(torch, name)] = name
    return _TORCH_KINDS


def _describe_torch(t):
    if not t.is_cuda:
        return None
    kind = _torch_kinds().get(t.dtype)
    if kind is None:
        raise TypeError(f"fastrelu.cuda: unsupported torch dtype {t.dtype}")
    isz = t.element_size()
    strides = None if t.is_contiguous() else tuple(s * isz for s in t.stride())
    return _Arr(t.data_ptr(), tuple(t.shape), strides, kind, isz, "torch", t, t.device.index, None)


def _describe_cupy(a):
    dt = a.dtype
    return _Arr(
        a.data.ptr,
        a.shape,
        None if a.flags.c_contiguous else a.strides,
        dt.name,
        dt.itemsize,
        "cupy",
        a,
        a.device.id,
        None,
    )


def _describe_cai(a, producer="cai"):
    d = a.__cuda_array_interface__
    if d.get("mask") is not None:
        raise TypeError("fastrelu.cuda: masked arrays (__cuda_array_interface__ 'mask') are not supported")
    typestr = d["typestr"]
    if typestr in ("<V2", "|V2"):
        raise TypeError(
            f"fastrelu.cuda: 2-byte void typestr {typestr!r} from {type(a).__name__}: only PyTorch "
            "tensors are read as bfloat16"
        )
    dt = np.dtype(typestr)
    if not dt.isnative:
        raise TypeError(f"fastrelu.cuda: non-native byte order {typestr!r} is not supported")
    shape = tuple(d["shape"])
    return _Arr(
        d["data"][0], shape, d.get("strides"), dt.name, dt.itemsize, producer, a, None, d.get("stream")
    )


def _describe_sim(a):
    ary = a._ary
    dt = ary.dtype
    return _Arr(
        ary.ctypes.data,
        ary.shape,
        None if ary.flags.c_contiguous else ary.strides,
        dt.name,
        dt.itemsize,
        "numba",
        a,
        None,
        None,
    )


_DESCRIBERS: dict = {}


def _describer(tp):
    f = _DESCRIBERS.get(tp)
    if f is None:
        mod = tp.__module__.split(".")[0]
        if mod == "torch":
            f = _describe_torch
        elif mod == "cupy" or mod == "cupy_backends":
            f = _describe_cupy
        elif tp.__name__ == "FakeCUDAArray":
            f = _describe_sim
        elif mod in ("numba", "numba_cuda"):
            f = functools.partial(_describe_cai, producer="numba")
        else:
            f = _describe_cai
        _DESCRIBERS[tp] = f
    return f


def _describe(a):
    """An :class:`_Arr` for a device array, ``None`` for anything else."""
    tp = type(a)
    if tp is np.ndarray or isinstance(a, (Number, np.generic)):
        return None
    f = _DESCRIBERS.get(tp)
    if f is None:
        if tp.__name__ != "FakeCUDAArray" and not hasattr(a, "__cuda_array_interface__"):
            mod = tp.__module__.split(".")[0]
            if mod != "torch":
                return None
        f = _describer(tp)
    return f(a)


def _c_strides(shape, isz):
    st = []
    acc = isz
    for n in reversed(shape):
        st.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(st))


def _is_c(a: _Arr, shape) -> bool:
    if a.shape != shape:
        return False
    if a.strides is None:
        return True
    return all(n <= 1 or s == c for n, s, c in zip(shape, a.strides, _c_strides(shape, a.isz), strict=False))


def _span(a: _Arr, shape):
    """(base ptr, length in elements, element offset, element strides) for broadcast *shape*."""
    nd = len(shape)
    isz = a.isz
    strides = a.strides if a.strides is not None else _c_strides(a.shape, isz)
    pad = nd - len(a.shape)
    st = [0] * pad
    for n, s in zip(a.shape, strides, strict=False):
        if n == 1:
            st.append(0)
        else:
            if s % isz:
                raise ValueError("fastrelu.cuda: strides that are not a multiple of the itemsize")
            st.append(s // isz)
    lo = sum(s * (n - 1) for s, n in zip(st, shape, strict=False) if s < 0)
    hi = sum(s * (n - 1) for s, n in zip(st, shape, strict=False) if s > 0)
    return a.ptr + lo * isz, hi - lo + 1, -lo, tuple(st)


# --------------------------------------------------------------------------
# dtype resolution
# --------------------------------------------------------------------------

_FLOAT_NAMES = tuple(d.name for d in FLOAT_DTYPES)


def _resolve(uf, kinds, scalars):
    """(result dtype name, computation dtype name) like the cpu target's loops."""
    nd = uf._ndata
    data = [k for k in kinds[:nd] if k is not None]
    arrays = [k for k in kinds if k is not None]
    if BF16 in arrays:
        if any(k != BF16 for k in data):
            raise TypeError("fastrelu.cuda: bfloat16 can only be combined with bfloat16 arrays")
        return BF16, "float32"
    for k in arrays:
        if np.dtype(k).kind not in "biuf":
            raise TypeError(
                f"ufunc '{uf.__name__}' does not support the input type {k}; supported dtypes: "
                + ", ".join(str(d) for d in uf.supported_dtypes)
            )
    dts = [np.dtype(k) for k in data]
    if not dts:  # x a scalar, g an array (or the reverse): promote with the scalar
        dts = [np.result_type(*scalars[:nd])]
    base = np.result_type(*dts)
    if base.kind == "f":
        # the cpu target casts parameters to x's float dtype
        rd = base.name
    elif uf.kind == "forward" and uf.spec.int_exact:
        # integer-exact rows: NumPy's promotion over every operand (Python scalars weak)
        prom = np.result_type(*[np.dtype(k) for k in arrays], *[s for s in scalars if s is not None])
        loops = INT_DTYPES + FLOAT_DTYPES
        rd = next((t.name for t in loops if np.can_cast(prom, t, "safe")), "float64")
    else:
        # integer/bool data: parameters never promote; the first float loop every
        # data input casts to safely, as the cpu target (Ufunc._prepare) and np.exp
        rd = next((t.name for t in FLOAT_DTYPES if all(np.can_cast(d, t) for d in dts)), "float64")
    ct = "float32" if rd == "float16" else rd
    return rd, ct


# --------------------------------------------------------------------------
# compiled kernels
# --------------------------------------------------------------------------


class _Compiled:
    """One specialised kernel: signature, dispatcher, per-device function handles."""

    def __init__(self, be, fn, sig):
        self.be = be
        self.sig = sig
        cuda = be.cuda
        if be.sim:
            self.disp = cuda.jit(fn)
        else:
            self.disp = cuda.jit(sig)(fn)
        self.kernels: dict = {}

    def function(self, device):
        """The cuda.core kernel handle for *device* (fast path)."""
        k = self.kernels.get(device)
        if k is None:
            cuda = self.be.cuda
            kern = self.disp.overloads[tuple(self.sig.args)]
            with cuda.gpus[device]:
                k = kern._codelibrary.get_cufunc().kernel
            self.kernels[device] = k
        return k


def kernel_source(name: str, ct: str, in_kinds: tuple, out_kind: str, contiguous: bool, ndim: int):
    """(python kernel function, numba signature) for one specialisation.

    Needs numba-cuda but no GPU: the tests compile these with
    ``numba.cuda.compile_ptx`` in CPU-only CI.
    """
    from numba.cuda import types as nt
    from numba.cuda.np.numpy_support import from_dtype

    from fastrelu import _cuda_kernels as ck

    spec = BY_NAME[_row_name(name)]
    kind = _kind_of(name)
    kernel = spec.kernel(kind)
    dev = ck.device_function(kernel)
    lds = tuple(ck.loader(k, ct) for k in in_kinds)
    fn = ck.make_kernel(dev, len(in_kinds), contiguous, lds, ck.storer(out_kind))

    def arr(k):
        return nt.Array(nt.uint16 if k == BF16 else from_dtype(np.dtype(k)), 1, "C")

    cty = from_dtype(np.dtype(ct))
    i64 = nt.int64
    tup = nt.UniTuple(i64, ndim)
    args = [arr(out_kind)]
    if not contiguous:
        args += [tup, i64]
    for k in in_kinds:
        args.append(cty if k is None else arr(k))
        if not contiguous:
            args += [tup, i64]
    if not contiguous:
        args.append(tup)
    args.append(i64)
    return fn, nt.void(*args)


@functools.cache
def _compiled(name: str, ct: str, in_kinds: tuple, out_kind: str, contiguous: bool, ndim: int):
    be = _backend()
    with _lock:
        fn, sig = kernel_source(name, ct, in_kinds, out_kind, contiguous, ndim)
        return _Compiled(be, fn, sig)


def _row_name(name):
    for suffix in ("_grad_from_output", "_grad"):
        if name.endswith(suffix) and name[: -len(suffix)] in BY_NAME:
            return name[: -len(suffix)]
    return name


def _kind_of(name):
    if name.endswith("_grad_from_output"):
        return "grad_from_output"
    if name.endswith("_grad") and name[:-5] in BY_NAME:
        return "grad"
    return "forward"


# --------------------------------------------------------------------------
# launching
# --------------------------------------------------------------------------

_CTYPES = {
    "float32": ctypes.c_float,
    "float64": ctypes.c_double,
    "int8": ctypes.c_int8,
    "uint8": ctypes.c_uint8,
    "int16": ctypes.c_int16,
    "uint16": ctypes.c_uint16,
    "int32": ctypes.c_int32,
    "uint32": ctypes.c_uint32,
    "int64": ctypes.c_int64,
    "uint64": ctypes.c_uint64,
    "bool": ctypes.c_bool,
}


def _fast_launch(be, comp, device, stream, grid, block, items):
    """Launch with a hand-built argument list (see the module docstring)."""
    kargs = []
    for it in items:
        tag = it[0]
        if tag == "a":  # 1-D C array: meminfo, parent, size, itemsize, data, shape, stride
            _, ptr, n, isz = it
            kargs += (0, 0, n, isz, ptr, n, isz)
        elif tag == "s":
            kargs.append(_CTYPES[it[2]](it[1]))
        elif tag == "t":
            kargs += [ctypes.c_int64(v) for v in it[1]]
        else:  # "i"
            kargs.append(ctypes.c_int64(it[1]))
    cfg = be.configs.get((grid, block))
    if cfg is None:
        cfg = be.configs[(grid, block)] = be._LaunchConfig(grid=grid, block=block)
    be._launch(be.core_stream(stream), cfg, comp.function(device), *kargs)


def _np_view(ptr, n, kind):
    """Host view of simulator memory (the simulator's "device" pointers are host pointers)."""
    dt = np.dtype(np.uint16 if kind == BF16 else kind)
    if n == 0:
        return np.empty(0, dt)
    buf = (ctypes.c_char * (n * dt.itemsize)).from_address(ptr)
    return np.frombuffer(buf, dtype=dt)


def _call_args(be, items, kinds_by_item):
    """Argument objects for the public / simulator launch."""
    cuda = be.cuda
    args = []
    for it, kind in zip(items, kinds_by_item, strict=False):
        tag = it[0]
        if tag == "a":
            _, ptr, n, _isz = it
            if be.sim:
                args.append(_np_view(ptr, n, kind))
            else:
                typestr = "<u2" if kind == BF16 else np.dtype(kind).str
                desc = {
                    "shape": (n,),
                    "strides": None,
                    "typestr": typestr,
                    "data": (ptr, False),
                    "version": 3,
                    "stream": None,
                }
                args.append(cuda.from_cuda_array_interface(desc, owner=None, sync=False))
        elif tag == "s":
            args.append(getattr(np, it[2])(it[1]))
        elif tag == "t":
            args.append(tuple(np.int64(v) for v in it[1]))
        else:
            args.append(np.int64(it[1]))
    return args


def _stream_handle(stream) -> int:
    if stream is None or stream == 0:
        return 0
    if isinstance(stream, int):
        return stream
    for attr in ("cuda_stream", "ptr"):  # torch, cupy
        v = getattr(stream, attr, None)
        if isinstance(v, int):
            return v
    h = getattr(stream, "handle", None)  # numba
    if h is not None:
        v = getattr(h, "value", h)
        try:
            return int(v or 0)
        except TypeError:
            pass
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    raise TypeError(f"fastrelu.cuda: cannot use {type(stream).__name__} as a stream")


def _producer_stream(x: _Arr) -> int:
    if x.producer == "torch":
        import torch

        return torch.cuda.current_stream(x.device).cuda_stream
    if x.producer == "cupy":
        import cupy

        return cupy.cuda.get_current_stream().ptr
    s = x.stream
    return 0 if s is None else int(s)


def _allocate(be, x: _Arr, shape, kind, stream):
    if x.producer == "torch":
        import torch

        dt = getattr(torch, kind)
        return torch.empty(shape, dtype=dt, device=x.obj.device)
    if kind == BF16:  # pragma: no cover - bfloat16 is only read from torch
        raise TypeError("fastrelu.cuda: bfloat16 output needs a torch input")
    if x.producer == "cupy":
        import cupy

        if x.device != cupy.cuda.runtime.getDevice():
            with cupy.cuda.Device(x.device):
                return cupy.empty(shape, dtype=kind)
        return cupy.empty(shape, dtype=kind)
    cuda = be.cuda
    if be.sim:
        return cuda.device_array(shape, dtype=kind)
    return cuda.device_array(shape, dtype=kind, stream=be.numba_stream(stream))


def _is_scalar(p) -> bool:
    return isinstance(p, (Number, np.generic)) or (type(p) is np.ndarray and p.ndim == 0)


def _launch(uf: CudaUfunc, args, out, stream, copy_host):
    be = _backend()
    descs = []
    kinds = []
    scalars = []
    host_copy = False
    for a in args:
        if _is_scalar(a):
            v = a.item() if hasattr(a, "item") else a
            descs.append(None)
            kinds.append(None)
            scalars.append(v)
            continue
        d = _describe(a)
        if d is None:
            if not copy_host:
                raise TypeError(
                    f"fastrelu.cuda.{uf.__name__}: got a host {type(a).__name__}; pass a device array "
                    "(CuPy, PyTorch CUDA tensor, Numba device array), use the cpu target "
                    f"(fastrelu.{uf.__name__}), or pass copy_host=True to copy it to the device and back"
                )
            host_copy = True
            d = _describe(be.cuda.to_device(np.ascontiguousarray(a)))
        descs.append(d)
        kinds.append(d.kind)
        scalars.append(None)
    x = next((d for d in descs if d is not None), None)
    if x is None:
        raise TypeError(f"fastrelu.cuda.{uf.__name__}: at least one operand must be a device array")
    rd, ct = _resolve(uf, kinds, scalars)
    shape = np.broadcast_shapes(*[d.shape for d in descs if d is not None])
    if stream is None:
        stream_h = _producer_stream(x)
    else:
        stream_h = _stream_handle(stream)
    # output
    if isinstance(out, tuple):
        if len(out) != 1:
            raise ValueError("out must be a single array (or a 1-tuple)")
        out = out[0]
    if out is None:
        out_obj = _allocate(be, x, shape, rd, stream_h)
        od = _describe(out_obj)
    else:
        od = _describe(out)
        if od is None:
            raise TypeError(f"fastrelu.cuda.{uf.__name__}: out= must be a device array")
        if od.shape != shape:
            raise ValueError(
                f"fastrelu.cuda.{uf.__name__}: out has shape {od.shape}, the result has shape {shape}"
            )
        if rd in _FLOAT_NAMES or rd == BF16:
            if od.kind not in _FLOAT_NAMES and od.kind != BF16:
                raise TypeError(f"cannot write a {rd} result into out of dtype {od.kind}")
        elif od.kind != rd:
            raise TypeError(f"out must have dtype {rd} for these inputs, got {od.kind}")
        out_obj = out
    n = math.prod(shape)
    if n:
        contiguous = _is_c(od, shape) and all(d is None or _is_c(d, shape) for d in descs)
        in_kinds = tuple(kinds)
        comp = _compiled(uf.__name__, ct, in_kinds, od.kind, contiguous, 0 if contiguous else len(shape))
        items = []
        ikinds = []
        if contiguous:
            items.append(("a", od.ptr, n, od.isz))
            ikinds.append(od.kind)
            for d, v in zip(descs, scalars, strict=False):
                if d is None:
                    items.append(("s", v, ct))
                else:
                    items.append(("a", d.ptr, n, d.isz))
                ikinds.append(None if d is None else d.kind)
        else:
            zeros = (0,) * len(shape)
            for i, d in enumerate([od, *descs]):
                if d is None:
                    items += [("s", scalars[i - 1], ct), ("t", zeros), ("i", 0)]
                    ikinds += [None, None, None]
                else:
                    base, length, off, st = _span(d, shape)
                    items += [("a", base, length, d.isz), ("t", st), ("i", off)]
                    ikinds += [d.kind, None, None]
            items.append(("t", tuple(shape)))
            ikinds.append(None)
        items.append(("i", n))
        ikinds.append(None)
        device = x.device if x.device is not None else 0
        grid, block = be.config(n, device)
        if be.mode == "fast":
            _fast_launch(be, comp, device, stream_h, grid, block, items)
        else:
            call_args = _call_args(be, items, ikinds)
            if be.sim:
                comp.disp[grid, block](*call_args)
            else:
                with be.cuda.gpus[device]:
                    comp.disp[grid, block, be.numba_stream(stream_h)](*call_args)
    if host_copy and out is None:
        return out_obj.copy_to_host()
    return out_obj


# --------------------------------------------------------------------------
# the public objects
# --------------------------------------------------------------------------

_OWN_KWARGS = frozenset({"out", "stream", "copy_host"})


class CudaUfunc(Ufunc):
    """An activation for device arrays (see the module docstring).

    Same call signature as the cpu target, plus ``stream=`` and
    ``copy_host=``; ``out=`` is supported, the other ufunc keywords
    (``where=``, ``dtype=``, ``casting=``, ``order=``) are not.
    """

    _fast_call = False  # its own __call__ (device arrays, stream=, copy_host=)

    def __init__(self, spec, kind="forward"):
        super().__init__(spec, kind, "cuda")

    def __call__(self, *args, **kwargs):
        out = stream = None
        copy_host = False
        if kwargs:
            kwargs = dict(kwargs)
            if "approximate" in kwargs and self._variants:
                approx = kwargs.pop("approximate")
                if approx not in self._variants:
                    raise ValueError(
                        f"{self.__name__}: approximate must be one of {sorted(self._variants)}, "
                        f"got {approx!r}"
                    )
                row = self._variants[approx]
                if row != self.spec.name:
                    name = row if self.kind == "forward" else f"{row}_{self.kind}"
                    return globals()[name](*args, **kwargs)
            stream = kwargs.pop("stream", None)
            copy_host = kwargs.pop("copy_host", False)
            for k in kwargs:
                if k in UFUNC_KWARGS and k != "out":
                    raise TypeError(f"{self.__name__}() on the cuda target does not support {k}=")
        if len(args) != self._nargs or kwargs:
            args, kw = self._bind(args, kwargs)
            out = kw.get("out")
        elif self._nargs > self._ndata:
            args, _ = self._prepare(args, {}, True)
        return _launch(self, args, out, stream, copy_host)

    def _prepare(self, args, kwargs, positional):
        nd = self._ndata
        params = args[nd:]
        # scalars and host arrays are checked; device parameters would need a copy
        if self._check is not None and all(_is_scalar(p) or type(p) is np.ndarray for p in params):
            self._check(*params)
        if positional and self._is_prelu:
            w = args[nd]
            wn = getattr(w, "ndim", 0)
            if wn > 1 or (wn == 1 and w.shape[0] != 1):  # > 1-D raises, as PyTorch
                args = (*args[:nd], _prelu_weight(args[0], w, self._axis))
        return args, kwargs

    def _to_cuda(self, args, kwargs):  # pragma: no cover - never reached: __call__ is overridden
        raise TypeError("internal: cuda routing loop")

    def precompile(self, dtypes=("float32", "float64")) -> None:
        """Compile the contiguous kernels for *dtypes* (array x, scalar params)."""
        for dt in dtypes:
            ct = "float32" if dt in ("float16", BF16) else dt
            kinds = (dt,) * self._ndata + (None,) * (self._nargs - self._ndata)
            comp = _compiled(self.__name__, ct, kinds, dt, True, 0)
            if not comp.be.sim:
                dev = comp.be.cuda.get_current_device().id
                if comp.be.mode == "fast":
                    comp.function(dev)


def _make(name: str, kind: str = "forward") -> CudaUfunc:
    return CudaUfunc(BY_NAME[name], kind)


__all__, __getattr__, __dir__ = namespace(__name__, _make, _EXTRAS)
# Every table function exists from import on (CudaUfunc's ``approximate=`` dispatch reads
# this module's globals); making one compiles nothing and needs no GPU.
for _name in public_names():
    __getattr__(_name)
del _name
