"""Vectorisable elementary functions for the smooth kernels.

Every public function here is a plain Python function (using :mod:`math`, in
float64: the test oracle) with a Numba ``@overload`` that dispatches on the
argument type to a float32 or a float64 implementation.  The compiled
implementations

* use only arithmetic, comparisons, ``abs``, ``math.sqrt``, bit casts and
  fused multiply-add (LLVM intrinsics, so they compile for the CPU and CUDA
  targets alike), no libm calls;
* are branch-free (every ``a if c else b`` becomes a vector select), so the
  loops that call them vectorise;
* are inlined into the kernel loop: small helpers by LLVM, the large ones
  (the gelu core) by Numba (``_NUMBA_INLINE``), since a call left in the
  loop body stops vectorisation; polynomials are unrolled Horner schemes with
  constant coefficients (``_poly``, ``llvm.fmuladd``);
* avoid 64-bit arithmetic shifts and int64 -> float64 conversions, which
  AVX2 lacks (LLVM's cost model then refuses to vectorise float64 loops);
* compute in the argument's precision: float32 constants for float32 (a Python
  float literal would promote the whole computation to float64), with
  polynomial degrees chosen per precision;
* keep IEEE special values: NaN propagates, exp(-inf) = 0, exp(+inf) = inf,
  expm1(-0.0) = -0.0, no overflow to NaN, subnormal results are not flushed.

Kernels that need a constant in their argument's precision write
``lit(x, 0.5)`` (float32 when ``x`` is float32), and ``lit_lo(x, hi, lo)`` for
the low part of a double-word constant ``hi + lo``.

Scaled variants ``exp_s``, ``exp_dw_s`` (and, on CUDA, ``ndtr_s``, ``npdf_s``) return their
value times 2**SCALE_EXP (64): kernels computing x * e**x and the like stay
accurate where e**x alone would be subnormal, and multiply by ``UNSCALE``
once at the end.  ``exp_s_at(x)`` returns (c, exp_s(c)) with the argument
clamped at the scaled exponential's lower limit instead of a zero below it,
for kernels whose result is c times the exponential (then 0 there, -inf
included, without a select).

Algorithms (error bounds measured by ``python -m fastrelu.accuracy``):

* ``exp``: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Taylor/minimax
  polynomial, scaling by 2**n in two steps (exact for subnormal results);
  ``exp_dw(h, l)`` = exp(h + l) for a double-word argument.
* ``expm1``: same reduction, expm1(x) = 2 (s p + (s - 1/2)) with s = 2**(n-1),
  p = expm1(r): a single rounding after the exact scalings.
* ``log1p``: fdlibm's log1p (u = 1 + x, exponent split, s = f/(2+f) series,
  correction term (x - (u - 1))/u).
* ``xndtr``/``dxndtr`` (gelu x Phi(x) and its derivative Phi(x) + x phi(x)):
  Phi(-a) = exp(-a*a/2) (1 + p(q)) / (2 (1 + a)) with one polynomial p in
  q = -1 + 2a/(a + m) (``gauss_parts``, fitted by ``tools/fit_gauss.py``;
  |p| < 0.16, so its rounding errors are small next to 1), the quotient
  corrected by its exactly computed residual, and the exponential of the
  exact square -a*a/2 left unrounded (s (1 + rest)) and folded in with fmas:
  the left tail keeps its relative accuracy down to the underflow (float64).
  float32 uses one division: Phi(-a) = exp(-a*a/2) t P(q), t = 1/(a + m)
  (``gauss_fwd_parts``: t's rounding undone by its residual, the products
  exact double-words; ``gauss_grad_parts``, whose bound is looser: a lower
  degree, no corrections).

The Python ``erf``, ``erfc``, ``ndtr``, ``npdf``, ``ndtr_s`` and ``npdf_s``
are oracles and the keys of the CUDA target's libdevice overloads
(``_cuda_kernels``); the CPU kernels do not call them.
"""

from __future__ import annotations

import math
import types as pytypes

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

__all__ = [
    "SCALE_EXP",
    "UNSCALE",
    "erf",
    "erfc",
    "exp",
    "exp_dw",
    "exp_dw_s",
    "exp_s",
    "exp_s_at",
    "exp_s_floor",
    "recip1p",
    "expm1",
    "fma",
    "gelu_tanh_arg",
    "lit",
    "lit_lo",
    "exp_dw_any",
    "exp_hl",
    "log1p",
    "ndtr",
    "ndtr_s",
    "npdf",
    "npdf_s",
    "tanh",
    "two_sum",
    "xndtr",
    "dxndtr",
]

# --------------------------------------------------------------------------
# bit casts and fma (LLVM intrinsics: target independent)
# --------------------------------------------------------------------------


def _bitcast_intrinsic(src, dst, irty):
    @intrinsic
    def cast(typingctx, v):
        if v != src:
            return None
        sig = dst(src)

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], irty)

        return sig, codegen

    return cast


_f32_bits = _bitcast_intrinsic(types.float32, types.int32, ir.IntType(32))
_bits_f32 = _bitcast_intrinsic(types.int32, types.float32, ir.FloatType())
_f64_bits = _bitcast_intrinsic(types.float64, types.int64, ir.IntType(64))
_bits_f64 = _bitcast_intrinsic(types.int64, types.float64, ir.DoubleType())


@intrinsic
def _fma(typingctx, a, b, c):
    """Fused multiply-add a*b + c with a single rounding (llvm.fma)."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None
    sig = a(a, a, a)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@intrinsic
def _fmuladd(typingctx, a, b, c):
    """a*b + c, fused where the target has fma (llvm.fmuladd: never a libm call)."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None
    sig = a(a, a, a)

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fmuladd", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, args)

    return sig, codegen


def _poly_hybrid(coeffs, tail):
    """A jitable evaluation of *coeffs* (highest degree first), unrolled:
    Estrin's scheme (``_estrin``) for all but the last *tail* Horner steps.
    The last steps decide the rounding error (as accurate as Horner), the
    Estrin part shortens the dependency chain.

    The coefficients are frozen into the generated function as constants (no
    tuple indexing in the compiled code, which can keep loops from vectorising).
    """
    names = {f"c{k}": c for k, c in enumerate(coeffs)}
    n = len(coeffs)
    head = n - tail  # coefficients c0 .. c{head-1}, the Estrin part
    lines, expr = _estrin([f"c{head - 1 - k}" for k in range(head)])
    lines.append(f"    p = {expr}")
    lines += [f"    p = _fmuladd(p, r, c{k})" for k in range(head, n)]
    ns = {"_fmuladd": _fmuladd, **names}
    exec("\n".join(["def poly(r):", *lines, "    return p"]), ns)
    return register_jitable(ns["poly"])


