"""Scalar forward and gradient kernels: the single source of every activation.

Rules for this module (they make one function compile for the cpu, parallel
and cuda targets, and let the undecorated function serve as the test oracle):

* only arithmetic, comparisons and :mod:`math` (plus the approximations of
  :mod:`fastrelu._approx`, which obey the same rules);
* no NumPy calls, no exceptions, no allocation, no globals other than
  constants;
* NaN handling is explicit.  Every comparison with NaN is false, so a kernel
  writes its test so that NaN takes the branch PyTorch's scalar kernel sends it
  to (see ``docs/semantics.md``): ``0.0 if x <= 0.0 else x`` keeps NaN, while
  ``x if x > 0.0 else 0.0`` would turn it into 0.

Gradient kernels take ``(x, g, *params)`` and return ``g * f'(x)``, except
where PyTorch *selects* (returns 0 without multiplying, so that a NaN/inf
``g`` where the local gradient is 0 gives 0): relu, relu6, hardtanh,
threshold, hardsigmoid, hardswish.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

from fastrelu import _approx as ap


# Helpers shared by several kernels must be jitable from any kernel:
# ``register_jitable`` keeps them plain Python functions too (the oracle).
# (A fresh decorator per function: one shared ``register_jitable(inline=...)``
# object pops ``inline`` from its kwargs and inlines only the first function.)
def _helper(fn):
    return register_jitable(inline="always")(fn)


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
SQRT_2 = 1.4142135623730951
INV_SQRT_2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327
SQRT_2_OVER_PI = 0.7978845608028654
GELU_TANH_C = 0.044715
INF = math.inf
SQUAREPLUS_BIG = 2.0**60

# --------------------------------------------------------------------------
# piecewise linear
# --------------------------------------------------------------------------


def relu(x):
    # relu(-0.0) = +0.0 (NumPy's maximum, IEEE 754-2019); NaN propagates.
    return 0 if x <= 0 else x


def relu_grad(x, g):
    return 0.0 if x <= 0 else g


def relu_grad_from_output(y, g):
    # y = relu(x) > 0 exactly where x > 0, so the output carries the mask.
    return 0.0 if y <= 0 else g


def leaky_relu(x, negative_slope):
    return x if x > 0 else x * negative_slope


def leaky_relu_grad(x, g, negative_slope):
    return g if x > 0 else g * negative_slope


def leaky_relu_grad_from_output(y, g, negative_slope):
    # Valid for negative_slope > 0 (the wrapper checks): sign(y) == sign(x).
    return g if y > 0 else g * negative_slope


def prelu(x, weight):
    return x if x > 0 else x * weight


def prelu_grad(x, g, weight):
    return g if x > 0 else g * weight


def rrelu(x, lower, upper):
    # Evaluation mode: the mean slope.
    a = (lower + upper) * 0.5
    return x if x > 0 else x * a


def rrelu_grad(x, g, lower, upper):
    a = (lower + upper) * 0.5
    return g if x > 0 else g * a


def threshold(x, threshold, value):
    return value if x <= threshold else x


def threshold_grad(x, g, threshold):
    return 0.0 if x <= threshold else g


def relu6(x):
    if x <= 0:
        return 0
    return 6 if x >= 6 else x


def relu6_grad(x, g):
    return 0.0 if (x <= 0 or x >= 6) else g


def hardtanh(x, min_val, max_val):
    if x < min_val:
        return min_val
    return max_val if x > max_val else x


def hardtanh_grad(x, g, min_val, max_val):
    return 0.0 if (x <= min_val or x >= max_val) else g


def hardsigmoid(x):
    if x <= -3.0:
        return 0.0
    if x >= 3.0:
        return 1.0
    return (x + 3.0) / 6.0


def hardsigmoid_grad(x, g):
    return g * (1.0 / 6.0) if (x > -3.0 and x < 3.0) else 0.0


def hardswish(x):
    # PyTorch: x * min(max(x + 3, 0), 6) / 6.  x <= -3 gives -0.0 there; we
    # return -0.0 directly so that x = -inf gives the limit, not NaN.
    if x <= -3.0:
        return -0.0
    if x >= 3.0:
        # the identity: x * 6 / 6 would overflow to inf near the largest finite value
        return x
    return x * (x + 3.0) / 6.0


def hardswish_grad(x, g):
    if x <= -3.0:
        return 0.0
    if x < 3.0:
        return g * (x / 3.0 + 0.5)
    return g


# --------------------------------------------------------------------------
# exponential family
#
# The smooth kernels compute in their argument's precision: constants go
# through ``ap.lit(x, c)`` (a bare Python float would promote float32 work to
# float64), and the elementary functions of :mod:`fastrelu._approx` are
# vectorisable polynomial implementations.  Gradient comments state S, the sum
# of the magnitudes of the terms added (the accuracy test's rounding scale).
# --------------------------------------------------------------------------

# selu's lambda*alpha as a double-word constant (the product of the two
# float64 parameters, exactly).
SELU_LA_HI = 1.7580993408473766
SELU_LA_LO = 5.75014648756476e-17


def elu(x, alpha):
    return x if x > 0 else alpha * ap.expm1(x)


def elu_grad(x, g, alpha):
    # S = |alpha e^x| (a product: no sum)
    return g * alpha * ap.exp(x) if x <= 0 else g


def elu_grad_from_output(y, g, alpha):
    # For x <= 0: y = alpha * expm1(x), so alpha * exp(x) = y + alpha.
    return g * (y + alpha) if y <= 0 else g


def selu(x):
    if x > 0:
        return ap.lit(x, SELU_SCALE) * x
    e = ap.expm1(x)
    return ap.lit(x, SELU_LA_HI) * e + ap.lit_lo(x, SELU_LA_HI, SELU_LA_LO) * e


def selu_grad(x, g):
    # S = |lambda alpha e^x| (a product)
    if x <= 0:
        e = ap.exp(x)
        return g * (ap.lit(x, SELU_LA_HI) * e + ap.lit_lo(x, SELU_LA_HI, SELU_LA_LO) * e)
    return g * ap.lit(x, SELU_SCALE)


@_helper
def _over(x, alpha):
    # x / alpha = u + ul without a division in the loop: 1 / alpha is
    # loop-invariant (LLVM hoists it), u = x (1/alpha), and ul its residual
    # (x - u alpha, exact by an fma) over alpha -- the exponential of a
    # rounded x / alpha would be off by |x / alpha| ulps.  (ul = 0 where u is
    # +-inf: x infinite, x / alpha or 1 / alpha overflowing.)
    ra = ap.lit(x, 1.0) / alpha
    u = x * ra
    ul = ap.fma(-u, alpha, x) * ra
    return u, (ul if abs(u) < INF else ap.lit(x, 0.0))


def celu(x, alpha):
    # alpha expm1(u + ul) = alpha (e + (e + 1) ul), e = expm1(u); x where
    # x >= 0 or NaN (-0.0 stays -0.0)
    u, ul = _over(x, alpha)
    e = ap.expm1(u)
    em = e if abs(e) == INF else e + ap.fma(e, ul, ul)  # alpha < 0: e may overflow
    return alpha * em if x < 0 else x


def celu_grad(x, g, alpha):
    # S = |e^(x/alpha)| (a product).  alpha < 0: x/alpha > 0, up to overflow
    # (a branch on the loop-invariant alpha, not a select: measured, alpha > 0
    # then runs as fast as without the large-argument exponential, which cost
    # 20-30 % as a select)
    u, ul = _over(x, alpha)
    if alpha < 0:
        e = ap.exp_dw_any(u, ul)
    else:
        e = ap.exp_dw(u, ul)
    return g * e if x <= 0 else g


def softplus(x, beta, threshold):
    # PyTorch's definition: x where beta*x > threshold, else
    # log1p(exp(beta*x))/beta, evaluated as max(bx, 0) + log1p(exp(-|bx|)).
    # (Main path unconditional, special cases selected at the end: branches
    # around the main path make LLVM's cost model refuse to vectorise.)
    # (beta * x as an exact double-word; float32: the series in float64, see
    # ap.softplus_core)
    bx = x * beta
    r = ap.softplus_core(x, beta)
    # NaN x: x itself (sign and payload; the core's -|v| would flip the sign);
    # a NaN threshold selects r, as in PyTorch
    return x if (bx > threshold) | (x != x) else r


def softplus_grad(x, g, beta, threshold):
    # g sigmoid(beta x), beta x as the exact double-word bx + bl (sigmoid's
    # condition number is |beta x| on the left); S = |sigmoid(beta x)|
    bx = x * beta
    bl = ap.fma(x, beta, -bx)
    r = ap.sigmoid_times(bx, bl, g)
    return g if bx > threshold else r


# --------------------------------------------------------------------------
# sigmoid-weighted family (limits at +-inf instead of PyTorch's NaN)
#
# Left tails: x * e**x (and the like) is computed from ap.exp_s = e**x * 2**64,
# which stays normal where e**x is subnormal, and scaled back by ap.UNSCALE
# once at the end, so that subnormal results are rounded once instead of
# losing the bits e**x lost.
# --------------------------------------------------------------------------


def silu(x):
    # es = e * 2**64, e = exp(c), c = -|x| clamped where x e has underflowed
    # (ap.exp_s_at: -inf and the far left tail give -0 without a select; NaN
    # gives the clamp, so x * d is x's NaN)
    c, es = ap.exp_s_at(-abs(x))
    e = es * ap.lit(x, ap.UNSCALE)
    d = ap.recip1p(e)  # 1/(1 + e), float64 rounded once
    # x < 0: c es d with c es an exact double-word (ph + pl): only exp, d
    # and the last product round
    ph = c * es
    rn = ap.fma(ph, d, ap.fma(c, es, -ph) * d) * ap.lit(x, ap.UNSCALE)
    return rn if x < 0 else x * d  # NaN: x * d keeps x's sign and payload


def silu_grad(x, g):
    # s + x s (1 - s), s = sigmoid(x); S = |s| + |x s (1 - s)|.  With
    # e = exp(-|x|) and d = 1 / (1 + e), s (1 - s) = e d**2 on both sides
    # (s = d, 1 - s = e d for x >= 0; the other way round for x < 0), so the
    # result is one fma on s: s + (x e d) d, computed times 2**64 (u = e d
    # 2**64 stays normal in the left tail) and scaled back once.  x is
    # clamped where x e has underflowed (ap.exp_s_at on the left, 1e4 on
    # the right: keeps inf * 0 out; NaN passes).
    one = ap.lit(x, 1.0)
    big = ap.lit(x, 1e4)
    c, es = ap.exp_s_at(-abs(x))
    d = one / (one + es * ap.lit(x, ap.UNSCALE))
    u = es * d
    s2 = d * ap.lit(x, 2.0**ap.SCALE_EXP) if x >= 0 else u
    xc = c if x < 0 else (big if x > big else x)
    return g * (ap.fma(xc * u, d, s2) * ap.lit(x, ap.UNSCALE))


def gelu(x):
    # Exact (erf) form x * Phi(x), Phi(x) = erfc(-x/sqrt2)/2 (ap.xndtr: the
    # left tail keeps its relative accuracy where Phi(x) is subnormal; the
    # erf form 0.5 x (1 + erf(x/sqrt2)) cancels to 0); xndtr(-inf) = -0.0.
    return ap.xndtr(x)


def gelu_grad(x, g):
    # Phi(x) + x phi(x); S = |Phi(x)| + |x phi(x)| (dxndtr: 1 at +inf, +0 at -inf)
    return g * ap.dxndtr(x)


@_helper
def _sigmoid_dw(vh, vl):
    # (sigmoid(v), sigmoid(-v)) for v = vh + vl, with e = exp(-|v|) taking the
    # low part into account (sigmoid has condition number |v| in the tail).
    e = ap.exp_dw(-abs(vh), -vl if vh >= 0 else vl)
    one = ap.lit(vh, 1.0)
    d = one / (one + e)
    ed = e * d
    return (d, ed) if vh >= 0 else (ed, d)


def gelu_tanh(x):
    # 0.5 x (1 + tanh(u)) == x * sigmoid(2u): no cancellation on the left.
    # v = 2u as a double-word; for v < 0, sigmoid(v) = e d with e = exp(v)
    # taken times 2**64 (ap.exp_dw_s) and scaled back once.
    vh, vl = ap.gelu_tanh_arg(x)
    es = ap.exp_dw_s(-abs(vh), -vl if vh >= 0 else vl)
    e = es * ap.lit(x, ap.UNSCALE)
    # d = 1/(1 + e) (ap.recip1p: float64 rounded once).  v < 0: x es / (1 + e)
    # with x es an exact double-word (fma): only exp, d and the last product
    # round
    d = ap.recip1p(e)
    ph = x * es
    pl = ap.fma(x, es, -ph)
    rn = ap.fma(ph, d, pl * d)
    rn = (rn if rn != 0 else ph) * ap.lit(x, ap.UNSCALE)  # keeps -0.0
    r = x * d if vh >= 0 else rn
    return ap.lit(x, -0.0) if x == -INF else r


def gelu_tanh_grad(x, g):
    # s + x s (1 - s) v', v = 2u, v' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2);
    # S = |s| + |x s (1 - s) v'|
    one = ap.lit(x, 1.0)
    vh, vl = ap.gelu_tanh_arg(x)
    es = ap.exp_dw_s(-abs(vh), -vl if vh >= 0 else vl)
    e = es * ap.lit(x, ap.UNSCALE)
    d = one / (one + e)
    ed = e * d
    eds = es * d
    # |x| > 1e6: s (1 - s) is 0 and x * v' may overflow (0 * inf): clamp x
    big = ap.lit(x, 1e6)
    xc = big if x > big else x
    xc = -big if xc < -big else xc
    dv = ap.lit(x, 2.0 * SQRT_2_OVER_PI) + ap.lit(x, 6.0 * SQRT_2_OVER_PI * GELU_TANH_C) * (xc * xc)
    xdv = xc * dv
    rp = d + xdv * (d * ed)  # v >= 0: s = d, 1 - s = e d
    rn = (eds + xdv * (eds * d)) * ap.lit(x, ap.UNSCALE)  # v < 0: s = e d, 1 - s = d
    r = g * (rp if vh >= 0 else rn)
    r = ap.lit(x, 0.0) * g if x == -INF else r
    return g if x == INF else r


@_helper
def _tanh_softplus(x):
    # tanh(log1p(exp(x))) = n / (n + 2) with n = e^x (e^x + 2).
    two = ap.lit(x, 2.0)
    xc = ap.lit(x, 20.0) if x >= 20.0 else x  # keeps n finite
    e = ap.exp(xc)
    n = e * (e + two)
    r = n / (n + two)
    return ap.lit(x, 1.0) if x >= 20.0 else r


def mish(x):
    # x tanh(softplus(x)) = x n / (n + 2), n = e (e + 2), e = exp(x), from
    # es = e * 2**64 so that the left tail (x e, subnormal) is rounded once:
    # n / (n + 2) = e h, h = (e + 2) / (e (e + 2) + 2), with the numerator and
    # the denominator as double-words and the quotient as one (Dekker: a
    # second division for its low part), and x es kept exact (fma): only exp
    # and the last sum round (h = 1 - e (e + 1) / (n + 2) on the left and
    # x n / (n + 2) on the right rounded five times: float64 mish 2.1 ulp).
    # x >= 20: t = 1.
    two = ap.lit(x, 2.0)
    xc = ap.lit(x, 20.0) if x >= 20.0 else x
    es = ap.exp_s(xc)
    e = es * ap.lit(x, ap.UNSCALE)
    # e + 2 = ah + al exactly; the denominator e ah + 2 + e al = n2 + dl
    # (2 - n2 is exact: n2 >= 2)
    ah, al = ap.two_sum(two, e)
    n2 = ap.fma(e, ah, two)
    dl = ap.fma(e, ah, two - n2) + e * al
    h = ah / n2
    hl = (ap.fma(-h, n2, ah) + (al - h * dl)) / n2
    ph = x * es
    pl = ap.fma(x, es, -ph)
    r = ap.fma(ph, h, ap.fma(ph, hl, pl * h))
    r = (r if r != 0 else ph) * ap.lit(x, ap.UNSCALE)  # keeps -0.0
    r = x if x >= 20.0 else r
    return ap.lit(x, -0.0) if x == -INF else r


def mish_grad(x, g):
    # t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x));
    # S = |t| + |x sigmoid(x) (1 - t^2)|.  t and sigmoid(x) from es = e * 2**64
    # (left tail), 1 - t^2 = 4 (n + 1) / (n + 2)^2 without cancellation.
    one = ap.lit(x, 1.0)
    two = ap.lit(x, 2.0)
    xc = ap.lit(x, 20.0) if x >= 20.0 else x
    es = ap.exp_s(xc)
    e = es * ap.lit(x, ap.UNSCALE)
    ns = es * (e + two)
    n = ns * ap.lit(x, ap.UNSCALE)
    n2 = n + two
    ts = ns / n2
    one_minus_t2 = ap.lit(x, 4.0) * (n + one) / (n2 * n2)  # (1 - t)(1 + t)
    sigs = es / (one + e)
    r = g * ((ts + x * sigs * one_minus_t2) * ap.lit(x, ap.UNSCALE))
    r = ap.lit(x, 0.0) * g if x == -INF else r
    return g if x >= 20.0 else r  # includes +inf


# --------------------------------------------------------------------------
# squareplus (JAX)
# --------------------------------------------------------------------------


def squareplus(x, b):
    # (x + sqrt(x^2 + b)) / 2 without overflowing x^2 (|x| > 2**60: the root
    # is |x| to working precision for any b < 2**60) and without cancellation
    # for x < -sqrt(b)/4, where it equals b / (2 (sqrt(x^2 + b) - x)).
    big = abs(x) > ap.lit(x, SQUAREPLUS_BIG)
    xs = ap.lit(x, 0.0) if big else x
    s = math.sqrt(ap.fma(xs, xs, b))  # x^2 + b rounded once
    s = abs(x) if big else s
    half = ap.lit(x, 0.5)
    # direct form where x + s cancels little (x >= -sqrt(b)/4: s/(x + s) <= 1.33)
    if x >= 0 or ap.lit(x, 16.0) * (x * x) <= b:
        return half * x + half * s
    # b / (2 (s - x)) = (b/4) / (s/2 - x/2) with s/2 - x/2 = dh + dlo exact
    # (Fast2Sum, s >= -x): the quotient q0 = (b/4) / dh corrected by
    # -q0 dlo / dh = -q0**2 dlo / (b/4) (the reciprocal of b/4 is
    # loop-invariant; 0 where it overflows, b subnormal): 1.3 ulp (the
    # rounded difference: 2.02).  The root's own
    # rounding (0.5 ulp of s, halved here) is left: correcting it too gave
    # 0.5 ulp but cost a division and 2x the time.
    # (halves: s - x overflows at -max; big: s = |x| exactly, no low part)
    hs = half * s
    hx = half * x
    dh = hs - hx
    dlo = ap.lit(x, 0.0) if big else (hs - dh) - hx
    qb = ap.lit(x, 0.25) * b
    rb = ap.lit(x, 1.0) / qb
    rb = rb if rb < INF else ap.lit(x, 0.0)
    q0 = qb / dh
    return ap.fma(-(q0 * q0) * rb, dlo, q0)


def squareplus_grad(x, g, b):
    # (1 + x / sqrt(x^2 + b)) / 2 = num / (2 den), one division, no branch
    # (float64 did not vectorise with a division on each side of a branch):
    # x >= 0: (s + x) / (2 s), S = 1 + x/s (no cancellation); x < 0 uses the
    # cancellation-free b / (2 s (s - x)).  |x| > 2**60: the limits 1 and
    # b / (4 x^2) (x = +inf: inf / inf, x = -inf: b / inf = 0).
    big = abs(x) > ap.lit(x, SQUAREPLUS_BIG)
    xs = ap.lit(x, 0.0) if big else x
    s = math.sqrt(xs * xs + b)
    s = abs(x) if big else s
    half = ap.lit(x, 0.5)
    pos = x >= 0
    num = (s + x) if pos else b
    den = s if pos else s * (s - x)
    r = half * g * num / den
    return g if (pos and big) else r
