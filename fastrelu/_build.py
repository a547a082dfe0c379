"""The one place where kernels become NumPy ufuncs.

``build_ufunc(kernel, name, nin, dtypes)`` compiles a plain scalar kernel from
:mod:`fastrelu._kernels` into one vectorised ``@cfunc`` loop per dtype (see
"The loop around a kernel" below) and assembles a **real**
:class:`numpy.ufunc` from the loops, using NumPy's own C API
(``PyUFunc_FromFuncAndData``) through ``ctypes``.

Why not ``numba.vectorize``?

* Numba 0.68 returns a ``DUFunc`` even for eager signatures, and both it and the
  ufunc Numba's ``_internal.fromfunc`` builds reject ``where=`` with an array
  mask.  A ufunc made by NumPy itself supports every ufunc feature: ``where=``,
  ``out=``, ``dtype=``, ``casting=``, ``order=``, NEP 50 weak scalars and
  ``__array_ufunc__`` overrides (dask, xarray, ...).
* float16: Numba cannot compute in float16 on the CPU.  We compile the float32
  kernel behind a ``uint16 -> uint16`` wrapper that widens the half-precision
  bits exactly, computes in float32 and rounds once (round-to-nearest-even),
  and register that loop under NumPy's float16 type number.  NumPy's type
  resolution then behaves as for ``np.exp``: int8/uint8/bool -> float16,
  int16 -> float32, int32/int64 -> float64.
* Floating-point flags: vectorised compares raise the FPU "invalid" flag on
  NaN lanes, which NumPy reports as ``RuntimeWarning: invalid value``.  Every
  activation defines its result for every input (NaN in, NaN out), so each
  loop is entered through a tiny trampoline that calls the compiled loop and
  then clears the floating-point exception flags, as NumPy's own
  ``np.maximum`` loops do.

Compile options are pinned here (``_TARGET_OPTIONS``).  ``fastmath`` is never
enabled: ``nnan``/``ninf`` would let LLVM drop the NaN/inf handling that the
semantics require.  ``cache=True`` stores compiled kernels in Numba's on-disk
cache (``NUMBA_CACHE_DIR`` is honoured), so later processes (dask workers,
test runs) skip LLVM compilation.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import platform
import threading
import types as pytypes
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, prange, types
from numba.core.compiler_lock import global_compiler_lock
from numba.core.errors import NumbaIRAssumptionWarning
from numba.core.registry import cpu_target
from numba.extending import intrinsic, overload

from fastrelu import _compat

__all__ = [
    "CHUNK_TEMPLATE",
    "STREAM_TEMPLATE",
    "RUN_TEMPLATES",
    "STREAM_OK",
    "TARGET_OPTIONS",
    "build_ufunc",
    "f16_to_f32",
    "f32_to_f16",
    "inline_kernel",
]

#: Options every CPU compilation uses.  No fastmath: NaN/inf must survive.
TARGET_OPTIONS: dict = {"error_model": "numpy"}
_CACHE = True


def interleave_count(kernel: Callable) -> int:
    """The LLVM interleave count forced on the loops of *kernel*: the tuning
    table's entry for this host (:func:`fastrelu._tuning.interleave`), 0 (LLVM's
    choice) for kernels outside the activation table."""
    from fastrelu._spec import family_of
    from fastrelu._tuning import interleave

    family = family_of(kernel)
    return 0 if family is None else interleave(kernel.__name__, family)


@contextlib.contextmanager
def interleaved(count: int):
    """Compile with LLVM's loop interleave count forced to *count* (0: no change).

    LLVM options are process-wide: the option is set and reset to its default
    while holding Numba's compiler lock, so only compilations inside the block
    see it.
    """
    if not count:
        yield
        return
    with global_compiler_lock:
        llvm.set_option("fastrelu", f"-force-vector-interleave={count}")
        try:
            yield
        finally:
            llvm.set_option("fastrelu", "-force-vector-interleave=0")


_lock = threading.RLock()

# --------------------------------------------------------------------------
# float16 <-> float32 bit conversions (scalar, vectorisable, exact RNE)
# --------------------------------------------------------------------------


@intrinsic
def _u32_as_f32(typingctx, v):
    sig = types.float32(types.uint32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def _f32_as_u32(typingctx, v):
    sig = types.uint32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


_TWO_M24 = np.float32(2.0**-24)
_DENORM_MAGIC = np.float32(0.5)  # ((127 - 15) + (23 - 10) + 1) << 23
_DENORM_MAGIC_BITS = np.uint32(126 << 23)


@njit(inline="always", cache=_CACHE, **TARGET_OPTIONS)
def f16_to_f32(h):
    """Exact widening of IEEE binary16 bits (uint16) to float32."""
    h32 = np.uint32(h)
    sign = (h32 & np.uint32(0x8000)) << np.uint32(16)
    e = (h32 >> np.uint32(10)) & np.uint32(0x1F)
    m = h32 & np.uint32(0x3FF)
    if e == 0:
        # zero or subnormal: m * 2**-24 is exact in float32
        v = np.float32(m) * _TWO_M24
        return -v if sign != 0 else v
    if e == 31:
        bits = sign | np.uint32(0x7F800000) | (m << np.uint32(13))
    else:
        bits = sign | ((e + np.uint32(112)) << np.uint32(23)) | (m << np.uint32(13))
    return _u32_as_f32(bits)


@njit(inline="always", cache=_CACHE, **TARGET_OPTIONS)
def f32_to_f16(f):
    """Round float32 to IEEE binary16 bits (uint16), round-to-nearest-even.

    NaN payloads are kept as ``ndarray.astype(np.float16)`` keeps them.
    """
    u = _f32_as_u32(np.float32(f))
    sign = (u >> np.uint32(16)) & np.uint32(0x8000)
    a = u & np.uint32(0x7FFFFFFF)
    if a >= np.uint32(0x47800000):  # >= 65536.0, inf or nan
        if a > np.uint32(0x7F800000):
            o = np.uint32(0x7C00) + ((a & np.uint32(0x7FFFFF)) >> np.uint32(13))
            if o == np.uint32(0x7C00):
                o += np.uint32(1)
        else:
            o = np.uint32(0x7C00)
    elif a < np.uint32(113 << 23):  # half subnormal or zero
        s = _u32_as_f32(a) + _DENORM_MAGIC
        o = _f32_as_u32(s) - _DENORM_MAGIC_BITS
    else:
        odd = (a >> np.uint32(13)) & np.uint32(1)
        a2 = a + np.uint32(((15 - 127) << 23) & 0xFFFFFFFF) + np.uint32(0xFFF) + odd
        o = a2 >> np.uint32(13)
    return np.uint16(o | sign)


# The float16 loop of a kernel K is one of these templates, copied with ``_k``
# bound to K (see ``_half_loop``): a plain module-level function, not a
# closure, so that Numba's on-disk cache can store it.


def _half1(a):
    return f32_to_f16(_k(f16_to_f32(a)))  # noqa: F821 (bound per kernel)


def _half2(a, b):
    return f32_to_f16(_k(f16_to_f32(a), f16_to_f32(b)))  # noqa: F821


def _half3(a, b, c):
    return f32_to_f16(_k(f16_to_f32(a), f16_to_f32(b), f16_to_f32(c)))  # noqa: F821


def _half4(a, b, c, d):
    return f32_to_f16(_k(f16_to_f32(a), f16_to_f32(b), f16_to_f32(c), f16_to_f32(d)))  # noqa: F821


_HALF_TEMPLATES = {1: _half1, 2: _half2, 3: _half3, 4: _half4}


def _source_hash() -> str:
    """Hash of the sources every compiled kernel depends on.

    Numba's cache only notices edits to the file that defines a function, not
    to the functions it calls (``_approx``) or to the templates here; the hash
    goes into each compiled function's cache name so that any edit to these
    files gives fresh cache entries instead of stale machine code.
    """
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("_kernels.py", "_approx.py", "_build.py"):
        h.update((here / name).read_bytes())
    h.update(np.__version__.encode())
    return h.hexdigest()[:12]


SOURCE_HASH = _source_hash()


_compat.install_cache_lock(SOURCE_HASH)


def cacheable(fn: Callable, name: str | None = None, **bind) -> Callable:
    """A copy of *fn* whose qualified name carries :data:`SOURCE_HASH`.

    ``bind`` adds globals (used to bind ``_k`` in the float16 templates).
    """
    glb = fn.__globals__ if not bind else {**fn.__globals__, **bind}
    qual = f"{name or fn.__name__}_{SOURCE_HASH}"
    new = pytypes.FunctionType(fn.__code__, glb, qual, fn.__defaults__, fn.__closure__)
    new.__qualname__ = qual
    new.__module__ = fn.__module__
    new.__doc__ = fn.__doc__
    return new


# --------------------------------------------------------------------------
# Trampolines: call the Numba loop, then clear the FP exception flags
# --------------------------------------------------------------------------

# FE_ALL_EXCEPT per architecture (glibc / macOS values); clearing bits the
# platform does not define is harmless.
_FE_ALL_EXCEPT = {"x86_64": 0x3F, "amd64": 0x3F, "i386": 0x3F, "i686": 0x3F}.get(
    platform.machine().lower(), 0x9F
)

_tramp_lib = None
_tramp_ptr = 0


def _trampoline() -> int:
    """Address of ``void tramp(char** args, intp* dims, intp* steps, void* data)``.

    ``data`` points to three int64: the address of the real (``@cfunc``)
    loop -- or, until that loop is compiled, of the compiling stub (see
    :class:`_LazyLoop`) --, the number of inputs, and the output itemsize.
    The trampoline

    * calls the loop directly when the output is contiguous;
    * otherwise calls it one element at a time, so that the loop only ever
      writes a contiguous output;
    * then clears the floating-point exception flags (``feclearexcept``).

    One trampoline serves every loop of every ufunc.
    """
    global _tramp_lib, _tramp_ptr
    if _tramp_ptr:
        return _tramp_ptr
    from numba.core import cgutils

    ctx = cpu_target.target_context
    i8p = ir.IntType(8).as_pointer()
    i64 = ir.IntType(64)
    intp = ir.IntType(64 if np.dtype(np.intp).itemsize == 8 else 32)
    loopty = ir.FunctionType(ir.VoidType(), [i8p.as_pointer(), intp.as_pointer(), intp.as_pointer(), i8p])
    lib = ctx.codegen().create_library("fastrelu_trampoline")
    mod = lib.create_ir_module("fastrelu_trampoline")
    fe = ir.Function(mod, ir.FunctionType(ir.IntType(32), [ir.IntType(32)]), "feclearexcept")
    fn = ir.Function(mod, loopty, "fastrelu_loop_trampoline")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    args, dims, steps, data = fn.args
    info = b.bitcast(data, i64.as_pointer())
    nin = (
        b.trunc(b.load(b.gep(info, [ir.Constant(i64, 1)])), intp)
        if intp.width < 64
        else b.load(b.gep(info, [ir.Constant(i64, 1)]))
    )
    osize = b.load(b.gep(info, [ir.Constant(i64, 2)]))
    ostep = b.load(b.gep(steps, [nin]))
    contiguous = b.icmp_signed("==", b.sext(ostep, i64) if intp.width < 64 else ostep, osize)
    with b.if_else(contiguous, likely=True) as (fast, slow):
        with fast:
            b.call(b.inttoptr(b.load(info), loopty.as_pointer()), [args, dims, steps, data])
        with slow:
            local = b.alloca(i8p, size=ir.Constant(ir.IntType(32), 8))
            one = b.alloca(intp)
            b.store(ir.Constant(intp, 1), one)
            n = b.load(dims)
            nargs = b.add(nin, ir.Constant(intp, 1))
            with cgutils.for_range(b, n, intp=intp) as outer:
                with cgutils.for_range(b, nargs, intp=intp) as k:
                    base = b.load(b.gep(args, [k.index]))
                    step = b.load(b.gep(steps, [k.index]))
                    b.store(b.gep(base, [b.mul(outer.index, step)]), b.gep(local, [k.index]))
                # reloaded per element: the first call of a lazy loop replaces it
                b.call(b.inttoptr(b.load(info), loopty.as_pointer()), [local, one, steps, data])
    b.call(fe, [ir.Constant(ir.IntType(32), _FE_ALL_EXCEPT)])
    b.ret_void()
    lib.add_ir_module(mod)
    lib.finalize()
    _tramp_lib = lib
    _tramp_ptr = lib.get_pointer_to_function("fastrelu_loop_trampoline")
    return _tramp_ptr


# --------------------------------------------------------------------------
# The loop around a kernel: a C-callable ``@cfunc`` with the kernel inlined
# --------------------------------------------------------------------------
#
# The loop is a ``@cfunc`` calling the kernel compiled with ``forceinline``
# (LLVM ``alwaysinline``, see :func:`inline_kernel`), so that the kernel is
# inlined and vectorised whatever its size (``numba.vectorize`` leaves that to
# LLVM's cost model, and vectorises only when every input is contiguous:
# ``docs/design.md``), with one vectorisable loop per stride pattern:
#
# * data contiguous, parameters stride 0 (every plain call; prelu's channel
#   weight within a row);
# * all inputs contiguous (same-shape parameter arrays);
# * anything else: element by element with byte strides.
#
# It receives NumPy's ``(char **args, npy_intp *dims, npy_intp *steps, void
# *data)`` and is reached through the trampoline above, so the output it
# sees is always contiguous.


@intrinsic
def _as(typingctx, ptr, dt):
    """``ptr`` (void*) as a pointer to the element type *dt*."""
    ty = dt.instance_type
    sig = types.CPointer(ty)(ptr, dt)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_data_type(ty).as_pointer())

    return sig, codegen


@intrinsic
def _ld(typingctx, ptr, offset, dt):
    """The *dt* element at byte offset *offset* from ``ptr`` (void*)."""
    ty = dt.instance_type
    sig = ty(ptr, offset, dt)

    def codegen(context, builder, signature, args):
        base, off, _ = args
        addr = builder.gep(builder.bitcast(base, ir.IntType(8).as_pointer()), [off])
        raw = builder.load(builder.bitcast(addr, context.get_data_type(ty).as_pointer()))
        return context.data_model_manager[ty].from_data(builder, raw)

    return sig, codegen


def _at(v, i):  # pragma: no cover - replaced by the overload in jitted code
    return v[i] if isinstance(v, np.ndarray) else v


@overload(_at, inline="always")
def _at_overload(v, i):
    if isinstance(v, types.Array):
        return lambda v, i: v[i]
    return lambda v, i: v


def _same(v, o):  # pragma: no cover - replaced by the overload in jitted code
    return isinstance(v, np.ndarray) and v.ctypes.data == o.ctypes.data


@overload(_same, inline="always")
def _same_overload(v, o):
    if isinstance(v, types.Array):
        return lambda v, o: v.ctypes.data == o.ctypes.data
    return lambda v, o: False


# One element-wise loop per arity over 1-D arrays or scalars, with ``_k``
# bound per kernel.  ``prange`` is ``range`` unless compiled with
# ``parallel=True`` (the parallel target's loops).
#
# In place.  NumPy hands a loop operands that either do not overlap or are
# the same elements (``f(x, out=x)``, ``f_grad(x, g, out=g)``).  With two
# array arguments LLVM vectorises behind a run-time overlap check, which
# exact aliasing fails, and the loop would run its scalar remainder over
# every element (``docs/design.md``).  When a data operand (the first two positions) *is*
# the output, the loop below reads it through ``o`` itself: one pointer, no
# check, the same vectorised body.  Results are the same either way (same
# kernel, same types); only the load's source differs.


def _run1(a, o):
    if _same(a, o):
        for i in prange(o.shape[0]):
            o[i] = _k(o[i])  # noqa: F821 (bound per kernel)
    else:
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i))  # noqa: F821


def _run2(a, b, o):
    if _same(a, o):
        for i in prange(o.shape[0]):
            o[i] = _k(o[i], _at(b, i))  # noqa: F821
    elif _same(b, o):
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), o[i])  # noqa: F821
    else:
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), _at(b, i))  # noqa: F821


def _run3(a, b, c, o):
    if _same(a, o):
        for i in prange(o.shape[0]):
            o[i] = _k(o[i], _at(b, i), _at(c, i))  # noqa: F821
    elif _same(b, o):
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), o[i], _at(c, i))  # noqa: F821
    else:
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), _at(b, i), _at(c, i))  # noqa: F821


def _run4(a, b, c, d, o):
    if _same(a, o):
        for i in prange(o.shape[0]):
            o[i] = _k(o[i], _at(b, i), _at(c, i), _at(d, i))  # noqa: F821
    elif _same(b, o):
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), o[i], _at(c, i), _at(d, i))  # noqa: F821
    else:
        for i in prange(o.shape[0]):
            o[i] = _k(_at(a, i), _at(b, i), _at(c, i), _at(d, i))  # noqa: F821


RUN_TEMPLATES = {1: _run1, 2: _run2, 3: _run3, 4: _run4}


def _sl(v, lo, hi):  # pragma: no cover - replaced by the overload in jitted code
    return v[lo:hi] if isinstance(v, np.ndarray) else v


@overload(_sl, inline="always")
def _sl_overload(v, lo, hi):
    if isinstance(v, types.Array):
        return lambda v, lo, hi: v[lo:hi]
    return lambda v, lo, hi: v


def _sl_all(ins, lo, hi):  # pragma: no cover - replaced by the overload in jitted code
    return tuple(_sl(v, lo, hi) for v in ins)


@overload(_sl_all, inline="always")
def _sl_all_overload(ins, lo, hi):
    # the tuple of every operand sliced (arrays) or passed as it is (scalars)
    items = "".join(f"_sl(ins[{i}], lo, hi), " for i in range(len(ins)))
    ns: dict = {}
    exec(f"def impl(ins, lo, hi):\n    return ({items})\n", {"_sl": _sl}, ns)
    return ns["impl"]


def _at_all(ins, i):  # pragma: no cover - replaced by the overload in jitted code
    return tuple(_at(v, i) for v in ins)


@overload(_at_all, inline="always")
def _at_all_overload(ins, i):
    # the tuple of every operand's element i (arrays) or the operand (scalars)
    items = "".join(f"_at(ins[{i}], i), " for i in range(len(ins)))
    ns: dict = {}
    exec(f"def impl(ins, i):\n    return ({items})\n", {"_at": _at}, ns)
    return ns["impl"]


# --------------------------------------------------------------------------
# Streaming (non-temporal) stores
#
# An output much larger than the last-level cache is written with
# non-temporal stores: a normal store first reads the line it writes ("read
# for ownership"), so out = f(x) moves 3 bytes per output byte instead of 2.
# The serial loop stores each element through ``_nt_set``; LLVM vectorises it
# into 32-byte ``vmovntps``/``vmovntpd`` stores.  x86-64 only: ``STREAM_OK``
# is False elsewhere and the parallel target then never streams.
# --------------------------------------------------------------------------

STREAM_OK = platform.machine().lower() in ("x86_64", "amd64")
#: bytes per streamed vector (and the alignment the output must start at)
STREAM_BYTES = 32


def nontemporal(builder, store):
    """Mark the LLVM *store* non-temporal (streaming); returns it."""
    store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
    return store


@intrinsic
def _nt_set(typingctx, arr, i, v):
    """``arr[i] = v`` as a non-temporal store.

    The store is declared ``align 32``: LLVM vectorises a non-temporal store
    only where the vector access is known to be aligned (AVX's ``vmovntps``
    faults otherwise), and it takes the vector's alignment from the scalar
    store's.  The caller guarantees what the vector stores need: ``arr[0]``
    is 32-byte aligned, and the vectoriser's stores start at indices that are
    multiples of their width.  (The remainder's scalar stores do not depend
    on alignment on x86.)
    """
    if not (isinstance(arr, types.Array) and isinstance(v, (types.Float, types.Integer))):
        return None
    sig = types.void(arr, types.intp, v)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        val = context.cast(builder, args[2], signature.args[2], signature.args[0].dtype)
        nontemporal(builder, builder.store(val, builder.gep(a.data, [args[1]]), align=STREAM_BYTES))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _sfence(typingctx):
    """Order the streamed stores before the stores that follow (x86 ``sfence``)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if STREAM_OK:
            fnty = ir.FunctionType(ir.VoidType(), [])
            builder.call(builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=fnty), [])
        return context.get_dummy_value()

    return sig, codegen