def _poly(coeffs):
    """A jitable Horner evaluation of *coeffs* (highest degree first)."""
    return _poly_hybrid(coeffs, len(coeffs) - 1)


def _estrin(terms):
    """Source lines and result expression evaluating sum(terms[k] * r**k) by
    Estrin's scheme: pairs of terms combined with r, pairs of pairs with r**2,
    and so on -- log2(n) dependent fmas instead of Horner's n - 1, at the cost
    of the squarings."""
    lines = []
    pw = "r"
    level = 0
    while len(terms) > 1:
        terms = [
            f"_fmuladd({terms[i + 1]}, {pw}, {terms[i]})" if i + 1 < len(terms) else terms[i]
            for i in range(0, len(terms), 2)
        ]
        if len(terms) > 1:
            level += 1
            lines.append(f"    r{level} = {pw} * {pw}")
            pw = f"r{level}"
    return lines, terms[0]


def _poly_estrin(coeffs):
    """A jitable Estrin evaluation of *coeffs* (highest degree first).

    For the float64 polynomials: the smooth kernels' loops are bound by
    latency (the FP scheduler holds two or three iterations of their long
    dependency chains), so a shorter chain is faster even with the extra
    multiplies (float64 exp users 6-16 % faster in cache; float32's short
    polynomials gained nothing).
    """
    return _poly_hybrid(coeffs, 0)


# Numba-level inlining: LLVM's inliner gives up on the larger helpers (the
# gelu core), and a call left in the loop body stops vectorisation.
def _inline(fn):
    """register_jitable(inline="always"), applied afresh to each function.

    (A shared ``register_jitable(inline="always")`` decorator object inlines
    only the first function it decorates: it pops ``inline`` from its kwargs.)
    """
    return register_jitable(inline="always")(fn)


