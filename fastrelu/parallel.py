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

from fastrelu._parallel import CUTOVER, ParallelUfunc, make, threading_info

# Table order, as in fastrelu/__init__.py (a test checks it against the table).
__all__ = [
    "relu",
    "relu_grad",
    "relu_grad_from_output",
    "leaky_relu",
    "leaky_relu_grad",
    "leaky_relu_grad_from_output",
    "prelu",
    "prelu_grad",
    "rrelu",
    "rrelu_grad",
    "threshold",
    "threshold_grad",
    "relu6",
    "relu6_grad",
    "hardtanh",
    "hardtanh_grad",
    "elu",
    "elu_grad",
    "elu_grad_from_output",
    "selu",
    "selu_grad",
    "celu",
    "celu_grad",
    "gelu",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_grad",
    "silu",
    "silu_grad",
    "mish",
    "mish_grad",
    "softplus",
    "softplus_grad",
    "hardsigmoid",
    "hardsigmoid_grad",
    "hardswish",
    "hardswish_grad",
    "squareplus",
    "squareplus_grad",
    "CUTOVER",
    "ParallelUfunc",
    "threading_info",
]

relu = make("relu")
relu_grad = make("relu_grad")
relu_grad_from_output = make("relu_grad_from_output")
leaky_relu = make("leaky_relu")
leaky_relu_grad = make("leaky_relu_grad")
leaky_relu_grad_from_output = make("leaky_relu_grad_from_output")
prelu = make("prelu")
prelu_grad = make("prelu_grad")
rrelu = make("rrelu")
rrelu_grad = make("rrelu_grad")
threshold = make("threshold")
threshold_grad = make("threshold_grad")
relu6 = make("relu6")
relu6_grad = make("relu6_grad")
hardtanh = make("hardtanh")
hardtanh_grad = make("hardtanh_grad")
elu = make("elu")
elu_grad = make("elu_grad")
elu_grad_from_output = make("elu_grad_from_output")
selu = make("selu")
selu_grad = make("selu_grad")
celu = make("celu")
celu_grad = make("celu_grad")
gelu = make("gelu")
gelu_grad = make("gelu_grad")
gelu_tanh = make("gelu_tanh")
gelu_tanh_grad = make("gelu_tanh_grad")
silu = make("silu")
silu_grad = make("silu_grad")
mish = make("mish")
mish_grad = make("mish_grad")
softplus = make("softplus")
softplus_grad = make("softplus_grad")
hardsigmoid = make("hardsigmoid")
hardsigmoid_grad = make("hardsigmoid_grad")
hardswish = make("hardswish")
hardswish_grad = make("hardswish_grad")
squareplus = make("squareplus")
squareplus_grad = make("squareplus_grad")