def _run_stream(ins, o):
    # o[:] = _k(*ins) (``ins`` sliced to o's chunk) with streaming stores;
    # o[0] must be 32-byte aligned.
    for i in range(o.shape[0]):
        _nt_set(o, i, _k(*_at_all(ins, i)))  # noqa: F821 (bound per kernel)
    _sfence()


def stream_start(o: np.ndarray) -> int:
    """The first element of the 1-D array *o* at a 32-byte aligned address."""
    addr = o.__array_interface__["data"][0]
    return min(((-addr) % STREAM_BYTES) // o.itemsize, o.shape[0])


# The parallel target's loop: ``prange`` over chunks of ``_CH`` elements,
# each run by ``_s`` -- the serial ``_run`` loop compiled on its own, so a
# chunk is the cpu target's vectorised loop (a prange over the elements
# vectorised less well: ``docs/design.md``).
# ``ins`` holds the kernel's operands (arrays, then scalar parameters);
# chunks start at element ``p0`` (the elements before it run first, serially).
# ``_ST`` (bound per loop) is ``_run_stream`` bound to the kernel (streamed
# output; then o[p0] is 32-byte aligned, and so is every chunk's start) or None.


def _chunks(ins, o, p0):
    n = o.shape[0]
    if p0 > 0:
        _s(*_sl_all(ins, 0, p0), o[:p0])  # noqa: F821 (bound per loop)
    for c in prange((n - p0 + _CH - 1) // _CH):  # noqa: F821
        lo = p0 + c * _CH  # noqa: F821
        hi = min(lo + _CH, n)  # noqa: F821
        if _ST is None:  # noqa: F821
            _s(*_sl_all(ins, lo, hi), o[lo:hi])  # noqa: F821
        else:
            _ST(_sl_all(ins, lo, hi), o[lo:hi])  # noqa: F821


CHUNK_TEMPLATE = _chunks
STREAM_TEMPLATE = _run_stream


# The ufunc loops (``_r``: the bound ``_run`` template, ``_T``: element type,
# ``_Z``: its itemsize, ``_V``: compile the vectorised branches -- a constant
# Numba prunes; False for the integer and bool loops of the integer-exact
# functions, which are rare and would otherwise triple their compile time).
# Branches: see above.


def _loop1(args, dims, steps, data):
    n = dims[0]
    o = carray(_as(args[1], _T), n)  # noqa: F821
    if _V and steps[0] == _Z:  # noqa: F821
        _r(carray(_as(args[0], _T), n), o)  # noqa: F821
    else:
        s0 = steps[0]
        for i in range(n):
            o[i] = _k(_ld(args[0], i * s0, _T))  # noqa: F821


def _loop2(args, dims, steps, data):
    n = dims[0]
    o = carray(_as(args[2], _T), n)  # noqa: F821
    s0, s1 = steps[0], steps[1]
    if _V and s0 == _Z and s1 == 0:  # noqa: F821
        _r(carray(_as(args[0], _T), n), _ld(args[1], 0, _T), o)  # noqa: F821
    elif _V and s0 == _Z and s1 == _Z:  # noqa: F821
        _r(carray(_as(args[0], _T), n), carray(_as(args[1], _T), n), o)  # noqa: F821
    else:
        for i in range(n):
            o[i] = _k(_ld(args[0], i * s0, _T), _ld(args[1], i * s1, _T))  # noqa: F821


def _loop3(args, dims, steps, data):
    n = dims[0]
    o = carray(_as(args[3], _T), n)  # noqa: F821
    s0, s1, s2 = steps[0], steps[1], steps[2]
    a, b, c = args[0], args[1], args[2]
    if _V and s0 == _Z and s1 == 0 and s2 == 0:  # noqa: F821
        _r(carray(_as(a, _T), n), _ld(b, 0, _T), _ld(c, 0, _T), o)  # noqa: F821
    elif _V and s0 == _Z and s1 == _Z and s2 == 0:  # noqa: F821
        _r(carray(_as(a, _T), n), carray(_as(b, _T), n), _ld(c, 0, _T), o)  # noqa: F821
    elif _V and s0 == _Z and s1 == _Z and s2 == _Z:  # noqa: F821
        _r(carray(_as(a, _T), n), carray(_as(b, _T), n), carray(_as(c, _T), n), o)  # noqa: F821
    else:
        for i in range(n):
            o[i] = _k(_ld(a, i * s0, _T), _ld(b, i * s1, _T), _ld(c, i * s2, _T))  # noqa: F821


def _loop4(args, dims, steps, data):
    n = dims[0]
    o = carray(_as(args[4], _T), n)  # noqa: F821
    s0, s1, s2, s3 = steps[0], steps[1], steps[2], steps[3]
    a, b, c, d = args[0], args[1], args[2], args[3]
    T = _T  # noqa: F821
    if _V and s0 == _Z and s1 == 0 and s2 == 0 and s3 == 0:  # noqa: F821
        _r(carray(_as(a, T), n), _ld(b, 0, T), _ld(c, 0, T), _ld(d, 0, T), o)  # noqa: F821
    elif _V and s0 == _Z and s1 == _Z and s2 == 0 and s3 == 0:  # noqa: F821
        _r(carray(_as(a, T), n), carray(_as(b, T), n), _ld(c, 0, T), _ld(d, 0, T), o)  # noqa: F821
    elif _V and s0 == _Z and s1 == _Z and s2 == _Z and s3 == _Z:  # noqa: F821
        _r(carray(_as(a, T), n), carray(_as(b, T), n), carray(_as(c, T), n), carray(_as(d, T), n), o)  # noqa: F821
    else:
        for i in range(n):
            o[i] = _k(_ld(a, i * s0, T), _ld(b, i * s1, T), _ld(c, i * s2, T), _ld(d, i * s3, T))  # noqa: F821


_LOOP_TEMPLATES = {1: _loop1, 2: _loop2, 3: _loop3, 4: _loop4}
_LOOP_SIG = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp), types.voidptr
)