@register_jitable
def two_sum(a, b):
    """a + b = s + err exactly (Knuth's TwoSum), any float type; jitable
    from the templates and the kernels alike."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@_inline
def _two_prod(a, b):
    p = a * b
    return p, _fma(a, b, -p)


# --------------------------------------------------------------------------
# constants in the argument's precision
# --------------------------------------------------------------------------


def fma(a, b, c):
    """a*b + c rounded once in compiled code (Python: float64 a*b + c)."""
    return a * b + c


@overload(fma)
def _ol_fma(a, b, c):
    if isinstance(a, types.Float) and a == b == c:
        return lambda a, b, c: _fma(a, b, c)
    return lambda a, b, c: a * b + c  # mixed types: plain (promoting) arithmetic


def lit(x, c):
    """The constant *c* in the floating type of *x* (Python: *c* itself)."""
    return c


def lit_lo(x, hi, lo):
    """Low part of the double-word constant hi + lo in the type of *x*."""
    return lo


def _is_f32(x):
    return x == types.float32


@overload(lit)
def _ol_lit(x, c):
    if _is_f32(x):
        return lambda x, c: np.float32(c)
    return lambda x, c: np.float64(c)


@overload(lit_lo)
def _ol_lit_lo(x, hi, lo):
    if _is_f32(x):

        def impl(x, hi, lo):
            h = np.float32(hi)
            return np.float32((np.float64(hi) - np.float64(h)) + np.float64(lo))

        return impl
    return lambda x, hi, lo: np.float64(lo)


# --------------------------------------------------------------------------
# per-precision implementations
# --------------------------------------------------------------------------

#: The ``*_s`` functions return their value times 2**SCALE_EXP: products
#: such as x * e**x keep full precision where e**x alone would be subnormal,
#: and the kernel scales back once at the end (a single rounding).
SCALE_EXP = 64
#: 2**-SCALE_EXP, the factor that undoes the scaling.
UNSCALE = 2.0**-SCALE_EXP

# exp(r) - 1 - r = r**2 * P(r): float64 Taylor to r**13 (|r| <= ln2/2: error
# 4e-18 relative); float32 Cephes expf minimax coefficients.
_EXP_P64 = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))
_EXP_P32 = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)

# log(1+f) kernel (fdlibm Lg1..Lg7, musl logf Lg1..Lg4), odd/even split.
_LG64 = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_LG32 = (0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841)


# The normal tail (gelu and its gradient), tools/fit_gauss.py.  float64
# (gauss_parts):
#     Phi(-a) = exp(-a*a/2) (1 + p(q)) / (2 (1 + a)),  q = (a - m) / (a + m),
# p(q) = erfcx(a/sqrt2) (1 + a) - 1 is small (|p| < 0.16), so its rounding
# errors are small next to 1; one polynomial in q covers a in [0, amax]
# (beyond, every gelu and gelu_grad result has underflowed).  (m, amax,
# coefficients highest degree first): degree 22, 2.0e-17 relative.  float32
# uses the one-division form below (_GF32, _GD32); _GQ32 holds its clamp
# (its gauss_parts is never compiled).
_GQ32 = (None, 15.5, None)
# The float32 gradient (gauss_grad_parts): its bound (4 ulp of f' + 4 eps S)
# leaves room for one division and a lower degree,
#     Phi(-a) = exp(-a*a/2) t P(q),  t = 1/(a + m),  q = 2 a t - 1 (= 1 - 2 m t),
# P(q) = erfcx(a/sqrt2) (a + m)/2 in [0.40, m/2]: (m, coefficients), degree 8,
# 7.9e-8 relative (tools/fit_gauss.py).
_GD32 = (
    3.0,
    (
        -0.000255722290603444,
        -0.0008875642670318484,
        0.0010715775424614549,
        0.006912415847182274,
        -0.010480095632374287,
        -0.04725364223122597,
        0.2300194650888443,
        -0.5093324184417725,
        0.7290836572647095,
    ),
)
# The float32 forward (gauss_fwd_parts) uses the same one-division form with
# its own fit: m = 4, degree 9, 3.4e-8 relative (tools/fit_gauss.py).
_GF32 = (
    4.0,
    (
        -0.00013622482947539538,
        0.00017047089932020754,
        0.001567235216498375,
        -0.0035079692024737597,
        -0.00752290477976203,
        0.06040313094854355,
        -0.18652385473251343,
        0.38713693618774414,
        -0.6078965663909912,
        0.7552851438522339,
    ),
)
_GQ64 = (
    6.0,
    38.75,
    (
        3.1295727474481197e-09,
        5.860096616482034e-09,
        -3.1269793255884536e-08,
        -3.998175955615579e-08,
        2.6475721649073e-07,
        -9.496726478721928e-10,
        -1.999229506824243e-06,
        3.5676849755014507e-06,
        8.824852506919447e-06,
        -5.270681209676961e-05,
        7.558978259142782e-05,
        0.00023897931761063368,
        -0.0017379893253183876,
        0.005871311034904368,
        -0.014119638843145548,
        0.02649372830810428,
        -0.03953295843984268,
        0.045184934125562355,
        -0.032283034664399544,
        -0.008746773559186374,
        0.07962284912485973,
        -0.17005072461154144,
        -0.09308959945774412,
    ),
)


def exp_s_floor(F) -> float:
    """The lower limit of the scaled exponentials in precision F (a NumPy
    float type): 2**(n + SCALE_EXP) stays normal above it (one ulp of
    margin); ``exp_s_at`` clamps its argument there."""
    bias = 1023 if F is np.float64 else 127
    return -(bias - 2 + SCALE_EXP) * 0.6931471805599453


def _constants(F, I, mbits, bias, ln2_hi, exp_p, exp_hi, em1_lo, lg, gq, gd, gf):
    """The globals of one precision's implementations (constants, helpers).

    F, I: float and same-width int NumPy types; mbits: mantissa bits; bias:
    exponent bias; ln2_hi: ln 2 with enough trailing zero bits that n*ln2_hi
    is exact; exp_hi: expm1's upper clamp (beyond the overflow threshold);
    em1_lo: expm1 is -1 below; gq: (m, amax, coefficients) of the gelu
    core ``gauss_parts`` (see ``_GQ64``; float32: coefficients None, the
    clamp only); gd, gf: (m, coefficients) of the float32 gradient's
    ``gauss_grad_parts`` (``_GD32``) and forward's ``gauss_fwd_parts``
    (``_GF32``), None for float64.
    """
    f64 = F is np.float64
    to_bits = _f64_bits if f64 else _f32_bits
    from_bits = _bits_f64 if f64 else _bits_f32

    ZERO, HALF, ONE, TWO = F(0.0), F(0.5), F(1.0), F(2.0)
    LOG2E = F(1.4426950408889634)
    LN2_HI = F(ln2_hi)
    LN2 = F(0.6931471805599453)
    SC = F(SCALE_EXP)  # the *_s functions return their value times 2**SC
    UNSC = F(UNSCALE)
    LN2_LO = F(1.90821492927058770002e-10) if f64 else F(-2.12194440e-4)
    SHIFT = F(1.5 * 2.0**mbits)
    # exp_dw_any's shift for large arguments: 96 ln2 (96 LN2_HI exact)
    BIG_LN2_HI, BIG_LN2_LO, BIG_P2 = F(96 * float(F(ln2_hi))), F(96 * float(LN2_LO)), F(2.0**96)
    BIG_X = F(40.0)
    EXP_P = tuple(F(c) for c in exp_p)
    EXP_HI, EM1_LO = F(exp_hi), F(em1_lo)
    EM1_TINY = F(2.0 ** -(mbits + 2))
    MBITS, BIAS = I(mbits), I(bias)
    BIAS_SC = I(bias + SCALE_EXP)
    # exp's lower limit: 2**(n + SC) stays normal (one ulp of margin)
    EXPS_LO = F(exp_s_floor(F))
    SHIFT_BIAS = F(1.5 * 2.0**mbits + bias)
    IONE = I(1)
    LG = tuple(F(c) for c in lg)
    INV_SQRT_2PI = F(0.3989422804014327)
    # sqrt(2)/2 for the log reduction
    if f64:
        SQH_BITS = I(0x3FE6A09E667F3BCD)
        ONE_BITS = I(0x3FF0000000000000)
        MANT_MASK = I(0x000FFFFFFFFFFFFF)
        EXP_MASK = I(0x7FF0000000000000)
        SHIFT_BITS = I(0x4338000000000000)
    else:
        SQH_BITS = I(0x3F3504F3)
        ONE_BITS = I(0x3F800000)
        MANT_MASK = I(0x007FFFFF)
        EXP_MASK = I(0x7F800000)
        SHIFT_BITS = I(0x4B400000)
    INF = F(np.inf)
    NAN = F(np.nan)
    # float64 exp's 12-term polynomial by Estrin's scheme (see _poly_estrin)
    p_exp = (_poly_estrin if f64 else _poly)(EXP_P)
    # the same polynomial less its constant term 1/2, over r: r**2 P(r) =
    # r**2/2 + r**3 p_exp3(r) (float64 expm1)
    p_exp3 = _poly_estrin(EXP_P[:-1])
    GQ_MAX = F(gq[1])
    if gq[0] is not None:
        GQ_M = F(gq[0])
    if gq[2] is not None:
        p_gq = _poly_estrin(tuple(F(c) for c in gq[2]))
    if gd is not None:
        GD_M = F(gd[0])
        p_gd = _poly(tuple(F(c) for c in gd[1]))
    if gf is not None:
        GF_M = F(gf[0])
        p_gf = _poly_hybrid(tuple(F(c) for c in gf[1]), 3)
    return {k: v for k, v in locals().items() if k.isupper() or k.startswith("p_") or k in _NS_NAMES}


# The implementation templates below read these names from their globals;
# ``_make`` instantiates the templates once per precision with a namespace
# binding them to that precision's values (the placeholders keep linters
# informed).  Module-level functions calling each other through globals,
# unlike closures, are inlined by Numba (a call left in a loop body stops
# vectorisation).
_NS_NAMES = ("F", "I", "f64", "to_bits", "from_bits")
F = I = f64 = to_bits = from_bits = None
BIAS = EM1_LO = EXP_HI = HALF = INF = INV_SQRT_2PI = IONE = LG = LN2_HI = LN2_LO = LOG2E = None
MBITS = NAN = ONE = SHIFT = SHIFT_BIAS = TWO = ZERO = p_exp = None
GQ_M = GQ_MAX = BIAS_SC = EXPS_LO = EM1_TINY = p_gq = GD_M = p_gd = p_exp3 = GF_M = p_gf = None
EXP_MASK = MANT_MASK = ONE_BITS = SHIFT_BITS = SQH_BITS = LN2 = SC = UNSC = None
BIG_LN2_HI = BIG_LN2_LO = BIG_P2 = BIG_X = None


def pow2(n):
    # 2**n for n in the normal exponent range, as a float
    return from_bits(I((n + BIAS) << MBITS))


def reduce(x):
    # n = round(x / ln2) as a float and as an integer (no float->int
    # conversion: the integer is read from the bits of x*log2e + SHIFT).
    t = x * LOG2E + SHIFT
    kf = t - SHIFT
    n = I(to_bits(t) - SHIFT_BITS)
    return kf, n


def exp_parts(x, lo):
    # exp(x + lo) * 2**SC = s (1 + hi + tail), unrounded: the reduction
    # x = n ln2 + r shared by the exponentials and the gelu cores.  s = 2**(n + SC)
    # (normal for x >= EXPS_LO), hi = x - n ln2_hi (exact), tail the small
    # rest (polynomial and low parts).
    t = _fma(x, LOG2E, SHIFT)
    kf = t - SHIFT
    hi = _fma(kf, -LN2_HI, x)  # exact
    lo2 = _fma(kf, LN2_LO, -lo)
    r = hi - lo2
    tail = r * r * p_exp(r) - lo2
    s = from_bits(I((to_bits(t) - SHIFT_BITS + BIAS_SC) << MBITS))
    return s, hi, tail


def exp_dw_sc(x, lo, sc):
    # exp(x + lo) * 2**sc for x <= 40 (larger x: unspecified -- every caller
    # passes -|v|, an argument clamped at 20, or discards the lanes with
    # x > 0), |lo| <= ulp-ish of x (or small compared with 1); sc is 0 or SC
    # (a constant: folded).  Computed as p * 2**(n + SC) (normal down to
    # x = EXPS_LO, one exact product) times 2**(sc - SC) (1, or one rounding
    # for results that are subnormal); 0 below EXPS_LO, where every result
    # has underflowed.  NaN passes through the comparisons.
    under = x < EXPS_LO
    s, hi, tail = exp_parts(EXPS_LO if under else x, lo)
    e = exp_sum(hi, tail) * s
    e = e if sc == SC else e * UNSC
    return ZERO if under else e


def exp_sum(hi, tail):
    # 1 + hi + tail of exp_parts, rounded.  float64: 1 + hi summed exactly
    # (|hi| <= ln2/2 < 1: Fast2Sum), the small rest added to its low part:
    # one rounding at the end (max exp error ~0.75 -> ~0.5 ulp)
    if f64:
        ph = ONE + hi
        return ph + ((hi - (ph - ONE)) + tail)
    return ONE + (hi + tail)


def exp_hl_(x, lo):
    # e**(x + lo) = eh + el unrounded (|el| <= ulp(eh)/2 + the polynomial's
    # error), for x <= 40 and |lo| <= ulp-ish of x (as exp_dw_sc); 0, 0 below
    # EXPS_LO (lo is then ignored: NaN there does not propagate).  1 + hi is
    # summed exactly (Fast2Sum) and the small rest added to its low part;
    # the error of that last sum (Fast2Sum again) is el.
    under = x < EXPS_LO
    s, hi, tail = exp_parts(EXPS_LO if under else x, ZERO if under else lo)
    ph = ONE + hi
    pl = (hi - (ph - ONE)) + tail
    p = ph + pl
    # p s exact (s = 2**(n + SC) normal), scaled back with one rounding
    eh = (p * s) * UNSC
    el = ((pl - (p - ph)) * s) * UNSC
    return (ZERO if under else eh), (ZERO if under else el)


def exp_dw_(x, lo):
    return exp_dw_sc(x, lo, ZERO)


def exp_s_at_(x):
    # (c, e**c * 2**SC) with c = max(x, EXPS_LO): no zeroing below EXPS_LO,
    # for callers whose result is c times the exponential (c e**c * 2**-SC
    # has underflowed there, -inf included).  NaN maps to EXPS_LO too: the
    # caller's NaN comes from x itself, with x's sign and payload.
    c = x if x >= EXPS_LO else EXPS_LO
    s, hi, tail = exp_parts(c, ZERO)
    return c, exp_sum(hi, tail) * s


def recip1p_(x):
    # 1/(1 + x) for 0 <= x <= 1.  float64: corrected by the exact residual of
    # the quotient and the exact low part of 1 + x (Fast2Sum), rounded once
    # (float64 silu 2.8 -> 1.7 ulp, gelu_tanh 2.2 -> 1.x); float32: as
    # 1 - x/(1 + x), rounded once near 1.
    dh = ONE + x
    if f64:
        d0 = ONE / dh
        dl = x - (dh - ONE)
        return _fma(d0, _fma(-d0, dl, _fma(-d0, dh, ONE)), d0)
    return ONE - x / dh


def exp_dw_any_(x, lo):
    # exp(x + lo) for any x (exp_dw_ is for x <= 40): above 40 as
    # exp_dw(x - 96 ln2) 2**96, x - 96 LN2_HI exact (x's ulp divides
    # LN2_HI's last bit, and the difference is below x), overflowing to inf
    x = EXP_HI if x > EXP_HI else x  # beyond the overflow threshold: inf
    big = x > BIG_X
    e = exp_dw_sc((x - BIG_LN2_HI) if big else x, (lo - BIG_LN2_LO) if big else lo, ZERO)
    return e * BIG_P2 if big else e


def exp_(x):
    return exp_dw_sc(x, ZERO, ZERO)


def exp_s_(x):
    return exp_dw_sc(x, ZERO, SC)


def exp_dw_s_(x, lo):
    return exp_dw_sc(x, lo, SC)


def expm1_(x):
    xc = EXP_HI if x > EXP_HI else x
    xc = EM1_LO if xc < EM1_LO else xc
    kf, n = reduce(xc)
    hi = xc - kf * LN2_HI
    lo = kf * LN2_LO
    r = hi - lo
    # e**x - 1 = 2 (s expm1(r) + s - 1/2), s = 2**(n-1) (2**n may overflow).
    # float64: s - 1/2 and s hi are exact and summed exactly (two_sum), so
    # only the small s (q - lo) and the last addition round: max error 0.81
    # -> 0.64 ulp (elu).  float32 keeps the shorter form (its max error is
    # elsewhere, and the two_sum cost elu 20 %).
    s = pow2(n - IONE)
    if f64:
        # and r**2/2 of the double-word r = hi - lo exactly as well
        # (hi**2/2 by two_prod, then -hi lo + lo**2/2: lo = n ln2_lo grows
        # with n, lo**2/2 was 170 ulp at x = 700): only the
        # r**3 part of the polynomial and the low parts round before the
        # last addition (elu 0.64 -> 0.5x ulp)
        sh, sl = two_sum(s - HALF, s * hi)
        qh, ql = _two_prod(hi, hi)
        th, tl = two_sum(sh, s * (HALF * qh))
        q3 = r * r * r * p_exp3(r)  # expm1(r) - r - r**2/2
        res = TWO * (th + ((sl + tl) + s * ((HALF * ql - lo * (hi - HALF * lo)) + (q3 - lo))))
    else:
        q = r * r * p_exp(r)  # expm1(r) = hi + (q - lo)
        res = TWO * (s * (hi + (q - lo)) + (s - HALF))
    # |x| < 2**-(mbits+2): expm1(x) rounds to x (x*x/2 is below half an ulp
    # of x); also keeps -0.0 and subnormal x exact (s * p with s = 1/2
    # would round a subnormal p)
    return x if abs(x) < EM1_TINY else res


def log1p_(x):
    u = ONE + x
    ub = to_bits(u)
    ib = ub + (ONE_BITS - SQH_BITS)
    # exponent of u as a float without int -> float conversion or an
    # arithmetic shift (the masked value is non-negative)
    kb = I(I(ib & EXP_MASK) >> MBITS)
    kf = from_bits(I(SHIFT_BITS + kb)) - SHIFT_BIAS
    k = kf
    m = from_bits(I((ib & MANT_MASK) + SQH_BITS))
    f = m - ONE
    # correction for the rounding of u = 1 + x
    cor = (ONE - (u - x)) if k > 0 else (x - (u - ONE))
    cor = cor / u
    s = f / (TWO + f)
    z = s * s
    w = z * z
    if f64:
        t1 = w * (LG[1] + w * (LG[3] + w * LG[5]))
        t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])))
    else:
        t1 = w * (LG[1] + w * LG[3])
        t2 = z * (LG[0] + w * LG[2])
    R = t2 + t1
    hfsq = HALF * f * f
    res = kf * LN2_HI - ((hfsq - (s * (hfsq + R) + (kf * LN2_LO + cor))) - f)
    res = x if x == ZERO else res
    res = INF if x == INF else res
    res = -INF if x == -ONE else res
    return NAN if x < -ONE else res


def tanh_(x):
    a = abs(x)
    e = expm1_(-TWO * a)
    t = -e / (TWO + e)
    t = -t if x < ZERO else t
    return x if a == ZERO else t


def gauss_parts(x):
    # The normal tail at a = |x| (``_GQ64``): returns (w, c, s, rest, ac) with
    #     Phi(-a) = (w + c) s (1 + rest) / 2 * 2**-SC,
    #     exp(-a*a/2) = s (1 + rest) * 2**-SC,
    # w + c = (1 + p(q)) / (1 + a) as an unrounded double-word (c is the
    # correction from the quotient's exactly computed residual), s = 2**(n + SC)
    # and 1 + rest the exponential of the exact square -a*a/2 = y + ylo, also
    # unrounded: callers fold them in with fmas.  ac = min(a, GQ_MAX) (see
    # gauss_exp).  NaN propagates.
    s, rest, ac = gauss_exp(x)
    # q = -1 + 2a / (a + m): accurate near a = 0, where p' = 0.6 and q is
    # close to -1 ((a - m) * rq there cost 2.3 ulp in float64 gelu)
    q = _fma(ac + ac, ONE / (ac + GQ_M), -ONE)
    p = p_gq(q)
    r = ONE / (ONE + ac)
    w = _fma(p, r, r)
    c = ((p - w) + _fma(w, -ac, ONE)) * r
    return w, c, s, rest, ac


def gauss_exp(x):
    # (s, rest, ac): ac = min(|x|, GQ_MAX) and exp(-ac*ac/2) = s (1 + rest)
    # * 2**-SC (the exact square as a double-word argument).  Beyond GQ_MAX
    # s stays that of GQ_MAX: every gelu and gelu_grad result built on it
    # has underflowed there.  NaN propagates.
    a = abs(x)
    ac = GQ_MAX if a > GQ_MAX else a
    s, hi, tail = exp_half_square(ac)
    return s, hi + tail, ac


def exp_half_square(a):
    # exp_parts of -a*a/2, the square an exact double-word (a/2 is exact)
    nh = -HALF * a
    y = nh * a
    return exp_parts(y, _fma(nh, a, -y))


def gauss_grad_parts(x):
    # The float32 gradient's normal tail (``_GD32``): returns (t, p, s, rest,
    # ac) with Phi(-a) = t p s (1 + rest) * 2**-SC: one division, degree 8.
    s, rest, ac = gauss_exp(x)
    t = ONE / (ac + GD_M)
    # q = 2a t - 1 (= 1 - 2 m t): t's rounding moves q by (1 + q) times
    # it, nothing at a = 0, where 1 - 2 m t cost 4.4 ulp
    p = p_gd(_fma(ac + ac, t, -ONE))
    return t, p, s, rest, ac


def gauss_fwd_parts(x):
    # x Phi(-|x|) * 2**SC for float32 (``_GF32``, m = 4, degree 9), one
    # division: with xc = x clamped (clamp_gauss), a = |xc|,
    # t = 1/(a + m), s (1 + rest) = exp(-a*a/2) * 2**SC
    # (exact square), the value is xc s t P(q) (1 + rest + e), where
    # e = 1 - t (a + m) undoes the roundings of t and of a + m (first order,
    # from the exact low part of the sum; 2 eps together, 3 ulp at
    # x = -0.35), and q = 2a/(a + m) - 1 is formed from the corrected t as well.
    # The products xc s t and (xc s t) P are exact double-words (fma): only
    # the polynomial, the small correction sum and the final sum round
    # (rounding both products: 3.98 ulp on the exhaustive check).
    xc = clamp_gauss(x)
    ac = abs(xc)
    s, hi, tail = exp_half_square(ac)
    d = ac + GF_M
    t = ONE / d
    # d + dl = a + m exactly (Fast2Sum: a <= m, or d - m exact for a <= 15.5)
    dl = ac - (d - GF_M)
    e = _fma(-t, dl, _fma(-t, d, ONE))
    a2 = ac + ac
    p = p_gf(_fma(a2, t * e, _fma(a2, t, -ONE)))
    xs = xc * s  # exact
    u = xs * t
    v = u * p
    lo = _fma(_fma(xs, t, -u), p, _fma(u, p, -v))
    return v + _fma(v, (hi + tail) + e, lo)


def xndtr_q_(x):
    # x Phi(x) (gelu) as v = x Phi(-|x|) for x < 0 and x - v for x >= 0 (an
    # exact subtraction: v <= x/2), from x clamped to [-GQ_MAX, GQ_MAX]
    # (beyond, v has underflowed: +-inf and +-max need no select).  Scaled
    # back once at the end (subnormal results rounded once).  float64:
    # x Phi(-a) = (x/2) (w + c) (1 + rest) s, with (x/2) w formed exactly:
    # only the small sum of the corrections and the final sum are rounded
    # (rounding the quotient and then two products cost 2.2 ulp; now
    # 1.2-1.3).  float32: gauss_fwd_parts (one division).
    if f64:
        xc = clamp_gauss(x)
        w, c, s, rest, _ac = gauss_parts(xc)
        xh = HALF * (xc * s)  # exact (s first: subnormal x stay exact)
        ph = xh * w
        pl = _fma(xh, c, _fma(xh, w, -ph))  # x w / 2 - ph exactly, plus x c / 2
        v = ph + _fma(ph, rest, _fma(pl, rest, pl))
    else:
        v = gauss_fwd_parts(x)
    # v = x Phi(-|x|) for x = -0 is +0 (a sum of exact zeros): x - v = -0
    v = v * UNSC
    return v if x < ZERO else x - v


def clamp_gauss(x):
    # x clamped to [-GQ_MAX, GQ_MAX]; NaN stays NaN
    return -GQ_MAX if x < -GQ_MAX else (GQ_MAX if x > GQ_MAX else x)


def dxndtr_q_(x):
    # Phi(x) + x phi(x) (the gelu gradient): with E = exp(-a*a/2) and
    # d = w/2 - a/sqrt(2 pi), E d = Phi(-a) - a phi(a): the result is E d for
    # x <= 0 and 1 - E d for x > 0.  S = |Phi(x)| + |x phi(x)|.  (The
    # quotient's correction c is below the bound's scale and left out.)
    # float32 uses the cheaper gauss_grad_parts (one division, degree 8: 14 %
    # faster, 0.54 of the bound on the exhaustive check).
    if f64:
        w, _c, s, rest, ac = gauss_parts(x)
        ds = _fma(-ac, INV_SQRT_2PI, HALF * w) * s
    else:
        t, p, s, rest, ac = gauss_grad_parts(x)
        ds = _fma(t, p, -ac * INV_SQRT_2PI) * s
    # + 0: the underflowed left tail (ac clamped at GQ_MAX, -inf included) is
    # +0, as PyTorch's Phi(x) + x phi(x) (0 + -0) there
    ed = _fma(ds, rest, ds) * UNSC + ZERO
    return ed if x <= ZERO else ONE - ed


_TEMPLATES = (
    pow2,
    reduce,
    exp_parts,
    exp_dw_sc,
    exp_sum,
    exp_dw_,
    exp_,
    exp_s_,
    exp_dw_s_,
    exp_dw_any_,
    exp_s_at_,
    recip1p_,
    expm1_,
    log1p_,
    exp_hl_,
    tanh_,
    gauss_parts,
    gauss_exp,
    exp_half_square,
    gauss_grad_parts,
    gauss_fwd_parts,
    clamp_gauss,
    xndtr_q_,
    dxndtr_q_,
)


# Inlined by Numba (LLVM's inliner leaves these large bodies as calls, and a
# call in a loop body stops vectorisation); the small helpers are left to
# LLVM, which inlines them and compiles much faster.
_NUMBA_INLINE = frozenset(
    {
        "gauss_parts",
        "gauss_grad_parts",
        "gauss_fwd_parts",
    }
)


def _make(*args):
    """Instantiate the templates for one precision (see ``_constants``)."""
    ns = dict(globals())
    ns.update(_constants(*args))
    for fn in _TEMPLATES:
        deco = _inline if fn.__name__ in _NUMBA_INLINE else register_jitable
        ns[fn.__name__] = deco(pytypes.FunctionType(fn.__code__, ns, fn.__name__))
    return dict(
        exp=ns["exp_"],
        exp_dw=ns["exp_dw_"],
        exp_dw_any=ns["exp_dw_any_"],
        expm1=ns["expm1_"],
        log1p=ns["log1p_"],
        exp_hl=ns["exp_hl_"],
        tanh=ns["tanh_"],
        xndtr=ns["xndtr_q_"],
        dxndtr=ns["dxndtr_q_"],
        exp_s=ns["exp_s_"],
        exp_s_at=ns["exp_s_at_"],
        recip1p=ns["recip1p_"],
        exp_dw_s=ns["exp_dw_s_"],
    )


_IMPL = {
    types.float64: _make(
        np.float64,
        np.int64,
        52,
        1023,
        6.93147180369123816490e-01,
        _EXP_P64,
        710.0,
        -40.0,
        _LG64,
        _GQ64,
        None,
        None,
    ),
    types.float32: _make(
        np.float32,
        np.int32,
        23,
        127,
        0.693359375,
        _EXP_P32,
        89.0,
        -20.0,
        _LG32,
        _GQ32,
        _GD32,
        _GF32,
    ),
}


def _dispatch(name, nargs):
    def pick(t):
        if isinstance(t, types.Float) and t in _IMPL:
            return _IMPL[t][name], None
        if isinstance(t, (types.Integer, types.Float)):
            return _IMPL[types.float64][name], np.float64
        return None, None

    if nargs == 1:

        def ol1(x):
            f, conv = pick(x)
            if f is None or conv is None:
                return f
            return lambda x: f(np.float64(x))

        return ol1

    def ol2(x, lo):
        f, conv = pick(x)
        if f is None or conv is None:
            return f
        return lambda x, lo: f(np.float64(x), np.float64(lo))

    return ol2


# --------------------------------------------------------------------------
# the public functions (Python versions are the float64 oracle)
# --------------------------------------------------------------------------


def exp(x):
    """e**x."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def exp_dw(x, lo):
    """e**(x + lo) for a small correction lo."""
    return exp(x) * (1.0 + lo)


