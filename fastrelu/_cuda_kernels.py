"""Device side of the CUDA target: generic ``@cuda.jit`` kernels.

Imported only by :mod:`fastrelu.cuda` on first use (this module imports
``numba.cuda``).  Nothing here is generated source: a row's scalar kernel
(:mod:`fastrelu._kernels`) is compiled as a device function and closed over by
one plain kernel function per arity (1 to 4 operands) and layout:

* ``contiguous``: every operand is a 1-D C-contiguous span of ``n`` elements
  (or a scalar); one grid-stride loop over a flat int64 index;
* ``strided``: every operand is a 1-D span of memory plus an element offset
  and a tuple of element strides (0 on broadcast axes); the flat int64 index
  is decomposed once per element with the output shape.

How an operand is read and how the result is written is chosen per dtype by
small device functions the kernel also closes over (``_loader``/``_storer``):
float16 storage is widened to float32 and rounded once on store, bfloat16
(uint16 bits) is widened by a 16-bit shift and rounded back to nearest even,
integer/narrower inputs are converted to the computation type, scalars ignore
the index.  Under ``NUMBA_ENABLE_CUDASIM=1`` the same functions run in the
simulator (the bit casts then use NumPy views instead of libdevice).
"""

from __future__ import annotations

import functools
import os

import numpy as np
from numba import cuda

from fastrelu import _compat

__all__ = ["SIM", "bf16_to_f32", "device_function", "f32_to_bf16", "loader", "make_kernel", "storer"]

#: Running under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")

_u16, _u32, _f32 = np.uint16, np.uint32, np.float32


def _device(fn):
    """``cuda.jit(device=True)`` with forced inlining where supported."""
    if SIM:
        return cuda.jit(device=True)(fn)
    return cuda.jit(device=True, forceinline=True)(fn)


# --------------------------------------------------------------------------
# float32 <-> bits (libdevice on the device, NumPy views in the simulator)
# --------------------------------------------------------------------------

if SIM:

    def _u32_as_f32(u):
        return np.array(int(u) & 0xFFFFFFFF, dtype=np.uint32).view(np.float32)[()]

    def _f32_as_u32(f):
        return np.array(f, dtype=np.float32).view(np.uint32)[()]

else:
    from numba.cuda import libdevice

    _int_as_float = libdevice.int_as_float
    _float_as_int = libdevice.float_as_int

    @_device
    def _u32_as_f32(u):
        return _int_as_float(np.int32(u))

    @_device
    def _f32_as_u32(f):
        return _u32(_float_as_int(f))


def _bf16_to_f32(h):
    """bfloat16 bits (uint16) -> float32, exact."""
    return _u32_as_f32(_u32(h) << _u32(16))


def _f32_to_bf16(f):
    """float32 -> bfloat16 bits, round to nearest even; NaN stays (quiet) NaN."""
    u = _f32_as_u32(f)
    if f != f:
        return _u16((u >> _u32(16)) | _u32(0x40))
    r = u + _u32(0x7FFF) + ((u >> _u32(16)) & _u32(1))
    return _u16(r >> _u32(16))


bf16_to_f32 = _device(_bf16_to_f32)
f32_to_bf16 = _device(_f32_to_bf16)

# --------------------------------------------------------------------------
# loaders ld(a, j) and storers st(out, j, r)
# --------------------------------------------------------------------------


def _ld_same(a, j):
    return a[j]


def _ld_scalar(a, j):
    return a


def _ld_bf16(a, j):
    return bf16_to_f32(a[j])


def _st_same(o, j, r):
    o[j] = r


def _st_f16(o, j, r):
    # float32 first, as the cpu target's half loop does, then RNE to half.
    o[j] = _f32(r)


def _st_bf16(o, j, r):
    o[j] = f32_to_bf16(_f32(r))


_LD_SAME = _device(_ld_same)
_LD_SCALAR = _device(_ld_scalar)
_LD_BF16 = _device(_ld_bf16)
_ST_SAME = _device(_st_same)
_ST_F16 = _device(_st_f16)
_ST_BF16 = _device(_st_bf16)


