"""Elementary functions used by the smooth kernels.

Every function here follows the kernel rules of :mod:`fastrelu._kernels`
(scalar, arithmetic and :mod:`math` only) and is ``register_jitable``, so it is
callable from plain Python (the test oracle), from Numba CPU kernels and from
CUDA kernels.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable


@register_jitable(inline="always")
def exp(x):
    return math.exp(x)


@register_jitable(inline="always")
def expm1(x):
    return math.expm1(x)


@register_jitable(inline="always")
def log1p(x):
    return math.log1p(x)


@register_jitable(inline="always")
def erfc(x):
    return math.erfc(x)


@register_jitable(inline="always")
def tanh(x):
    return math.tanh(x)