def _scale_up(v):
    try:
        return math.ldexp(v, SCALE_EXP)
    except OverflowError:
        return math.copysign(math.inf, v)


def exp_s(x):
    """e**x * 2**SCALE_EXP (keeps e**x normal where it would be subnormal)."""
    return _scale_up(exp(x))


def exp_dw_s(x, lo):
    """e**(x + lo) * 2**SCALE_EXP."""
    return _scale_up(exp_dw(x, lo))


def exp_s_at(x):
    """(c, e**c * 2**SCALE_EXP) with c = max(x, exp_s_floor(float64)), NaN -> the floor.

    The exponential's lower limit (kept, not zeroed below), for callers
    whose result is c times the exponential: that has underflowed below
    the limit, -inf included; a NaN x reaches the caller's result through
    x.  (The float32 implementation clamps at exp_s_floor(float32).)"""
    lo = exp_s_floor(np.float64)
    c = x if x >= lo else lo  # NaN: lo
    if c < -700.0:  # e**c alone subnormal
        return c, exp(c + SCALE_EXP * 0.6931471805599453)
    return c, exp_s(c)


def recip1p(x):
    """1/(1 + x) for 0 <= x <= 1 (float64: within about half an ulp)."""
    return 1.0 / (1.0 + x)


def expm1(x):
    """e**x - 1, accurate near 0."""
    try:
        return math.expm1(x)
    except OverflowError:
        return math.inf


