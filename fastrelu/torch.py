"""PyTorch adapter: fastrelu kernels as autograd-aware ``torch`` ops and modules.

Install the ``torch`` extra.  ``import fastrelu`` never imports torch; this
module imports it on first use of any function (``import fastrelu.torch``
itself is cheap).

Every op is a ``torch.library.custom_op`` (``fastrelu::act``,
``fastrelu::act_grad``, ``fastrelu::prelu``, ``fastrelu::prelu_backward``)
with ``register_fake`` (shape/dtype propagation, so ``torch.compile`` can
trace it) and ``register_autograd``:

* forward and backward run the fastrelu ufuncs directly on the tensors'
  memory (``tensor.numpy()`` shares memory on the CPU: no copies; bfloat16,
  which NumPy lacks, goes through float32);
* CUDA tensors are handed to :mod:`fastrelu.cuda` through
  ``__cuda_array_interface__`` (not exercised in CPU-only CI);
* double backward: the gradient op is itself differentiable.  Its derivative
  with respect to ``g`` is the gradient op again (fastrelu); its derivative
  with respect to ``x`` is ``g * f''(x)``, which fastrelu does not have as a
  kernel: it is 0 for the piecewise-linear functions and is computed with
  torch's own autograd of the matching ``torch.nn.functional`` function for
  the smooth ones.  ``squareplus`` (no torch counterpart) uses its closed form
  ``b / (2 (x^2 + b)^{3/2})``.  prelu's double backward is written in torch
  ops.
"""

from __future__ import annotations

import numpy as np

import fastrelu
from fastrelu._spec import BY_NAME

__all__ = [  # + the nn.Module classes (_MODULES), created on first access
    "activation",
    "celu",
    "elu",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "selu",
    "silu",
    "softplus",
    "squareplus",
]

_PIECEWISE_LINEAR = frozenset(
    {"relu", "leaky_relu", "rrelu", "threshold", "relu6", "hardtanh", "hardsigmoid"}
)


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------
# running a fastrelu function on tensors without copies
# --------------------------------------------------------------------------


def _np(t):
    return t.detach().numpy()


def _call(fname: str, tensors: list, params: list, like):
    """``fastrelu.<fname>(*tensors, *params)`` into a new tensor like *like*."""
    torch = _torch()
    if like.is_cuda:  # pragma: no cover - needs a GPU
        from fastrelu import cuda

        out = torch.empty_like(like)
        getattr(cuda, fname)(*tensors, *params, out=out)
        return out
    if like.dtype == torch.bfloat16:  # NumPy has no bfloat16: compute in float32
        res = _call(fname, [t.float() for t in tensors], params, like.float())
        return res.to(torch.bfloat16)
    out = torch.empty_like(like, memory_format=torch.contiguous_format)
    getattr(fastrelu, fname)(*[_np(t) for t in tensors], *params, out=out.numpy())
    return out


# --------------------------------------------------------------------------
# second derivative f''(x) for the double backward
# --------------------------------------------------------------------------


def _torch_fn(name: str, params: list):
    F = _torch().nn.functional
    table = {
        "elu": lambda x: F.elu(x, *params),
        "selu": F.selu,
        "celu": lambda x: F.celu(x, *params),
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        "mish": F.mish,
        "softplus": lambda x: F.softplus(x, *params),
        "hardswish": F.hardswish,
    }
    return table[name]


def _second_derivative(name: str, x, params: list):
    torch = _torch()
    if name in _PIECEWISE_LINEAR:
        return torch.zeros_like(x)
    if name == "squareplus":
        (b,) = params
        return b / (2 * (x * x + b) ** 1.5)
    with torch.enable_grad():
        xx = x.detach().requires_grad_(True)
        (d1,) = torch.autograd.grad(_torch_fn(name, params)(xx).sum(), xx, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), xx)
    return d2


# --------------------------------------------------------------------------
# the ops (registered once, on first use)
# --------------------------------------------------------------------------


_OPS: list = []


