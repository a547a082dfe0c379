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


def test_modules_and_zero_copy():
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