def log1p(x):
    """log(1 + x), accurate near 0."""
    return math.log1p(x)


def exp_dw_any(x, lo):
    """e**(x + lo) for any x (overflowing to inf), a small correction lo."""
    return exp_dw(x, lo)


def exp_hl(x, lo):
    """e**(x + lo) as a double-word (eh, el) for x <= 40 (Python: el = 0)."""
    return exp_dw(x, lo), 0.0


def erfc(x):
    """Complementary error function."""
    return math.erfc(x)


def erf(x):
    """Error function."""
    return math.erf(x)


def ndtr(x):
    """Standard normal CDF Phi(x) = erfc(-x/sqrt2)/2."""
    return 0.5 * math.erfc(-x * 0.7071067811865476)


def xndtr(x):
    """x * Phi(x) (the exact gelu), accurate on the left tail; -0.0 at -inf."""
    return -0.0 if x == -math.inf else x * ndtr(x)


def dxndtr(x):
    """Phi(x) + x phi(x), the derivative of x * Phi(x) (the gelu gradient); 1 at +inf, 0 at -inf."""
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    return ndtr(x) + x * npdf(x) + 0.0


def npdf(x):
    """Standard normal density exp(-x*x/2)/sqrt(2 pi)."""
    return 0.3989422804014327 * math.exp(-0.5 * x * x)


