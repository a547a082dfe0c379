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

import inspect
import types

import numpy as np

from fastrelu._spec import BY_NAME, TABLE

#: table rows with a function here: every row with a torch counterpart or a
#: module of its own (``torch_module``); gelu_tanh is gelu's ``approximate``
_ROWS = {a.name: a for a in TABLE if a.torch_module}
#: module class name -> its row
_MODULE_ROWS = {a.torch_module: a for a in _ROWS.values()}

# the functions and the nn.Module classes are made on first access (torch is
# imported lazily): see __getattr__
__all__ = ["activation", *_ROWS, *_MODULE_ROWS]


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------
# running a fastrelu function on tensors without copies
# --------------------------------------------------------------------------

#: outputs of at least this many bytes are backed by transparent huge pages
_HUGE_MIN = 4 << 20
_HUGE_PAGE = 1 << 21
_MADV_HUGEPAGE = 14  # Linux
_madvise: list = []


def _hugepages(t) -> None:
    """Ask Linux to back the untouched memory of a fresh CPU tensor with
    transparent huge pages (``madvise(MADV_HUGEPAGE)`` on its 2 MiB-aligned
    interior), as NumPy does for its own large allocations.  Writing a fresh
    64 MiB output then takes 32 page faults instead of 16384: the faults, not
    the kernel, are most of a large fresh output's cost.  A no-op elsewhere
    (and where THP is off); the tensor's values and layout are unaffected.
    """
    nbytes = t.numel() * t.element_size()
    if nbytes < _HUGE_MIN:
        return
    if not _madvise:
        fn = None
        import sys

        if sys.platform.startswith("linux"):
            import ctypes

            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fn = libc.madvise
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):  # pragma: no cover - no libc madvise
                fn = None
        _madvise.append(fn)
    fn = _madvise[0]
    if fn is None:  # pragma: no cover - not Linux
        return
    a = t.data_ptr()
    lo = -(-a // _HUGE_PAGE) * _HUGE_PAGE
    hi = (a + nbytes) // _HUGE_PAGE * _HUGE_PAGE
    if hi > lo:
        fn(lo, hi - lo, _MADV_HUGEPAGE)  # advice only: its result does not matter


def _empty(like):
    """A fresh C-contiguous tensor like *like* (torch-allocated; huge pages when large)."""
    torch = _torch()
    out = torch.empty_like(like, memory_format=torch.contiguous_format)
    if not out.is_cuda:
        _hugepages(out)
    return out


def _np(t):
    return t.detach().numpy()


def _call(fname: str, tensors: list, params: list, like, out=None):
    """``fastrelu.parallel.<fname>(*tensors, *params)`` into a new tensor like
    *like* (or into *out*, which may be one of *tensors*)."""
    torch = _torch()
    if like.is_cuda:  # pragma: no cover - needs a GPU
        from fastrelu import cuda

        res = torch.empty_like(like) if out is None else out
        getattr(cuda, fname)(*tensors, *params, out=res)
        return res
    if like.dtype == torch.bfloat16:  # NumPy has no bfloat16: compute in float32
        res = _call(fname, [t.float() for t in tensors], params, like.float())
        if out is None:
            return res.to(torch.bfloat16)
        return out.copy_(res)
    res = _empty(like) if out is None else out
    getattr(_parallel_target(), fname)(*[_np(t) for t in tensors], *params, out=_np(res))
    return res


def _parallel_target():
    import fastrelu.parallel

    return fastrelu.parallel


# --------------------------------------------------------------------------
# relu-like functions save a 1-bit mask instead of x (fastrelu.training)
# --------------------------------------------------------------------------


def _use_mask(x, name: str) -> bool:
    torch = _torch()
    return (
        BY_NAME[name].mask is not None
        and x.dim() >= 1
        and x.dtype in (torch.float32, torch.float64)
        and x.device.type == "cpu"
    )


def _mask_shape(x) -> tuple:
    return (*x.shape[:-1], (x.shape[-1] + 7) // 8)


def _mask_forward(x, name: str, params: list, y, m) -> None:
    """``y = f(x)`` and the mask ``m`` (tensors; ``y`` may be ``x``)."""
    from fastrelu import training as tr

    spec = BY_NAME[name]
    values = {p.name: v for p, v in zip(spec.params, params, strict=True)}
    mask = tr._row_mask(spec, values)  # (predicate variant, lo, hi)
    tr._forward_mask(spec, _np(x), None, values, *mask, _np(y), None, mask_out=_np(m))


def _slope(name: str, params: list, dtype) -> float | None:
    """The row's slope of the masked-out elements (leaky_relu, rrelu), computed
    in x's dtype as the kernel does; None where they give 0."""
    slope = BY_NAME[name].slope
    if slope is None:
        return None
    dt = np.dtype(dtype).type
    return float(slope(*(dt(p) for p in params)))


def _mask_backward(m, g, name: str, params: list, out=None):
    from fastrelu import training as tr

    res = _empty(g) if out is None else out
    gn = _np(g.contiguous())
    m2 = _np(m).reshape(-1, m.shape[-1]) if m.dim() else _np(m).reshape(1, -1)
    slope = _slope(name, params, gn.dtype)
    P = None
    if slope is not None:
        P = np.full((1, 1, gn.shape[-1]), slope, gn.dtype)
    tr._grad_mask_rows(m2, gn, P, _np(res), None)
    return res


# --------------------------------------------------------------------------
# second derivative f''(x) for the double backward
# --------------------------------------------------------------------------


def _torch_fn(name: str, params: list):
    """torch's own function of the row (its ``torch`` field, ``fn:variant`` for
    gelu's ``approximate``) with *params* bound."""
    F = _torch().nn.functional
    fn, _, approximate = BY_NAME[name].torch.partition(":")
    if approximate:
        return lambda x: getattr(F, fn)(x, *params, approximate=approximate)
    return lambda x: getattr(F, fn)(x, *params)


def _second_derivative(name: str, x, params: list):
    torch = _torch()
    spec = BY_NAME[name]
    if spec.piecewise_linear:
        return torch.zeros_like(x)
    if spec.grad2 is not None:  # no torch function to differentiate (squareplus)
        return spec.grad2(x, *params)
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
        if x.dtype == torch.bfloat16:
            return prelu_op(x.float(), weight.float()).to(x.dtype)
        out = _empty(x)
        _parallel_target().prelu(_np(x), _np(weight).astype(_np(x).dtype, copy=False), out=out.numpy())
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

    # -- relu-like: forward with the 1-bit mask, backward from the mask -----
    @custom_op(
        "fastrelu::act_mask",
        mutates_args=(),
        schema="(Tensor x, str name, float[] params) -> (Tensor, Tensor)",
    )
    def act_mask(x: torch.Tensor, name: str, params: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        y = _empty(x)
        m = torch.empty(_mask_shape(x), dtype=torch.uint8)
        _mask_forward(x, name, list(params), y, m)
        return y, m

    @act_mask.register_fake
    def _(x, name, params):
        return torch.empty_like(x), x.new_empty(_mask_shape(x), dtype=torch.uint8)

    @custom_op(
        "fastrelu::mask_grad",
        mutates_args=(),
        schema="(Tensor mask, Tensor g, str name, float[] params) -> Tensor",
    )
    def mask_grad(mask: torch.Tensor, g: torch.Tensor, name: str, params: list[float]) -> torch.Tensor:
        return _mask_backward(mask, g, name, list(params))

    @mask_grad.register_fake
    def _(mask, g, name, params):
        return torch.empty_like(g, memory_format=torch.contiguous_format)

    def act_mask_setup(ctx, inputs, output):
        _, name, params = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1])
        ctx.name = name
        ctx.params = params

    def act_mask_backward(ctx, g, _gm):
        (m,) = ctx.saved_tensors
        return mask_grad(m, g, ctx.name, ctx.params), None, None

    act_mask.register_autograd(act_mask_backward, setup_context=act_mask_setup)

    def mask_grad_setup(ctx, inputs, output):
        m, _, name, params = inputs
        ctx.save_for_backward(m)
        ctx.name = name
        ctx.params = params

    def mask_grad_backward(ctx, gg):
        # linear in g; f'' = 0 away from the kinks (x is not an input here)
        (m,) = ctx.saved_tensors
        return None, mask_grad(m, gg, ctx.name, ctx.params), None, None

    mask_grad.register_autograd(mask_grad_backward, setup_context=mask_grad_setup)

    # -- in place (no autograd here: the autograd.Function wrappers below) --
    @custom_op("fastrelu::act_", mutates_args=("x",), schema="(Tensor(a!) x, str name, float[] params) -> ()")
    def act_(x: torch.Tensor, name: str, params: list[float]) -> None:
        if x.is_contiguous() and x.device.type == "cpu" and x.dtype != torch.bfloat16:
            _call(name, [x], list(params), x, out=x)
        else:  # strided, bfloat16, CUDA: out of place, then copied back
            x.copy_(_call(name, [x], list(params), x))

    @custom_op(
        "fastrelu::act_mask_",
        mutates_args=("x",),
        schema="(Tensor(a!) x, str name, float[] params) -> Tensor",
    )
    def act_mask_(x: torch.Tensor, name: str, params: list[float]) -> torch.Tensor:
        m = torch.empty(_mask_shape(x), dtype=torch.uint8)
        if x.is_contiguous():
            _mask_forward(x, name, list(params), x, m)
        else:
            y = _empty(x)
            _mask_forward(x, name, list(params), y, m)
            x.copy_(y)
        return m

    @act_mask_.register_fake
    def _(x, name, params):
        return x.new_empty(_mask_shape(x), dtype=torch.uint8)

    @custom_op(
        "fastrelu::act_into_",
        mutates_args=("out",),
        schema="(Tensor src, Tensor(a!) out, str name, float[] params) -> ()",
    )
    def act_into_(src: torch.Tensor, out: torch.Tensor, name: str, params: list[float]) -> None:
        if out.is_contiguous() and out.device.type == "cpu" and out.dtype != torch.bfloat16:
            _call(name, [src], list(params), src, out=out)
        else:
            out.copy_(_call(name, [src], list(params), src))

    @custom_op("fastrelu::copy", mutates_args=(), schema="(Tensor x) -> Tensor")
    def copy(x: torch.Tensor) -> torch.Tensor:
        # one thread (NumPy), into a huge-page tensor: no OpenMP region between
        # the fastrelu kernels of an in-place step
        if x.device.type != "cpu" or x.dtype == torch.bfloat16:  # pragma: no cover
            return x.clone(memory_format=torch.contiguous_format)
        out = _empty(x)
        np.copyto(out.numpy(), _np(x))
        return out

    @copy.register_fake
    def _(x):
        return torch.empty_like(x, memory_format=torch.contiguous_format)

    copy.register_autograd(lambda ctx, g: g)

    # -- rrelu in training mode: counter-based slopes (fastrelu.training) ---
    @custom_op(
        "fastrelu::rrelu_train",
        mutates_args=(),
        schema="(Tensor x, float lower, float upper, int seed) -> Tensor",
    )
    def rrelu_train(x: torch.Tensor, lower: float, upper: float, seed: int) -> torch.Tensor:
        from fastrelu import training as tr

        y = _empty(x)
        tr.rrelu_train(_np(x), lower, upper, seed, out=_np(y))
        return y

    @rrelu_train.register_fake
    def _(x, lower, upper, seed):
        return torch.empty_like(x, memory_format=torch.contiguous_format)

    @custom_op(
        "fastrelu::rrelu_train_grad",
        mutates_args=(),
        schema="(Tensor x, Tensor g, float lower, float upper, int seed) -> Tensor",
    )
    def rrelu_train_grad(
        x: torch.Tensor, g: torch.Tensor, lower: float, upper: float, seed: int
    ) -> torch.Tensor:
        from fastrelu import training as tr

        res = _empty(g)
        tr.rrelu_train_grad(_np(x), _np(g), lower, upper, seed, out=_np(res))
        return res

    @rrelu_train_grad.register_fake
    def _(x, g, lower, upper, seed):
        return torch.empty_like(g, memory_format=torch.contiguous_format)

    @custom_op(
        "fastrelu::rrelu_train_",
        mutates_args=("x",),
        schema="(Tensor(a!) x, float lower, float upper, int seed) -> ()",
    )
    def rrelu_train_(x: torch.Tensor, lower: float, upper: float, seed: int) -> None:
        from fastrelu import training as tr

        # element i reads x[i] and writes x[i] only: in place is safe
        tr.rrelu_train(_np(x), lower, upper, seed, out=_np(x))

    def rrelu_setup(ctx, inputs, output):
        x, lower, upper, seed = inputs
        ctx.save_for_backward(x)
        ctx.args = (lower, upper, seed)

    def rrelu_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return rrelu_train_grad(x, g, *ctx.args), None, None, None

    rrelu_train.register_autograd(rrelu_backward, setup_context=rrelu_setup)

    def rrelu_grad_setup(ctx, inputs, output):
        x, _, lower, upper, seed = inputs
        ctx.save_for_backward(x)
        ctx.args = (lower, upper, seed)

    def rrelu_grad_backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, rrelu_train_grad(x, gg, *ctx.args), None, None, None

    rrelu_train_grad.register_autograd(rrelu_grad_backward, setup_context=rrelu_grad_setup)

    _OPS.append(
        types.SimpleNamespace(
            act=act,
            act_grad=act_grad,
            prelu=prelu_op,
            prelu_backward=prelu_bwd,
            act_mask=act_mask,
            mask_grad=mask_grad,
            act_=act_,
            act_mask_=act_mask_,
            act_into_=act_into_,
            copy=copy,
            rrelu_train=rrelu_train,
            rrelu_train_grad=rrelu_train_grad,
            rrelu_train_=rrelu_train_,
        )
    )
    return _OPS[0]


# --------------------------------------------------------------------------
# functional API (torch.nn.functional names)
# --------------------------------------------------------------------------


def _values(name: str, params: tuple) -> list:
    spec = BY_NAME[name]
    values = [float(p) for p in params]
    for p in spec.params[len(values) :]:
        if p.default is None:
            raise TypeError(f"{name}: missing parameter {p.name!r}")
        values.append(float(p.default))
    if spec.check is not None and not _torch().compiler.is_compiling():
        spec.check(*values)
    return values


def _needs_grad(x) -> bool:
    return _torch().is_grad_enabled() and x.requires_grad


_inplace_fns: list = []


def _inplace_functions():
    """The autograd.Functions of the in-place paths (``mark_dirty``: torch's
    version counter and leaf checks, as torch's own in-place ops)."""
    if _inplace_fns:
        return _inplace_fns[0]
    torch = _torch()
    ops = _ops()

    class MaskInplace(torch.autograd.Function):
        # relu-like: x <- f(x); the mask (taken before x is overwritten) is all
        # the backward needs
        @staticmethod
        def forward(ctx, x, name, params):
            m = ops.act_mask_(x, name, params)
            ctx.mark_dirty(x)
            ctx.mark_non_differentiable(m)
            ctx.save_for_backward(m)
            ctx.name, ctx.params = name, params
            return x, m

        @staticmethod
        def backward(ctx, g, _gm):
            (m,) = ctx.saved_tensors
            return ops.mask_grad(m, g, ctx.name, ctx.params), None, None

    class CopyInplace(torch.autograd.Function):
        # x <- f(xc), xc an autograd-tracked copy of x made before (torch saves
        # a copy of self for its in-place smooth ops too); d/dx_old flows
        # through xc, so double backward sees x
        @staticmethod
        def forward(ctx, x, xc, name, params):
            ops.act_into_(xc, x, name, params)
            ctx.mark_dirty(x)
            ctx.save_for_backward(xc)
            ctx.name, ctx.params = name, params
            return x

        @staticmethod
        def backward(ctx, g):
            (xc,) = ctx.saved_tensors
            return None, ops.act_grad(xc, g, ctx.name, ctx.params), None, None

    class RReLUInplace(torch.autograd.Function):
        # lower >= 0: every slope is >= 0, so y = rrelu(x) > 0 exactly where
        # x > 0 (NaN stays NaN): the backward reads y instead of x
        @staticmethod
        def forward(ctx, x, lower, upper, seed):
            ops.rrelu_train_(x, lower, upper, seed)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            ctx.args = (lower, upper, seed)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return ops.rrelu_train_grad(y, g, *ctx.args), None, None, None

    _inplace_fns.append(types.SimpleNamespace(mask=MaskInplace, copy=CopyInplace, rrelu=RReLUInplace))
    return _inplace_fns[0]


def _act_inplace(x, name: str, values: list):
    ops = _ops()
    if not _needs_grad(x):
        ops.act_(x, name, values)
        return x
    fns = _inplace_functions()
    if _use_mask(x, name):
        return fns.mask.apply(x, name, values)[0]
    return fns.copy.apply(x, ops.copy(x), name, values)


def activation(x, name: str, *params, inplace: bool = False):
    """Apply table activation *name* with scalar *params* (fastrelu kernels).

    ``inplace=True`` writes the result into *x* and returns *x*, with torch's
    in-place autograd rules (version counter, no leaf that requires grad).
    """
    ops = _ops()
    values = _values(name, params)
    if inplace:
        return _act_inplace(x, name, values)
    if _use_mask(x, name) and _needs_grad(x):
        return ops.act_mask(x, name, values)[0]
    return ops.act(x, name, values)


def _rrelu_training(x, lower, upper, inplace: bool):
    """RReLU in training mode: a slope ``U(lower, upper)`` per element (drawn by
    :func:`fastrelu.training.rrelu_train` from a seed taken from torch's
    default generator, so ``torch.manual_seed`` makes it reproducible; the
    values differ from torch's own draws)."""
    torch = _torch()
    lower, upper = float(lower), float(upper)
    if lower > upper:
        raise ValueError("Lower bound should be less than or equal to the upper bound")
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        # (fastrelu.training is CPU float32/float64): torch's own
        return torch.nn.functional.rrelu(x, lower, upper, True, inplace)
    ops = _ops()
    seed = int(torch.randint(0, 2**62, (), dtype=torch.int64))
    if not inplace:
        return ops.rrelu_train(x, lower, upper, seed)
    if not _needs_grad(x):
        ops.rrelu_train_(x, lower, upper, seed)
        return x
    fns = _inplace_functions()
    if lower >= 0:
        return fns.rrelu.apply(x, lower, upper, seed)
    # negative slopes: y's sign is not x's; the backward reads a copy of x
    # (x.copy_ under autograd gives x y's history, as torch's in-place ops)
    return x.copy_(ops.rrelu_train(ops.copy(x), lower, upper, seed))


def _torch_has_inplace(spec) -> bool:
    """torch's function of the row takes ``inplace=`` (its modules then too)."""
    fn = getattr(_torch().nn.functional, spec.torch.partition(":")[0], None) if spec.torch else None
    try:
        return fn is not None and "inplace" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: no inplace
        return False


def _function(spec):
    """The ``torch.nn.functional``-style function of table row *spec*:
    ``(x, *params, [approximate], [training], [inplace])`` with the row's
    parameter names and defaults (required ones first, as torch)."""
    P = inspect.Parameter
    sig = [P("x", P.POSITIONAL_OR_KEYWORD)]
    for p in spec.params:
        default = P.empty if p.default is None else p.default
        sig.append(P(p.name, P.POSITIONAL_OR_KEYWORD, default=default))
    if spec.variants:
        sig.append(P("approximate", P.POSITIONAL_OR_KEYWORD, default=next(iter(spec.variants))))
    if spec.training_kwarg:
        sig.append(P("training", P.POSITIONAL_OR_KEYWORD, default=False))
    inplace = _torch_has_inplace(spec)
    if inplace:
        sig.append(P("inplace", P.POSITIONAL_OR_KEYWORD, default=False))
    signature = inspect.Signature(sig)
    name = spec.name

    def fn(*args, **kwargs):
        a = signature.bind(*args, **kwargs)
        a.apply_defaults()
        v = a.arguments
        x, params = v["x"], [v[p.name] for p in spec.params]
        if spec.channel_axis is not None:  # a learnable per-channel tensor (PReLU)
            return _ops().prelu(x, *params)
        row = name
        if spec.variants:
            if v["approximate"] not in spec.variants:
                accepted = " or ".join(map(repr, spec.variants))
                raise ValueError(f"approximate must be {accepted}, got {v['approximate']!r}")
            row = spec.variants[v["approximate"]]
        if spec.training_kwarg and v["training"]:
            return _rrelu_training(x, *params, v.get("inplace", False))
        return activation(x, row, *params, inplace=v.get("inplace", False))

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__signature__ = signature
    fn.__doc__ = f"{spec.summary} fastrelu's kernels with autograd (``torch.nn.functional.{name}``)."
    return fn


# --------------------------------------------------------------------------
# nn.Modules (created on first attribute access: torch is imported lazily)
# --------------------------------------------------------------------------


def _module_class(cls_name: str):
    """``torch.nn.<cls_name>``'s subclass with a fastrelu ``forward`` (the same
    constructor, attributes, ``extra_repr`` and ``state_dict`` -- PReLU's
    ``weight`` --, and ``isinstance(m, torch.nn.X)`` holds); for a row torch
    has no module for, a module of its own holding the row's parameters."""
    nn = _torch().nn
    spec = _MODULE_ROWS[cls_name]
    fn = __getattr__(spec.name)
    has_inplace = "inplace" in inspect.signature(fn).parameters  # as its function

    def forward(self, input):
        kw = {}
        if spec.variants:
            kw["approximate"] = self.approximate
        if spec.training_kwarg:
            kw["training"] = self.training
        if has_inplace:
            kw["inplace"] = self.inplace
        return fn(input, *(getattr(self, p.name) for p in spec.params), **kw)

    base = getattr(nn, cls_name, None)
    if base is not None:
        doc = f"Drop-in for ``torch.nn.{cls_name}`` (a subclass; fastrelu kernels)."
        return type(cls_name, (base,), {"forward": forward, "__module__": __name__, "__doc__": doc})

    names = [p.name for p in spec.params]
    defaults = [p.default for p in spec.params]

    def __init__(self, *args, **kwargs):
        nn.Module.__init__(self)
        given = dict(zip(names, args, strict=False)) | kwargs
        for n, d in zip(names, defaults, strict=True):
            setattr(self, n, given.get(n, d))

    def extra_repr(self):
        return ", ".join(f"{n}={getattr(self, n)!r}" for n in names)

    doc = f"{spec.summary} (fastrelu's module: torch has none)."
    ns = {
        "__init__": __init__,
        "forward": forward,
        "extra_repr": extra_repr,
        "__module__": __name__,
        "__doc__": doc,
    }
    return type(cls_name, (nn.Module,), ns)


_cache: dict = {}


def __getattr__(name: str):
    obj = _cache.get(name)
    if obj is None:
        if name not in _ROWS and name not in _MODULE_ROWS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # register the custom ops now: a first call inside torch.compile's
        # tracing (fullgraph) cannot create a torch.library.Library
        _ops()
        obj = _function(_ROWS[name]) if name in _ROWS else _module_class(name)
        obj = _cache.setdefault(name, obj)
    return obj


def __dir__():
    return sorted(set(globals()) | set(__all__))