@functools.cache
def _ld_cast(ct: str):
    conv = getattr(np, ct)

    def ld_cast(a, j):
        return conv(a[j])

    return _device(ld_cast)


def loader(kind, ct: str):
    """Device loader for an operand of *kind* (dtype name, "bfloat16" or None=scalar)."""
    if kind is None:
        return _LD_SCALAR
    if kind == "bfloat16":
        return _LD_BF16
    if kind == ct:
        return _LD_SAME
    return _ld_cast(ct)


def storer(kind: str):
    """Device storer for an output of dtype name *kind*."""
    if kind == "bfloat16":
        return _ST_BF16
    if kind == "float16":
        return _ST_F16
    return _ST_SAME


_patched_helpers: set = set()


def _uninline_helpers_for_cuda():
    """See :func:`fastrelu._compat.uninline_jitables_for_cuda`."""
    if not SIM:
        _compat.uninline_jitables_for_cuda("fastrelu.", _patched_helpers)


# --------------------------------------------------------------------------
# CUDA implementations of fastrelu._approx
# --------------------------------------------------------------------------

# The cpu implementations in :mod:`fastrelu._approx` (generic ``@overload``s
# inlined by Numba, polynomial kernels for vectorisation) do not type on the
# CUDA target (numba-cuda 0.30.x: IR-inlined overloads see their arguments as
# ``omitted(default=Undefined)``), and a GPU has fast, accurate libdevice
# versions anyway.  These CUDA-target overloads take precedence over the
# generic ones there; the cpu target is unaffected.  Under the simulator the
# kernels run as Python and call the plain-Python (float64 oracle) functions.

_cuda_approx_done = False