def ndtr_s(x):
    """Phi(x) * 2**SCALE_EXP."""
    return _scale_up(ndtr(x))


def npdf_s(x):
    """phi(x) * 2**SCALE_EXP."""
    return _scale_up(npdf(x))


def tanh(x):
    """Hyperbolic tangent."""
    return math.tanh(x)


for _name, _fn in (
    ("exp", exp),
    ("exp_dw", exp_dw),
    ("expm1", expm1),
    ("log1p", log1p),
    ("exp_hl", exp_hl),
    ("exp_dw_any", exp_dw_any),
    ("xndtr", xndtr),
    ("dxndtr", dxndtr),
    ("tanh", tanh),
    ("exp_s", exp_s),
    ("exp_s_at", exp_s_at),
    ("recip1p", recip1p),
    ("exp_dw_s", exp_dw_s),
):
    overload(_fn, inline="always")(_dispatch(_name, _fn.__code__.co_argcount))


# gelu_tanh argument v = 2u = x (A + B x**2), A = 2 sqrt(2/pi), B = A*0.044715,
# returned as a double-word vh + vl (the sigmoid of v has condition number |v|).
_GT_A = 1.5957691216057308
_GT_A_LO = -9.96930880911092e-17
_GT_B = 0.07135481627260025
_GT_B_LO = -6.175149918155315e-19


