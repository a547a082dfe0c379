"""Scalar forward and gradient kernels: the single source of every activation.

Rules for this module (they make one function compile for the cpu, parallel
and cuda targets, and let the undecorated function serve as the test oracle):

* only arithmetic, comparisons and :mod:`math` (plus the approximations of
  :mod:`fastrelu._approx`, which obey the same rules);
* no NumPy calls, no exceptions, no allocation, no globals other than
  constants;
* NaN handling is explicit.  Every comparison with NaN is false, so a kernel
  writes its test so that NaN takes the branch PyTorch's scalar kernel sends it
  to (see ``SEMANTICS.md``): ``0.0 if x <= 0.0 else x`` keeps NaN, while
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
_helper = register_jitable(inline="always")

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
    r = x + 3.0
    if r > 6.0:
        r = 6.0
    return x * r / 6.0


def hardswish_grad(x, g):
    if x <= -3.0:
        return 0.0
    if x < 3.0:
        return g * (x / 3.0 + 0.5)
    return g


# --------------------------------------------------------------------------
# exponential family
# --------------------------------------------------------------------------


def elu(x, alpha):
    return x if x > 0 else alpha * ap.expm1(x)


def elu_grad(x, g, alpha):
    return g * alpha * ap.exp(x) if x <= 0 else g


def elu_grad_from_output(y, g, alpha):
    # For x <= 0: y = alpha * expm1(x), so alpha * exp(x) = y + alpha.
    return g * (y + alpha) if y <= 0 else g


def selu(x):
    return SELU_SCALE * x if x > 0 else (SELU_SCALE * SELU_ALPHA) * ap.expm1(x)


def selu_grad(x, g):
    return g * (SELU_SCALE * SELU_ALPHA) * ap.exp(x) if x <= 0 else g * SELU_SCALE


def celu(x, alpha):
    return x if x > 0 else alpha * ap.expm1(x / alpha)


def celu_grad(x, g, alpha):
    return g * ap.exp(x / alpha) if x <= 0 else g


def softplus(x, beta, threshold):
    bx = x * beta
    if bx > threshold:
        return x
    return ap.log1p(ap.exp(bx)) / beta


def softplus_grad(x, g, beta, threshold):
    bx = x * beta
    if bx > threshold:
        return g
    z = ap.exp(bx)
    return g * z / (z + 1.0)


# --------------------------------------------------------------------------
# sigmoid-weighted family (limits at +-inf instead of PyTorch's NaN)
# --------------------------------------------------------------------------


@_helper
def _sigmoid(x):
    # Stable logistic for any x.
    if x >= 0:
        return 1.0 / (1.0 + ap.exp(-x))
    e = ap.exp(x)
    return e / (1.0 + e)


def silu(x):
    if x == -INF:
        return -0.0
    if x >= 0:
        return x / (1.0 + ap.exp(-x))
    e = ap.exp(x)
    return x * e / (1.0 + e)


def silu_grad(x, g):
    if x == -INF:
        return 0.0 * g
    if x == INF:
        return g
    s = _sigmoid(x)
    t = _sigmoid(-x)  # 1 - s without cancellation
    return g * (s + x * s * t)


def gelu(x):
    # Exact (erf) form written with erfc: 0.5 x erfc(-x/sqrt2) keeps the left
    # tail accurate where 0.5 x (1 + erf(x/sqrt2)) cancels to 0.
    if x == -INF:
        return -0.0
    return 0.5 * x * ap.erfc(-x * INV_SQRT_2)


def gelu_grad(x, g):
    if x == -INF:
        return 0.0 * g
    if x == INF:
        return g
    cdf = 0.5 * ap.erfc(-x * INV_SQRT_2)
    pdf = INV_SQRT_2PI * ap.exp(-0.5 * x * x)
    return g * (cdf + x * pdf)


def gelu_tanh(x):
    # 0.5 x (1 + tanh(u)) == x * sigmoid(2u): no cancellation on the left.
    if x == -INF:
        return -0.0
    u = SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x)
    return x * _sigmoid(2.0 * u)


def gelu_tanh_grad(x, g):
    if x == -INF:
        return 0.0 * g
    if x == INF:
        return g
    x2 = x * x
    u = SQRT_2_OVER_PI * (x + GELU_TANH_C * x2 * x)
    s = _sigmoid(2.0 * u)
    t = _sigmoid(-2.0 * u)
    du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_C * x2)
    return g * (s + x * 2.0 * s * t * du)


@_helper
def _tanh_softplus(x):
    # tanh(log1p(exp(x))) = n / (n + 2) with n = e^x (e^x + 2).
    if x >= 20.0:
        return 1.0
    e = ap.exp(x)
    n = e * (e + 2.0)
    return n / (n + 2.0)


def mish(x):
    if x == -INF:
        return -0.0
    return x * _tanh_softplus(x)


def mish_grad(x, g):
    if x == -INF:
        return 0.0 * g
    if x == INF:
        return g
    if x >= 20.0:
        return g
    e = ap.exp(x)
    n = e * (e + 2.0)
    t = n / (n + 2.0)
    one_minus_t2 = 4.0 * (n + 1.0) / ((n + 2.0) * (n + 2.0))  # (1 - t)(1 + t)
    return g * (t + x * _sigmoid(x) * one_minus_t2)


# --------------------------------------------------------------------------
# squareplus (JAX)
# --------------------------------------------------------------------------


def squareplus(x, b):
    # (x + sqrt(x^2 + b)) / 2 without overflowing x^2 and without
    # cancellation for x < 0, where it equals b / (2 (sqrt(x^2 + b) - x)).
    s = math.hypot(x, math.sqrt(b))
    if x >= 0:
        return 0.5 * (x + s)
    return 0.5 * b / (s - x)


def squareplus_grad(x, g, b):
    s = math.hypot(x, math.sqrt(b))
    if x >= 0:
        if x == INF or s == 0.0:
            return g if x == INF else 0.5 * g
        return 0.5 * g * (1.0 + x / s)
    return 0.5 * g * b / (s * (s - x))
