"""fastrelu.torch: custom ops, autograd (gradcheck/gradgradcheck), torch.compile."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import fastrelu.torch as ft

F = torch.nn.functional

# (fastrelu.torch function, torch reference, kwargs); inputs avoid the kinks
CASES = [
    ("relu", F.relu, {}),
    ("leaky_relu", F.leaky_relu, {"negative_slope": 0.1}),
    ("relu6", F.relu6, {}),
    ("hardtanh", F.hardtanh, {"min_val": -0.5, "max_val": 0.7}),
    ("elu", F.elu, {"alpha": 1.3}),
    ("selu", F.selu, {}),
    ("celu", F.celu, {"alpha": 0.7}),
    ("gelu", F.gelu, {}),
    ("gelu", F.gelu, {"approximate": "tanh"}),
    ("silu", F.silu, {}),
    ("mish", F.mish, {}),
    ("softplus", F.softplus, {"beta": 2.0, "threshold": 5.0}),
    ("hardsigmoid", F.hardsigmoid, {}),
    ("hardswish", F.hardswish, {}),
]
IDS = [f"{c[0]}-{'-'.join(map(str, c[2].values()))}" for c in CASES]
SMOOTH = {"elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "hardswish"}


def _x(shape=(3, 7), dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype) * 2.5
    # keep away from every kink (0, +-1, +-3, 6, hardtanh's -0.5/0.7)
    for k in (0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -0.5, 0.7):
        x = torch.where((x - k).abs() < 1e-2, x + 0.05, x)
    return x


def test_import_is_lazy():
    code = "import fastrelu, fastrelu.torch, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("name", "ref", "kw"), CASES, ids=IDS)
def test_forward_backward_match_torch(name, ref, kw):
    x = _x(dtype=torch.float32).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    y = getattr(ft, name)(x, **kw)
    y2 = ref(x2, **kw)
    torch.testing.assert_close(y, y2, rtol=2e-6, atol=1e-6)
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "ref", "kw"), CASES, ids=IDS)
def test_gradcheck_and_gradgradcheck(name, ref, kw):
    x = _x().requires_grad_(True)
    fn = lambda t: getattr(ft, name)(t, **kw)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    # gradgradcheck everywhere: the grad op is differentiable (f'' = 0 for
    # the piecewise-linear ones, torch autograd of F.<name> for smooth ones)
    assert torch.autograd.gradgradcheck(fn, (x,))


def test_squareplus_double_backward():
    x = _x().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: ft.squareplus(t, 3.0), (x,))
    assert torch.autograd.gradgradcheck(lambda t: ft.squareplus(t, 3.0), (x,))


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (5,)])
def test_prelu_matches_torch_and_gradchecks(shape):
    x = _x(shape).requires_grad_(True)
    c = shape[1] if len(shape) > 1 else 1
    w = torch.linspace(0.1, 0.4, c, dtype=torch.float64).requires_grad_(True)
    y = ft.prelu(x, w)
    x2 = x.detach().clone().requires_grad_(True)
    w2 = w.detach().clone().requires_grad_(True)
    y2 = F.prelu(x2, w2)
    torch.testing.assert_close(y, y2)
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(w.grad, w2.grad, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(ft.prelu, (x, w))
    assert torch.autograd.gradgradcheck(ft.prelu, (x, w))


def test_modules_and_zero_copy():  # (see also test_every_module_is_a_torch_drop_in)
    x = _x((4, 6), torch.float32)
    for cls, ref in [
        (ft.ReLU, torch.nn.ReLU()),
        (ft.GELU, torch.nn.GELU()),
        (ft.SiLU, torch.nn.SiLU()),
        (ft.ELU, torch.nn.ELU()),
        (ft.Mish, torch.nn.Mish()),
        (ft.Softplus, torch.nn.Softplus()),
        (ft.Hardswish, torch.nn.Hardswish()),
    ]:
        torch.testing.assert_close(cls()(x), ref(x), rtol=2e-6, atol=1e-6)
    torch.testing.assert_close(ft.LeakyReLU(0.2)(x), F.leaky_relu(x, 0.2))
    m = ft.PReLU(6)
    assert m.weight.shape == (6,)
    torch.testing.assert_close(m(x), F.prelu(x, m.weight.detach()))
    # numpy() shares memory: the op reads the tensor in place
    assert np.shares_memory(x.numpy(), x.detach().numpy())
    assert "negative_slope=0.2" in repr(ft.LeakyReLU(0.2))


def test_float16_and_bfloat16_and_strided():
    x = _x((5, 8), torch.float32)
    torch.testing.assert_close(ft.relu(x.half()), F.relu(x.half()))
    torch.testing.assert_close(ft.gelu(x.bfloat16()), F.gelu(x.bfloat16()), rtol=1e-2, atol=1e-2)
    xt = x.t()  # non-contiguous
    torch.testing.assert_close(ft.silu(xt), F.silu(xt), rtol=2e-6, atol=1e-6)


def test_torch_compile_aot_eager():
    torch._dynamo.reset()
    lin = torch.nn.Linear(6, 5).double()
    act = ft.PReLU(5).double()

    def f(x):
        return ft.leaky_relu(act(lin(x)), 0.2).pow(2).sum()

    cf = torch.compile(f, backend="aot_eager", fullgraph=True)
    x = _x((4, 6))
    out = cf(x)
    out.backward()
    g_compiled = lin.weight.grad.clone()
    lin.zero_grad()
    act.zero_grad()
    f(x).backward()
    torch.testing.assert_close(out, f(x))
    torch.testing.assert_close(g_compiled, lin.weight.grad)


def test_opcheck():
    ops = ft._ops()
    act, prelu_op = ops.act, ops.prelu
    x = _x((3, 4))
    torch.library.opcheck(act, (x, "gelu", []))
    torch.library.opcheck(act, (x, "leaky_relu", [0.1]))
    torch.library.opcheck(prelu_op, (x, torch.full((4,), 0.25, dtype=torch.float64)))


# --------------------------------------------------------------------------
# inplace, every module of the family, state_dict, the saved mask
# --------------------------------------------------------------------------

#: (functional name, torch.nn.functional reference, kwargs) of every function
#: whose torch module / functional takes ``inplace``
INPLACE = [
    ("relu", F.relu, {}),
    ("relu6", F.relu6, {}),
    ("leaky_relu", F.leaky_relu, {"negative_slope": 0.1}),
    ("hardtanh", F.hardtanh, {"min_val": -0.5, "max_val": 0.7}),
    ("threshold", F.threshold, {"threshold": 0.3, "value": -2.0}),
    ("rrelu", F.rrelu, {"lower": 0.1, "upper": 0.3, "training": False}),
    ("elu", F.elu, {"alpha": 1.3}),
    ("selu", F.selu, {}),
    ("celu", F.celu, {"alpha": 0.7}),
    ("silu", F.silu, {}),
    ("mish", F.mish, {}),
    ("hardsigmoid", F.hardsigmoid, {}),
    ("hardswish", F.hardswish, {}),
]
INPLACE_IDS = [c[0] for c in INPLACE]
TOL = {"rtol": 2e-6, "atol": 1e-6}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("name", "ref", "kw"), INPLACE, ids=INPLACE_IDS)
def test_inplace_matches_torch(name, ref, kw, dtype):
    """inplace=True writes into x and returns x, bumps its version, and the
    gradient through it (a non-leaf) is torch's."""
    x0 = _x((6, 13), dtype=dtype).requires_grad_(True)
    x1 = x0.detach().clone().requires_grad_(True)
    h0, h1 = x0 * 1.0, x1 * 1.0
    v = h0._version
    y0 = getattr(ft, name)(h0, inplace=True, **kw)
    y1 = ref(h1, inplace=True, **kw)
    assert y0 is h0 and h0._version > v
    torch.testing.assert_close(h0, h1, **TOL)
    g = torch.randn_like(h0)
    (y0 * g).sum().backward()
    (y1 * g).sum().backward()
    torch.testing.assert_close(x0.grad, x1.grad, **TOL)
    # without autograd: in place too
    z = x0.detach().clone()
    assert getattr(ft, name)(z, inplace=True, **kw) is z
    torch.testing.assert_close(z, h1.detach(), **TOL)
    # torch's rules: no leaf that requires grad
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(ft, name)(x0, inplace=True, **kw)