def gelu_tanh_arg(x):
    """(vh, vl) with vh + vl = 2*sqrt(2/pi)*(x + 0.044715 x**3)."""
    return x * (_GT_A + _GT_B * x * x), 0.0


@overload(gelu_tanh_arg)
def _ol_gelu_tanh_arg(x):
    if _is_f32(x):

        def impl32(x):
            # |x| > 1e6: the sigmoid of v has saturated; clamping keeps the
            # double-word finite (NaN passes through the comparisons)
            xd = np.float64(x)
            xd = 1e6 if xd > 1e6 else xd
            xd = -1e6 if xd < -1e6 else xd
            v = xd * (_GT_A + _GT_B * xd * xd)
            vh = np.float32(v)
            vl = np.float32(v - np.float64(vh))
            return vh, vl

        return impl32

    def impl64(x):
        x = 1e6 if x > 1e6 else x
        x = -1e6 if x < -1e6 else x
        x2h, x2l = _two_prod(x, x)
        th, tl = _two_prod(_GT_B, x2h)
        tl = tl + (_GT_B * x2l + _GT_B_LO * x2h)
        sh = _GT_A + th  # TwoSum (|th| may exceed A)
        bb = sh - _GT_A
        sl = ((_GT_A - (sh - bb)) + (th - bb)) + (tl + _GT_A_LO)
        vh, vl = _two_prod(x, sh)
        vl = vl + x * sl
        h = vh + vl
        return h, vl - (h - vh)

    return impl64