def _register_cuda_approx():
    global _cuda_approx_done
    if SIM or _cuda_approx_done:
        return
    _cuda_approx_done = True

    import math

    from numba import types
    from numba.cuda import libdevice
    from numba.extending import overload

    from fastrelu import _approx as ap

    def ovl(fn):
        _patched_helpers.add(fn)  # not to be re-registered by _uninline_helpers_for_cuda
        return overload(fn, target="cuda", strict=False)

    def ftype(x):
        """The NumPy type the computation for argument type *x* uses (None: not a number)."""
        if x == types.float32:
            return np.float32
        if isinstance(x, (types.Float, types.Integer, types.Boolean)):
            return np.float64
        return None

    ln2x64 = ap.SCALE_EXP * math.log(2.0)  # 2**SCALE_EXP = exp(ln2x64)
    ln2x64_lo = ap.SCALE_EXP * 1.9082149292705877e-10 + (ap.SCALE_EXP * 0.6931471803691238 - ln2x64)

    def per_type(fn, make):
        # fn(x) overloaded with make(F), F the NumPy type the computation uses
        @ovl(fn)
        def ol(x):
            F = ftype(x)
            return None if F is None else make(F)

    def unary(fn, f32, f64):
        # fn(x) -> f32/f64 (libdevice / math), integers as float64
        @ovl(fn)
        def ol(x):
            F = ftype(x)
            if F is None:
                return None
            g = f32 if F is np.float32 else f64
            return lambda x: g(F(x))

    unary(ap.expm1, math.expm1, math.expm1)
    unary(ap.log1p, math.log1p, math.log1p)
    unary(ap.tanh, math.tanh, math.tanh)
    unary(ap.erfc, math.erfc, math.erfc)
    unary(ap.erf, math.erf, math.erf)
    unary(ap.exp, math.exp, math.exp)

    def make_exp_dw(F, c_hi, c_lo):
        # exp(x + c + lo) with c = c_hi + c_lo a double-word constant (0 or
        # SCALE_EXP ln2): s = x + c_hi with its exact rounding error (TwoSum),
        # then exp(s) (1 + err) with one fma.
        C, CL, ZERO = F(c_hi), F(c_lo), F(0.0)

        def impl(x, lo):
            s = x + C
            bb = s - x
            err = ((x - (s - bb)) + (C - bb)) + (CL + lo)
            e = math.exp(s)
            r = cuda.fma(e, err, e)
            # 0 and inf (x = +-inf, saturation) as they are; NaN propagates
            return e if (e == ZERO or e == F(math.inf)) else r

        return impl

    exp_dw_impl = {F: make_exp_dw(F, 0.0, 0.0) for F in (np.float32, np.float64)}
    exp_dw_s_impl = {
        F: make_exp_dw(F, F(ln2x64), (ln2x64 - float(F(ln2x64))) + ln2x64_lo)
        for F in (np.float32, np.float64)
    }

    def dw(fn, table):
        @ovl(fn)
        def ol(x, lo):
            F = ftype(x)
            if F is None:
                return None
            f = _device(table[F])
            return lambda x, lo: f(F(x), F(lo))

    dw(ap.exp_dw, exp_dw_impl)
    dw(ap.exp_dw_any, exp_dw_impl)  # libdevice exp is valid for any argument
    dw(ap.exp_dw_s, exp_dw_s_impl)

    def make_exp_s(F):
        f = _device(exp_dw_s_impl[F])
        return lambda x: f(F(x), F(0.0))

    per_type(ap.exp_s, make_exp_s)

    def make_exp_s_at(F):
        # the CPU version's clamp (NaN to the floor too): c e**c * 2**-SC has
        # underflowed below it, and -inf * 0 never forms
        f, lo, zero = _device(exp_dw_s_impl[F]), F(ap.exp_s_floor(F)), F(0.0)

        def at(x):
            c = F(x) if F(x) >= lo else lo
            return c, f(c, zero)

        return at

    per_type(ap.exp_s_at, make_exp_s_at)

    def make_recip1p(F):
        # IEEE division on the device; the CPU's float64 correction is for
        # its accuracy bound, which CUDA's libdevice exp bounds differently
        one = F(1.0)
        return lambda x: one / (one + F(x))

    per_type(ap.recip1p, make_recip1p)

    @ovl(ap.exp_hl)
    def _ol_exp_hl(x, lo):
        # e**(x + lo) as (exp_dw, 0): the CPU's double-word split is not needed
        F = ftype(x)
        if F is None:
            return None
        f, ZERO = _device(exp_dw_impl[F]), F(0.0)
        return lambda x, lo: (f(F(x), F(lo)), ZERO)

    def make_npdf(F, table):
        # exp(-x*x/2)/sqrt(2 pi) from the exact square x*x = sq + sq_lo
        f = _device(table[F])
        K, HALF, ZERO = F(0.3989422804014327), F(0.5), F(0.0)

        def impl(x):
            sq = x * x
            lo = cuda.fma(x, x, -sq)
            lo = lo if lo == lo else ZERO  # |x| = inf
            return K * f(-HALF * sq, -HALF * lo)

        return _device(impl)

    npdf_impl = {F: make_npdf(F, exp_dw_impl) for F in (np.float32, np.float64)}
    npdf_s_impl = {F: make_npdf(F, exp_dw_s_impl) for F in (np.float32, np.float64)}

    def make_ndtr(F, scaled):
        # Phi(x) = normcdf(x) for x >= -1; in the left tail
        # Phi(x) = erfcx(-x/sqrt2) exp(-x*x/2) / 2 (erfcx is well conditioned,
        # the Gaussian factor comes from an exact square), scaled by 2**64 for
        # ndtr_s so that it stays normal where Phi(x) alone is subnormal.
        f32 = F is np.float32
        normcdf = libdevice.normcdff if f32 else libdevice.normcdf
        erfcx = libdevice.erfcxf if f32 else libdevice.erfcx
        gauss = _device((exp_dw_s_impl if scaled else exp_dw_impl)[F])
        SCALE = F(2.0**ap.SCALE_EXP if scaled else 1.0)
        HALF, ZERO, M1 = F(0.5), F(0.0), F(-1.0)
        R2 = F(0.7071067811865476)

        def impl(x):
            xc = x if x < M1 else M1  # keeps erfcx finite on the unused side
            sq = xc * xc
            lo = cuda.fma(xc, xc, -sq)
            lo = lo if lo == lo else ZERO
            tail = HALF * erfcx(-xc * R2) * gauss(-HALF * sq, -HALF * lo)
            return tail if x < M1 else normcdf(x) * SCALE

        return _device(impl)

    def table_fn(fn, table):
        def make(F):
            f = table[F]
            return lambda x: f(F(x))

        per_type(fn, make)

    table_fn(ap.npdf, npdf_impl)
    table_fn(ap.npdf_s, npdf_s_impl)
    ndtr_impl = {F: make_ndtr(F, False) for F in (np.float32, np.float64)}
    table_fn(ap.ndtr, ndtr_impl)

    ndtr_s_impl = {F: make_ndtr(F, True) for F in (np.float32, np.float64)}
    table_fn(ap.ndtr_s, ndtr_s_impl)

    def make_xndtr(F):
        # x < -1: x Phi(x) from the scaled Phi (normal where Phi(x) alone is
        # subnormal: float32 x in [-14.1, -13]), scaled back once
        f, fs, unscale = ndtr_impl[F], ndtr_s_impl[F], F(ap.UNSCALE)
        ninf, nzero, m1 = F(-np.inf), F(-0.0), F(-1.0)

        def xn(x):
            if F(x) == ninf:
                return nzero
            return (F(x) * fs(F(x))) * unscale if F(x) < m1 else F(x) * f(F(x))

        return xn

    per_type(ap.xndtr, make_xndtr)

    def make_dxndtr(F):
        ph, pd, unscale, inf, one = ndtr_s_impl[F], npdf_s_impl[F], F(ap.UNSCALE), F(np.inf), F(1.0)
        zero = F(0.0)

        def dx(x):
            # 1 at +inf, +0 at -inf and where the left tail underflows (as PyTorch: 0 + -0)
            if F(x) == inf:
                return one
            return zero if F(x) == -inf else (ph(F(x)) + F(x) * pd(F(x))) * unscale + zero

        return dx

    per_type(ap.dxndtr, make_dxndtr)

    @ovl(ap.lit)
    def ol_lit(x, c):
        F = ftype(x)
        if F is None:
            return None
        return lambda x, c: F(c)

    @ovl(ap.lit_lo)
    def ol_lit_lo(x, hi, lo):
        if ftype(x) is np.float32:
            return lambda x, hi, lo: np.float32(
                (np.float64(hi) - np.float64(np.float32(hi))) + np.float64(lo)
            )
        return lambda x, hi, lo: np.float64(lo)

    @ovl(ap.fma)
    def ol_fma(a, b, c):
        if isinstance(a, types.Float) and a == b == c:
            return lambda a, b, c: cuda.fma(a, b, c)
        return lambda a, b, c: a * b + c  # mixed types: plain (promoting) arithmetic

    @ovl(ap.gelu_tanh_arg)
    def ol_gelu_tanh_arg(x):
        F = ftype(x)
        if F is None:
            return None
        # (vh, vl) with vh + vl = x (A + B x**2): float32 from a float64
        # evaluation, float64 with double-word arithmetic (fma)
        A, A_LO, B, B_LO = ap._GT_A, ap._GT_A_LO, ap._GT_B, ap._GT_B_LO
        if F is np.float32:

            def impl32(x):
                xd = np.float64(x)
                xd = 1e6 if xd > 1e6 else xd
                xd = -1e6 if xd < -1e6 else xd
                v = xd * (A + B * xd * xd)
                vh = np.float32(v)
                return vh, np.float32(v - np.float64(vh))

            return impl32

        def impl64(x):
            x = np.float64(x)
            x = 1e6 if x > 1e6 else x
            x = -1e6 if x < -1e6 else x
            x2h = x * x
            x2l = cuda.fma(x, x, -x2h)
            th = B * x2h
            tl = cuda.fma(B, x2h, -th)
            tl = tl + (B * x2l + B_LO * x2h)
            sh = A + th  # TwoSum (|th| may exceed A)
            bb = sh - A
            sl = ((A - (sh - bb)) + (th - bb)) + (tl + A_LO)
            vh = x * sh
            vl = cuda.fma(x, sh, -vh)
            vl = vl + x * sl
            h = vh + vl
            return h, vl - (h - vh)

        return impl64