@pytest.mark.parametrize(("name", "ref", "kw"), INPLACE, ids=INPLACE_IDS)
def test_inplace_gradcheck_and_strided(name, ref, kw):
    x = _x((3, 5)).requires_grad_(True)

    def fn(t):
        return getattr(ft, name)(t * 1.0, inplace=True, **kw)

    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))
    # a strided (transposed) non-leaf, in place
    base = _x((7, 4), dtype=torch.float32)
    a, b = base.clone().t(), base.clone().t()
    assert getattr(ft, name)(a, inplace=True, **kw) is a
    torch.testing.assert_close(a, ref(b, inplace=True, **kw), **TOL)


def test_inplace_version_counter_guards_saved_tensors():
    """Overwriting a tensor that a previous op saved fails at backward, as torch."""
    x = _x((4, 5)).requires_grad_(True)
    h = x * 1.0
    z = h * h  # saves h
    ft.relu(h, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    # and a saved mask survives a later in-place change of x (the backward needs no x)
    h = x * 1.0
    y = ft.relu(h)
    h.mul_(-1.0)
    (dx,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(dx, (x > 0).to(x.dtype))


def test_relu_like_save_the_mask_not_x():
    """relu-like functions keep only the uint8 mask for the backward (1/32 of
    float32 x); smooth ones keep x."""
    saved = []

    def pack(t):
        saved.append((t.dtype, tuple(t.shape)))
        return t

    x = _x((8, 20), dtype=torch.float32).requires_grad_(True)
    for name, kw in [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("relu6", {}), ("hardtanh", {})]:
        saved.clear()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = getattr(ft, name)(x, **kw)
        assert saved == [(torch.uint8, (8, 3))], (name, saved)
        g = torch.randn_like(y)
        (dx,) = torch.autograd.grad(y, x, g)
        x2 = x.detach().clone().requires_grad_(True)
        (dx2,) = torch.autograd.grad(getattr(F, name)(x2, **kw), x2, g)
        torch.testing.assert_close(dx, dx2)
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        ft.silu(x)
    assert saved == [(torch.float32, (8, 20))]


# every torch.nn module of the family: constructor args (kwargs), the functional
MODULE_CASES = [
    ("ReLU", {}),
    ("ReLU", {"inplace": True}),
    ("ReLU6", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("PReLU", {"num_parameters": 5, "init": 0.1}),
    ("RReLU", {"lower": 0.2, "upper": 0.4}),
    ("Threshold", {"threshold": 0.1, "value": 20.0}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("ELU", {"alpha": 0.5}),
    ("SELU", {}),
    ("CELU", {"alpha": 1.5}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Softplus", {"beta": 2.0, "threshold": 10.0}),
    ("Hardsigmoid", {}),
    ("Hardswish", {"inplace": True}),
]


def test_every_family_module_has_an_adapter():
    family = {
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "Threshold", "Hardtanh", "ELU", "SELU",
        "CELU", "GELU", "SiLU", "Mish", "Softplus", "Hardsigmoid", "Hardswish",
    }  # fmt: skip
    assert family <= set(ft.__all__)
    assert {c[0] for c in MODULE_CASES} == family


@pytest.mark.parametrize(("cls", "kw"), MODULE_CASES, ids=[f"{c[0]}-{c[1]}" for c in MODULE_CASES])
def test_every_module_is_a_torch_drop_in(cls, kw):
    import inspect

    tcls, fcls = getattr(torch.nn, cls), getattr(ft, cls)
    assert issubclass(fcls, tcls) and fcls.__module__ == "fastrelu.torch"
    assert inspect.signature(fcls) == inspect.signature(tcls)
    tm, fm = tcls(**kw).eval(), fcls(**kw).eval()
    assert repr(fm) == repr(tm)
    x = _x((4, 5, 3), dtype=torch.float32)
    torch.testing.assert_close(fm(x.clone()), tm(x.clone()), **TOL)
    # state_dict both ways (PReLU's weight: same name and shape)
    shapes = [{k: v.shape for k, v in m.state_dict().items()} for m in (fm, tm)]
    assert shapes[0] == shapes[1]
    if cls == "PReLU":
        with torch.no_grad():
            tm.weight.copy_(torch.linspace(-0.3, 0.6, 5))
        fm.load_state_dict(tm.state_dict())
        torch.testing.assert_close(fm(x), tm(x))
        with torch.no_grad():
            fm.weight.mul_(2.0)
        tm.load_state_dict(fm.state_dict())
        torch.testing.assert_close(tm.weight, fm.weight)
        # the weight gets its gradient, as torch's
        fm.weight.grad = None
        tm.weight.grad = None
        fm(x).sum().backward()
        tm(x).sum().backward()
        torch.testing.assert_close(fm.weight.grad, tm.weight.grad)
    else:
        fm.load_state_dict(tm.state_dict())
        tm.load_state_dict(fm.state_dict())
    # a model made of fastrelu modules loads a torch model's state_dict
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 5), tcls(**kw))
    fnet = torch.nn.Sequential(torch.nn.Linear(3, 5), fcls(**kw))
    fnet.load_state_dict(tnet.state_dict())
    tnet.load_state_dict(fnet.state_dict())


def test_rrelu_training_mode():
    """Training mode: per-element slopes in [lower, upper] (fastrelu.training's
    counter-based draws, seeded from torch's generator), gradient = the slopes."""
    x = _x((50, 40)).requires_grad_(True)
    m = ft.RReLU(0.1, 0.3)
    torch.manual_seed(3)
    y = m(x)
    torch.manual_seed(3)
    torch.testing.assert_close(m(x), y)  # reproducible under torch.manual_seed
    neg = x.detach() <= 0
    a = (y.detach() / x.detach())[neg]
    assert a.min() >= 0.1 and a.max() <= 0.3 and a.std() > 0.03
    torch.testing.assert_close(y.detach()[~neg], x.detach()[~neg])
    (dx,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(dx[neg], a)
    torch.testing.assert_close(dx[~neg], torch.ones_like(dx[~neg]))

    def fn(t, inplace=False):
        torch.manual_seed(0)
        return ft.rrelu(t * 1.0, 0.1, 0.3, training=True, inplace=inplace)

    xs = _x((3, 4)).requires_grad_(True)
    for inplace in (False, True):
        assert torch.autograd.gradcheck(lambda t, ip=inplace: fn(t, ip), (xs,))
        assert torch.autograd.gradgradcheck(lambda t, ip=inplace: fn(t, ip), (xs,))
    # in place equals out of place with the same seed, also for negative slopes
    for lower, upper in [(0.1, 0.3), (-0.5, 0.2)]:
        h = x * 1.0
        torch.manual_seed(5)
        y0 = ft.rrelu(x, lower, upper, training=True)
        torch.manual_seed(5)
        assert ft.rrelu(h, lower, upper, training=True, inplace=True) is h
        torch.testing.assert_close(h, y0)
        (d0,) = torch.autograd.grad(y0.sum(), x)
        (d1,) = torch.autograd.grad(h.sum(), x)
        torch.testing.assert_close(d0, d1)
    with pytest.raises(ValueError, match="Lower bound"):
        ft.rrelu(x, 0.5, 0.2, training=True)


def test_inplace_and_no_grad_float16_bfloat16():
    x = _x((5, 8), torch.float32)
    for dt in (torch.float16, torch.bfloat16):
        a, b = x.to(dt), x.to(dt)
        assert ft.silu(a, inplace=True) is a
        torch.testing.assert_close(a, F.silu(b), rtol=1e-2, atol=1e-2)
        a = x.to(dt)
        assert ft.relu(a, inplace=True) is a
        torch.testing.assert_close(a, F.relu(x.to(dt)))


def test_large_outputs_values_and_layout():
    """Outputs of at least 4 MiB (huge-page advice on torch's allocation, the
    parallel loops, the streamed mask backward): values as torch's."""
    x = torch.randn(1100, 1031, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    for name in ("relu", "gelu", "leaky_relu"):
        y = getattr(ft, name)(x)
        assert y.is_contiguous() and y.shape == x.shape and y.dtype == x.dtype
        (dx,) = torch.autograd.grad(y, x, g)
        x2 = x.detach().clone().requires_grad_(True)
        y2 = getattr(F, name)(x2)
        (dx2,) = torch.autograd.grad(y2, x2, g)
        torch.testing.assert_close(y, y2, **TOL)
        torch.testing.assert_close(dx, dx2, **TOL)