# softplus for float32: e = exp(-|v|) in float32 as a double-word, then
# log1p(e) = 2 atanh(s), s = e / (2 + e) <= 1/3, in float64 by its series to
# s**19 (1.4e-10 relative), rounded once: 0.63 ulp (the float32 log1p after
# the float32 exp: 2.16).  Its gradient's sigmoid stays in float32
# (``sigmoid_times``; float64 cost it 55 %).
_ATANH = tuple(1.0 / (2 * k + 1) for k in range(9, -1, -1))  # highest degree first
_p_atanh = _poly_estrin(_ATANH)
# float64: log1p(e) = 2 atanh(s) = 2 s + 2 s z P(z), z = s**2 <= 1/9, P(z) =
# (atanh(s)/s - 1)/z to 3.7e-18 relative (mpmath.chebyfit, 11 terms:
# tools/fit_softplus.py); 2 s z P(z) is at most 3.7 % of the result.
_ATANH_P64 = (
    0.07815288900461426,
    0.03746071897775383,
    0.05422589197440007,
    0.05867139530651599,
    0.06667589315724629,
    0.07692271982430275,
    0.09090909948981357,
    0.11111111099118386,
    0.1428571428580005,
    0.19999999999999762,
    0.3333333333333333,
)
_p_atanh64 = _poly_estrin(_ATANH_P64)


def softplus_core(x, beta):
    """``(max(v, 0) + log1p(exp(-|v|))) / beta`` for ``v = beta * x``, as
    ``(x if v > 0 else 0) + log1p(exp(-|v|)) / beta``."""
    v = x * beta
    m = x if v > 0 else lit(x, 0.0)
    return m + log1p(exp(-abs(v))) / beta


@_inline
def _neg_abs_dw(h, lo):
    """-|h + lo| as the double-word (-|h|, +-lo) (the argument of exp(-|v|))."""
    return -abs(h), (lo if h < 0 else -lo)


# Both precisions take v = beta * x as the exact double-word vh + vl (the
# exponential of a rounded v is off by |v| half-ulps: 10 ulp at v = -20 for
# beta != 1) and divide by beta through its hoisted reciprocal (a division per
# element otherwise, beta being a loop-invariant parameter).


@overload(softplus_core)
def _ol_softplus_core(x, beta):
    if _is_f32(x):

        def impl32(x, beta):
            # e = exp(-|v|) in float32 as a double-word, the rest in float64
            vh = x * beta
            ah, al = _neg_abs_dw(vh, _fma(x, beta, -vh))
            eh, el = exp_hl(ah, al)
            e = np.float64(eh) + np.float64(el)
            s = e / (2.0 + e)
            # -0.0: m + y is y itself (keeps -0.0 for negative beta)
            m = np.float64(x) if vh > 0 else -0.0
            return np.float32(m + 2.0 * s * _p_atanh(s * s) * (1.0 / np.float64(beta)))

        return impl32

    def impl64(x, beta):
        # log1p(e) = 2 atanh(s), s = e / (2 + e), with e = exp(-|v|) = eh + el
        # and 2 s = lh + ll unrounded double-words (the rounding of e alone
        # cost up to 1.2 ulp of the result near v = -0.44, fdlibm's log1p
        # up to 2 ulp); (x if v > 0) + (lh + ll) / beta summed exactly, the
        # small rest added, one rounding
        vh = x * beta
        ah, al = _neg_abs_dw(vh, _fma(x, beta, -vh))
        eh, el = exp_hl(ah, al)
        # 2 s = e / (1 + e/2) = lh + (its correction); 1 + e/2 = hd + hl
        # exactly (Fast2Sum), and 1/(1 + e/2) = 1 - s: no second division.
        # (lh is one rounding of e / hd: subnormal e stay within half an ulp)
        hd = 1.0 + 0.5 * eh
        hl = (0.5 * eh - (hd - 1.0)) + 0.5 * el
        lh = eh / hd
        z = 0.25 * (lh * lh)
        ll = (_fma(-lh, hd, eh) + (el - lh * hl)) * (1.0 - 0.5 * lh) + lh * z * _p_atanh64(z)
        # (lh + ll) / beta = bh + bl (bh's residual by an fma; exact for beta = 1)
        rb = 1.0 / beta
        bh = lh * rb
        bl = (_fma(-bh, beta, lh) + ll) * rb
        m = x if vh > 0 else 0.0
        rh = m + bh  # TwoSum
        bb = rh - m
        r = rh + (((m - (rh - bb)) + (bh - bb)) + bl)
        # m = +inf (threshold = inf): the TwoSum's inf - inf; a zero result
        # takes bh's sign (-0.0 for negative beta)
        r = r if r == r else m + bh
        return bh if r == 0.0 else r

    return impl64


@_inline
def sigmoid_times(v, vl, g):
    """``g * sigmoid(v + vl)`` (one exponential, stable for any v; vl: the low
    part of a double-word argument): with e = exp(-|v + vl|) rounded once,
    the quotient (1 or e) / (1 + e) of 1 + e taken as an exact double-word
    dh + dl, as q + c (q = n / dh rounded, c its correction from the
    exactly computed residual), q + c rounded once (then times g).  (e as a
    double-word too gave 0.55 ulp instead of 1.2 but cost 7-9 %.)"""
    ah, al = _neg_abs_dw(v, vl)
    eh = exp_dw(ah, al)
    one = lit(v, 1.0)
    dh = one + eh
    dl = eh - (dh - one)  # 1 + e = dh + dl
    pos = v >= 0
    nh = one if pos else eh
    q = nh / dh
    # 1/dh to within an ulp, for the correction: q itself (v >= 0) or 1 - q
    rd = q if pos else one - q
    c = (fma(-q, dh, nh) - q * dl) * rd
    return g * (q + c)