@functools.cache
def device_function(kernel):
    """The scalar kernel compiled as a CUDA device function."""
    _register_cuda_approx()
    _uninline_helpers_for_cuda()
    return _device(kernel)


# --------------------------------------------------------------------------
# the generic kernels (one per arity and layout)
# --------------------------------------------------------------------------


def make_kernel(dev, nin: int, contiguous: bool, lds: tuple, st):
    """The ``@cuda.jit``-able Python function for *nin* operands.

    Contiguous signature: ``(out, a0, ..., n)``.  Strided signature:
    ``(out, so, oo, a0, s0, o0, ..., shape, n)`` with ``s*`` tuples of element
    strides and ``o*`` element offsets into the 1-D spans.
    """
    if contiguous:
        return _make_contiguous(dev, nin, lds, st)
    return _make_strided(dev, nin, lds, st)


def _make_contiguous(dev, nin, lds, st):
    if nin == 1:
        (l0,) = lds

        def k1(out, a0, n):
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                st(out, j, dev(l0(a0, j)))

        return k1
    if nin == 2:
        l0, l1 = lds

        def k2(out, a0, a1, n):
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                st(out, j, dev(l0(a0, j), l1(a1, j)))

        return k2
    if nin == 3:
        l0, l1, l2 = lds

        def k3(out, a0, a1, a2, n):
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                st(out, j, dev(l0(a0, j), l1(a1, j), l2(a2, j)))

        return k3
    if nin == 4:
        l0, l1, l2, l3 = lds

        def k4(out, a0, a1, a2, a3, n):
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                st(out, j, dev(l0(a0, j), l1(a1, j), l2(a2, j), l3(a3, j)))

        return k4
    raise ValueError(f"unsupported number of operands: {nin}")


