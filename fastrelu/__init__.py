"""fastrelu: the ReLU family and its gradients as fast, PyTorch-exact NumPy ufuncs.

The names here are the single-thread CPU target; :mod:`fastrelu.parallel` and
:mod:`fastrelu.cuda` hold the same names for the other targets.  Nothing is
compiled at import: each function compiles (or loads from the on-disk cache)
on first use; :func:`precompile` does it ahead of time.
"""

from __future__ import annotations

from fastrelu._config import precompile, show_config
from fastrelu._ufunc import Ufunc, make
from fastrelu._version import __version__

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
    "Ufunc",
    "precompile",
    "show_config",
    "__version__",
]

relu = make("relu")
relu_grad = make("relu", "grad")
relu_grad_from_output = make("relu", "grad_from_output")
leaky_relu = make("leaky_relu")
leaky_relu_grad = make("leaky_relu", "grad")
leaky_relu_grad_from_output = make("leaky_relu", "grad_from_output")
prelu = make("prelu")
prelu_grad = make("prelu", "grad")
rrelu = make("rrelu")
rrelu_grad = make("rrelu", "grad")
threshold = make("threshold")
threshold_grad = make("threshold", "grad")
relu6 = make("relu6")
relu6_grad = make("relu6", "grad")
hardtanh = make("hardtanh")
hardtanh_grad = make("hardtanh", "grad")
elu = make("elu")
elu_grad = make("elu", "grad")
elu_grad_from_output = make("elu", "grad_from_output")
selu = make("selu")
selu_grad = make("selu", "grad")
celu = make("celu")
celu_grad = make("celu", "grad")
gelu = make("gelu")
gelu_grad = make("gelu", "grad")
gelu_tanh = make("gelu_tanh")
gelu_tanh_grad = make("gelu_tanh", "grad")
silu = make("silu")
silu_grad = make("silu", "grad")
mish = make("mish")
mish_grad = make("mish", "grad")
softplus = make("softplus")
softplus_grad = make("softplus", "grad")
hardsigmoid = make("hardsigmoid")
hardsigmoid_grad = make("hardsigmoid", "grad")
hardswish = make("hardswish")
hardswish_grad = make("hardswish", "grad")
squareplus = make("squareplus")
squareplus_grad = make("squareplus", "grad")


def __getattr__(name: str):
    # The target namespaces load on first attribute access: `import fastrelu`
    # stays free of threading layers and CUDA.
    if name in ("parallel", "cuda", "training", "bench", "accuracy"):
        import importlib

        return importlib.import_module(f"fastrelu.{name}")
    raise AttributeError(f"module 'fastrelu' has no attribute {name!r}")