def _ops():
    # (a plain global, not functools.cache: torch.compile traces this call)
    if _OPS:
        return _OPS[0]
    torch = _torch()
    from torch.library import custom_op

    @custom_op("fastrelu::act", mutates_args=(), schema="(Tensor x, str name, float[] params) -> Tensor")
    def act(x: torch.Tensor, name: str, params: list[float]) -> torch.Tensor:
        return _call(name, [x], list(params), x)

    @act.register_fake
    def _(x, name, params):
        return torch.empty_like(x)

    @custom_op(
        "fastrelu::act_grad",
        mutates_args=(),
        schema="(Tensor x, Tensor g, str name, float[] params) -> Tensor",
    )
    def act_grad(x: torch.Tensor, g: torch.Tensor, name: str, params: list[float]) -> torch.Tensor:
        spec = BY_NAME[name]
        gparams = [
            p for p, spec_p in zip(params, spec.params, strict=False) if spec_p in spec.grad_param_list
        ]
        return _call(name + "_grad", [x, g], gparams, g)

    @act_grad.register_fake
    def _(x, g, name, params):
        return torch.empty_like(g)

    def act_setup(ctx, inputs, output):
        x, name, params = inputs
        ctx.save_for_backward(x)
        ctx.name = name
        ctx.params = params

    def act_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return act_grad(x, g, ctx.name, ctx.params), None, None

    act.register_autograd(act_backward, setup_context=act_setup)

    def grad_setup(ctx, inputs, output):
        x, g, name, params = inputs
        ctx.save_for_backward(x, g)
        ctx.name = name
        ctx.params = params

    def grad_backward(ctx, gg):
        x, g = ctx.saved_tensors
        dg = act_grad(x, gg, ctx.name, ctx.params)
        dx = gg * g * _second_derivative(ctx.name, x, list(ctx.params))
        return dx, dg, None, None

    act_grad.register_autograd(grad_backward, setup_context=grad_setup)

    # (schemas are spelled out: with postponed annotations torch cannot
    # resolve ``torch.Tensor`` hints of functions defined in this scope)

    # -- prelu: weight is a tensor input ------------------------------------
    @custom_op("fastrelu::prelu", mutates_args=(), schema="(Tensor x, Tensor weight) -> Tensor")
    def prelu_op(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:  # pragma: no cover
            return _call("prelu", [x, weight], [], x)
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
        if x.dtype == torch.bfloat16:
            return prelu_op(x.float(), weight.float()).to(x.dtype)
        fastrelu.prelu(_np(x), _np(weight).astype(_np(x).dtype, copy=False), out=out.numpy())
        return out

    @prelu_op.register_fake
    def _(x, weight):
        return torch.empty_like(x)

    @custom_op(
        "fastrelu::prelu_backward",
        mutates_args=(),
        schema="(Tensor x, Tensor g, Tensor weight) -> (Tensor, Tensor)",
    )
    def prelu_bwd(
        x: torch.Tensor, g: torch.Tensor, weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        from fastrelu.training import prelu_backward

        if x.is_cuda or x.dtype not in (torch.float32, torch.float64):  # pragma: no cover
            xx = x.detach().float().cpu()
            dx, dw = prelu_bwd(xx, g.detach().float().cpu(), weight.detach().float().cpu())
            return dx.to(x.device, x.dtype), dw.to(weight.device, weight.dtype)
        dx, dw = prelu_backward(_np(x), _np(g), _np(weight))
        return torch.from_numpy(dx), torch.from_numpy(np.ascontiguousarray(dw)).reshape(weight.shape)

    @prelu_bwd.register_fake
    def _(x, g, weight):
        return torch.empty_like(x), torch.empty_like(weight)

    def prelu_setup(ctx, inputs, output):
        x, weight = inputs
        ctx.save_for_backward(x, weight)

    def prelu_backward_fn(ctx, g):
        x, weight = ctx.saved_tensors
        dx, dw = prelu_bwd(x, g, weight)
        return dx, dw

    prelu_op.register_autograd(prelu_backward_fn, setup_context=prelu_setup)

    def _wshape(x, weight):
        # weight broadcast as (1, C, 1, ..., 1) (or a scalar)
        if weight.numel() == 1 or x.dim() < 2:
            return weight.reshape(()), None
        return weight.reshape((1, -1) + (1,) * (x.dim() - 2)), [d for d in range(x.dim()) if d != 1]

    def pbwd_setup(ctx, inputs, output):
        x, g, weight = inputs
        ctx.save_for_backward(x, g, weight)

    def pbwd_backward(ctx, ggx, ggw):
        # dx = g * where(x > 0, 1, w);  dw = sum_{not C} where(x > 0, 0, x * g)
        x, g, weight = ctx.saved_tensors
        neg = (x <= 0) | torch.isnan(x)
        w, dims = _wshape(x, weight)
        ggx = torch.zeros_like(x) if ggx is None else ggx
        ggw = torch.zeros_like(weight) if ggw is None else ggw
        ggw_b = ggw.reshape(w.shape) if dims is not None else ggw.sum()
        zero = torch.zeros((), dtype=x.dtype)
        d_x = torch.where(neg, g * ggw_b, zero)
        d_g = torch.where(neg, ggx * w, ggx) + torch.where(neg, x * ggw_b, zero)
        prod = torch.where(neg, ggx * g, zero)
        d_w = (
            prod.sum(dim=dims).reshape(weight.shape) if dims is not None else prod.sum().reshape(weight.shape)
        )
        return d_x, d_g, d_w

    prelu_bwd.register_autograd(pbwd_backward, setup_context=pbwd_setup)

    _OPS.append((act, act_grad, prelu_op, prelu_bwd))
    return _OPS[0]


# --------------------------------------------------------------------------
# functional API (torch.nn.functional names)
# --------------------------------------------------------------------------


def activation(x, name: str, *params):
    """Apply table activation *name* with scalar *params* (fastrelu kernels)."""
    act = _ops()[0]
    spec = BY_NAME[name]
    values = [float(p) for p in params]
    for p in spec.params[len(values) :]:
        if p.default is None:
            raise TypeError(f"{name}: missing parameter {p.name!r}")
        values.append(float(p.default))
    if spec.check is not None and not _torch().compiler.is_compiling():
        spec.check(*values)
    return act(x, name, values)


def relu(x):
    return activation(x, "relu")


def leaky_relu(x, negative_slope: float = 0.01):
    return activation(x, "leaky_relu", negative_slope)


def relu6(x):
    return activation(x, "relu6")


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    return activation(x, "hardtanh", min_val, max_val)


def elu(x, alpha: float = 1.0):
    return activation(x, "elu", alpha)


def selu(x):
    return activation(x, "selu")


def celu(x, alpha: float = 1.0):
    return activation(x, "celu", alpha)


def gelu(x, approximate: str = "none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation(x, "gelu" if approximate == "none" else "gelu_tanh")


def silu(x):
    return activation(x, "silu")


def mish(x):
    return activation(x, "mish")


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    return activation(x, "softplus", beta, threshold)


def hardsigmoid(x):
    return activation(x, "hardsigmoid")


def hardswish(x):
    return activation(x, "hardswish")


def squareplus(x, b: float = 4.0):
    return activation(x, "squareplus", b)


def prelu(x, weight):
    """PReLU with a learnable weight (1 or C = x.shape[1] elements)."""
    return _ops()[2](x, weight)


# --------------------------------------------------------------------------
# nn.Modules (created on first attribute access: torch is imported lazily)
# --------------------------------------------------------------------------


def _module_classes() -> dict:
    torch = _torch()
    nn = torch.nn

    def simple(cls_name: str, fn, argnames: tuple[str, ...] = (), defaults: tuple = ()):
        def __init__(self, *args, inplace: bool = False, **kwargs):
            nn.Module.__init__(self)
            vals = dict(zip(argnames, defaults, strict=True))
            vals.update(zip(argnames, args, strict=False))
            vals.update(kwargs)
            for k, v in vals.items():
                setattr(self, k, v)
            self.inplace = inplace  # accepted for drop-in use; fastrelu never writes in place

        def forward(self, x):
            return fn(x, *(getattr(self, a) for a in argnames))

        def extra_repr(self):
            return ", ".join(f"{a}={getattr(self, a)!r}" for a in argnames)

        return type(
            cls_name,
            (nn.Module,),
            {
                "__init__": __init__,
                "forward": forward,
                "extra_repr": extra_repr,
                "__module__": __name__,
                "__doc__": f"Drop-in for ``torch.nn.{cls_name}`` (fastrelu kernels).",
            },
        )

    classes = {
        "ReLU": simple("ReLU", relu),
        "ReLU6": simple("ReLU6", relu6),
        "LeakyReLU": simple("LeakyReLU", leaky_relu, ("negative_slope",), (0.01,)),
        "Hardtanh": simple("Hardtanh", hardtanh, ("min_val", "max_val"), (-1.0, 1.0)),
        "ELU": simple("ELU", elu, ("alpha",), (1.0,)),
        "SELU": simple("SELU", selu),
        "CELU": simple("CELU", celu, ("alpha",), (1.0,)),
        "GELU": simple("GELU", gelu, ("approximate",), ("none",)),
        "SiLU": simple("SiLU", silu),
        "Mish": simple("Mish", mish),
        "Softplus": simple("Softplus", softplus, ("beta", "threshold"), (1.0, 20.0)),
        "Hardsigmoid": simple("Hardsigmoid", hardsigmoid),
        "Hardswish": simple("Hardswish", hardswish),
        "Squareplus": simple("Squareplus", squareplus, ("b",), (4.0,)),
    }

    class PReLU(nn.Module):
        """Drop-in for ``torch.nn.PReLU`` (fastrelu forward and backward)."""

        def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
            super().__init__()
            self.num_parameters = num_parameters
            self.weight = nn.Parameter(torch.full((num_parameters,), float(init), device=device, dtype=dtype))

        def forward(self, x):
            return prelu(x, self.weight)

        def extra_repr(self):
            return f"num_parameters={self.num_parameters}"

    PReLU.__module__ = __name__
    classes["PReLU"] = PReLU
    return classes


_MODULES = (
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "Hardtanh",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Softplus",
    "Hardsigmoid",
    "Hardswish",
    "Squareplus",
    "PReLU",
)
_cache: dict = {}
__all__ += list(_MODULES)


def __getattr__(name: str):
    if name in _MODULES:
        if not _cache:
            _cache.update(_module_classes())
        return _cache[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