def _make_strided(dev, nin, lds, st):
    if nin == 1:
        (l0,) = lds

        def s1(out, so, oo, a0, s0, o0, shape, n):
            nd = len(shape)
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                rem = j
                po = oo
                p0 = o0
                for d in range(nd - 1, -1, -1):
                    q = rem // shape[d]
                    r = rem - q * shape[d]
                    rem = q
                    po += r * so[d]
                    p0 += r * s0[d]
                st(out, po, dev(l0(a0, p0)))

        return s1
    if nin == 2:
        l0, l1 = lds

        def s2(out, so, oo, a0, s0, o0, a1, s1, o1, shape, n):
            nd = len(shape)
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                rem = j
                po = oo
                p0 = o0
                p1 = o1
                for d in range(nd - 1, -1, -1):
                    q = rem // shape[d]
                    r = rem - q * shape[d]
                    rem = q
                    po += r * so[d]
                    p0 += r * s0[d]
                    p1 += r * s1[d]
                st(out, po, dev(l0(a0, p0), l1(a1, p1)))

        return s2
    if nin == 3:
        l0, l1, l2 = lds

        def s3(out, so, oo, a0, s0, o0, a1, s1, o1, a2, s2, o2, shape, n):
            nd = len(shape)
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                rem = j
                po = oo
                p0 = o0
                p1 = o1
                p2 = o2
                for d in range(nd - 1, -1, -1):
                    q = rem // shape[d]
                    r = rem - q * shape[d]
                    rem = q
                    po += r * so[d]
                    p0 += r * s0[d]
                    p1 += r * s1[d]
                    p2 += r * s2[d]
                st(out, po, dev(l0(a0, p0), l1(a1, p1), l2(a2, p2)))

        return s3
    if nin == 4:
        l0, l1, l2, l3 = lds

        def s4(out, so, oo, a0, s0, o0, a1, s1, o1, a2, s2, o2, a3, s3, o3, shape, n):
            nd = len(shape)
            for j in range(cuda.grid(1), n, cuda.gridsize(1)):
                rem = j
                po = oo
                p0 = o0
                p1 = o1
                p2 = o2
                p3 = o3
                for d in range(nd - 1, -1, -1):
                    q = rem // shape[d]
                    r = rem - q * shape[d]
                    rem = q
                    po += r * so[d]
                    p0 += r * s0[d]
                    p1 += r * s1[d]
                    p2 += r * s2[d]
                    p3 += r * s3[d]
                st(out, po, dev(l0(a0, p0), l1(a1, p1), l2(a2, p2), l3(a3, p3)))

        return s4
    raise ValueError(f"unsupported number of operands: {nin}")