@contextlib.contextmanager
def quiet_inlining():
    """Silence Numba's pedantic SSA note while compiling inlined kernels.

    Inlining a kernel whose helpers are themselves ``inline="always"`` can
    trip an internal consistency check (``NumbaIRAssumptionWarning: variable
    ... is not in scope``): a note about Numba's IR, not about the result
    (the values are checked against references by the test suite).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
        yield


def inline_kernel(kernel: Callable, half: bool = False, nin: int = 1) -> Callable:
    """*kernel* compiled with LLVM's ``alwaysinline`` (float16: on uint16 bits).

    ``forceinline`` lets LLVM inline the compiled kernel into every loop that
    calls it, so the loop vectorises; Numba-IR inlining (``inline="always"``)
    does the same but re-types the whole kernel at every call site, several
    times the compile time of the smooth kernels.  Cache names carry a prefix of
    their own: Numba's on-disk cache index is keyed by file, qualified name
    and signature, not by compile flags, so two configurations must never
    share a name.
    """
    inline = njit(forceinline=True, cache=_CACHE, **TARGET_OPTIONS)
    k = inline(cacheable(kernel, f"fi_{kernel.__name__}"))
    if half:
        k = inline(cacheable(_HALF_TEMPLATES[nin], f"fih_{kernel.__name__}", _k=k))
    return k


def _loop(kernel: Callable, nin: int, dt: np.dtype, ic: int | None = None):
    """The compiled ``@cfunc`` loop of *kernel* for element type *dt*, with
    interleave count *ic* (default: the tuning table's)."""
    half = dt == np.float16
    store = np.dtype(np.uint16) if half else dt
    nbt = _NUMBA_TYPES[store]
    ic = interleave_count(kernel) if ic is None else ic
    k = inline_kernel(kernel, half, nin)
    r = njit(forceinline=True, cache=_CACHE, **TARGET_OPTIONS)(
        cacheable(RUN_TEMPLATES[nin], f"run_{kernel.__name__}_{dt.name}_ic{ic}", _k=k)
    )
    fn = cacheable(
        _LOOP_TEMPLATES[nin],
        f"loop_{kernel.__name__}_{dt.name}_ic{ic}",
        _k=k,
        _r=r,
        _T=nbt,
        _Z=store.itemsize,
        _V=dt.kind == "f",
    )
    with quiet_inlining(), interleaved(ic):
        return cfunc(_LOOP_SIG, cache=_CACHE, **TARGET_OPTIONS)(fn)


_FROMFUNC = None
# NumPy keeps pointers to these arrays for the ufunc's whole life: keep them.
_KEEPALIVE: list = []

_NUMBA_TYPES = {
    np.dtype(np.bool_): types.boolean,
    np.dtype(np.int8): types.int8,
    np.dtype(np.uint8): types.uint8,
    np.dtype(np.int16): types.int16,
    np.dtype(np.uint16): types.uint16,
    np.dtype(np.int32): types.int32,
    np.dtype(np.uint32): types.uint32,
    np.dtype(np.int64): types.int64,
    np.dtype(np.uint64): types.uint64,
    np.dtype(np.float32): types.float32,
    np.dtype(np.float64): types.float64,
}


# --------------------------------------------------------------------------
# Lazy loops: each dtype's loop is compiled on its first call
# --------------------------------------------------------------------------
#
# A ufunc is created at once with every dtype's loop registered, each behind
# the trampoline with its ``data`` (``info``) pointing at one shared stub: a
# ctypes callback (it takes the GIL, which NumPy may have released) that
# compiles -- or loads from Numba's cache -- that dtype's loop, writes the
# loop's address into ``info[0]`` and runs it.  Later calls go straight to
# the compiled loop: the trampoline reads ``info[0]`` on every call.  So a
# first call compiles one loop, not one per dtype, on every path that reaches
# the ufunc (our objects, ``.ufunc``, ``__array_ufunc__`` hand-offs, dask
# workers unpickling it).

_LOOP_PROTO = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _LazyLoop:
    """One dtype loop of a ufunc: its ``info`` block and, once compiled, the loop."""

    __slots__ = ("call", "compiled", "dtype", "ic", "info", "kernel", "nin")

    def __init__(self, kernel: Callable, nin: int, dtype: np.dtype, ic: int | None = None):
        self.kernel = kernel
        self.nin = nin
        self.dtype = dtype
        self.ic = ic
        self.info = (ctypes.c_int64 * 3)(_STUB_ADDRESS, nin, dtype.itemsize)
        self.compiled = None
        self.call = None

    def compile(self):
        """The compiled loop (compiled or loaded from the cache on first use)."""
        if self.compiled is None:
            with _lock:
                if self.compiled is None:
                    loop = _loop(self.kernel, self.nin, self.dtype, self.ic)
                    self.call = _LOOP_PROTO(loop.address)
                    self.compiled = loop
                    self.info[0] = loop.address  # from now on the trampoline calls it
        return self.compiled


#: ``info`` address -> its lazy loop (the stub's lookup)
_LAZY_BY_INFO: dict[int, _LazyLoop] = {}
#: ``id`` of a ufunc (kept alive by :data:`_KEEPALIVE`) -> its lazy loops, in loop order
_LAZY_BY_UFUNC: dict[int, list[_LazyLoop]] = {}


def _stub(args, dims, steps, data):
    """A loop's first call: compile it, then run it on the same operands.

    An exception here cannot reach the caller through NumPy's C loop; it is
    reported through :func:`sys.unraisablehook` (which ctypes calls).
    """
    lazy = _LAZY_BY_INFO[data]
    lazy.compile()
    lazy.call(args, dims, steps, data)


_STUB = _LOOP_PROTO(_stub)
_STUB_ADDRESS = ctypes.cast(_STUB, ctypes.c_void_p).value


def compile_loops(uf: np.ufunc, dtypes: Sequence[np.dtype] | None = None) -> int:
    """Compile the loops of *uf* (built by :func:`build_ufunc`; all, or those
    of *dtypes*) ahead of their first call; returns how many were compiled."""
    done = 0
    wanted = None if dtypes is None else {np.dtype(d) for d in dtypes}
    for lazy in _LAZY_BY_UFUNC.get(id(uf), ()):
        if wanted is None or lazy.dtype in wanted:
            if lazy.compiled is None:
                lazy.compile()
                done += 1
    return done


def compiled_loops(uf: np.ufunc) -> list[str]:
    """The dtypes (names) whose loop of *uf* is compiled."""
    return [lazy.dtype.name for lazy in _LAZY_BY_UFUNC.get(id(uf), ()) if lazy.compiled is not None]


def build_ufunc(
    kernel: Callable,
    name: str,
    nin: int,
    dtypes: Sequence[np.dtype],
    doc: str = "",
    lazy: bool = True,
    interleave: int | None = None,
) -> np.ufunc:
    """A NumPy ufunc of *kernel* with one loop per dtype in *dtypes*.

    *dtypes* are listed in the order NumPy should try them (earlier loops win
    during type resolution): integers, then float16, float32, float64.  Each
    loop is compiled on its first call (see :class:`_LazyLoop`), or here
    when *lazy* is False (see also :func:`compile_loops`).  *interleave*
    overrides the tuning table's interleave count (``tools/tune.py``).
    """
    global _FROMFUNC
    with _lock:
        if _FROMFUNC is None:
            _FROMFUNC = _compat.ufunc_from_func_and_data()
        with global_compiler_lock:
            tramp = _trampoline()
        loops = [_LazyLoop(kernel, nin, np.dtype(dt), interleave) for dt in dtypes]
        for lz in loops:
            _LAZY_BY_INFO[ctypes.addressof(lz.info)] = lz
        typenums = [lz.dtype.num for lz in loops for _ in range(nin + 1)]
        n = len(loops)
        funcs = (ctypes.c_void_p * n)(*([tramp] * n))
        data = (ctypes.c_void_p * n)(*[ctypes.addressof(lz.info) for lz in loops])
        tys = (ctypes.c_char * len(typenums))(*[bytes([t]) for t in typenums])
        cname = ctypes.create_string_buffer(name.encode())
        cdoc = ctypes.create_string_buffer(doc.encode())
        uf = _FROMFUNC(
            ctypes.addressof(funcs),
            ctypes.addressof(data),
            ctypes.addressof(tys),
            n,
            nin,
            1,
            -1,  # PyUFunc_None: no identity
            ctypes.cast(cname, ctypes.c_char_p),
            ctypes.cast(cdoc, ctypes.c_char_p),
            0,
        )
        _LAZY_BY_UFUNC[id(uf)] = loops
        _KEEPALIVE.append((uf, funcs, data, loops, tys, cname, cdoc, _tramp_lib))
    if not lazy:
        compile_loops(uf)
    return uf
