"""Real-GPU tests of the CUDA target (``-m cuda``); skipped cleanly without a GPU.

CuPy and PyTorch inputs: output type, device and dtype preserved, values equal
to the cpu target (to a few ulps: the same scalar kernels, different
compilers), streams respected, bfloat16 through torch, both launch paths, and
(``slow``) more than 2**31 elements.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastrelu
from fastrelu._spec import public_names, resolve

pytestmark = pytest.mark.cuda


def _gpu():
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:
        return False


if not _gpu():
    pytest.skip("no CUDA GPU (numba.cuda.is_available() is False)", allow_module_level=True)

from fastrelu import cuda as fc  # noqa: E402

NAMES = public_names()


def _params(name):
    spec, kind = resolve(name)
    d = spec.defaults()
    plist = spec.params if kind == "forward" else spec.grad_param_list
    return [d[p.name] for p in plist]


def _data(name, dtype, n=1001):
    spec, kind = resolve(name)
    lo, hi = spec.domain
    x = np.linspace(lo, hi, n)
    x[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    x = x.astype(dtype)
    if kind == "forward":
        return [x]
    g = np.linspace(-2, 3, n).astype(dtype)
    if kind == "grad_from_output":
        x = getattr(fastrelu, spec.name)(x, *_params(spec.name))
    return [x, g]


def _close(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    eps = np.finfo(want.dtype).eps
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=8 * eps, atol=1e-30)


@pytest.fixture(params=["cupy", "torch"])
def lib(request):
    if request.param == "cupy":
        cp = pytest.importorskip("cupy")
        return (cp, cp.asarray, cp.asnumpy, cp.ndarray)
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    return (
        torch,
        lambda a: torch.from_numpy(np.ascontiguousarray(a)).cuda(),
        lambda t: t.cpu().numpy(),
        torch.Tensor,
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_values_and_type(lib, name, dtype):
    _mod, to_dev, to_host, cls = lib
    data = _data(name, dtype)
    params = _params(name)
    want = getattr(fastrelu, name)(*data, *params)
    got = getattr(fc, name)(*[to_dev(a) for a in data], *params)
    assert isinstance(got, cls)
    _close(to_host(got), want)
    # the cpu object routes device arrays here
    got2 = getattr(fastrelu, name)(*[to_dev(a) for a in data], *params)
    assert isinstance(got2, cls)
    _close(to_host(got2), want)


def test_strided_and_out(lib):
    _mod, to_dev, to_host, _cls = lib
    x = np.linspace(-3, 3, 600).astype(np.float32).reshape(20, 30)
    d = to_dev(x)
    _close(to_host(fc.gelu(d[::2, ::-3])), fastrelu.gelu(x[::2, ::-3]))
    _close(to_host(fc.gelu(d.T)), fastrelu.gelu(x.T))
    out = to_dev(np.zeros_like(x))
    assert fc.relu(d, out=out) is out
    _close(to_host(out), fastrelu.relu(x))


def test_device_params_broadcast(lib):
    _mod, to_dev, to_host, _cls = lib
    x = np.linspace(-3, 3, 2 * 3 * 50).astype(np.float32).reshape(2, 3, 50)
    w = np.array([0.1, 0.2, 0.3], np.float32)
    _close(to_host(fc.prelu(to_dev(x), to_dev(w))), fastrelu.prelu(x, w))
    slope = np.linspace(0, 1, 50).astype(np.float32)
    _close(to_host(fc.leaky_relu(to_dev(x), to_dev(slope))), fastrelu.leaky_relu(x, slope))


def test_int_exact(lib):
    _mod, to_dev, to_host, _cls = lib
    x = np.arange(-50, 50, dtype=np.int32)
    _close(to_host(fc.relu(to_dev(x))), fastrelu.relu(x))


def test_cupy_stream():
    cp = pytest.importorskip("cupy")
    x = cp.linspace(-3, 3, 10**6, dtype=cp.float32)
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        y = fc.silu(x)
    s.synchronize()
    _close(cp.asnumpy(y), fastrelu.silu(cp.asnumpy(x)))
    y2 = fc.silu(x, stream=s)
    s.synchronize()
    _close(cp.asnumpy(y2), fastrelu.silu(cp.asnumpy(x)))


def test_torch_stream_device_and_bfloat16():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    x = torch.linspace(-4, 4, 10**5, device="cuda")
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        y = fc.gelu(x)
    s.synchronize()
    assert y.device == x.device
    _close(y.cpu().numpy(), fastrelu.gelu(x.cpu().numpy()))
    xb = x.to(torch.bfloat16)
    yb = fc.gelu(xb)
    assert yb.dtype == torch.bfloat16
    ref = torch.from_numpy(fastrelu.gelu(xb.float().cpu().numpy())).to(torch.bfloat16)
    torch.testing.assert_close(yb.cpu(), ref, rtol=2**-7, atol=1e-6)
    # torch's own bfloat16 gelu agrees to bf16 rounding
    torch.testing.assert_close(yb, torch.nn.functional.gelu(xb), rtol=2**-6, atol=1e-2)


def test_numba_device_array():
    from numba import cuda

    x = np.linspace(-3, 3, 1000)
    y = fc.elu(cuda.to_device(x), 0.5)
    assert type(y).__name__ == "DeviceNDArray"
    _close(y.copy_to_host(), fastrelu.elu(x, 0.5))


def test_public_launch_path():
    code = (
        "import numpy as np, fastrelu, fastrelu.cuda as fc\n"
        "from numba import cuda\n"
        "x = np.linspace(-3, 3, 1001).astype(np.float32)\n"
        "y = fc.softplus(cuda.to_device(x[::-1]), 2.0).copy_to_host()\n"
        "np.testing.assert_allclose(y, fastrelu.softplus(x[::-1], 2.0), rtol=1e-6)\n"
        "assert fc._backend().mode == 'public'\n"
    )
    env = dict(os.environ, FASTRELU_CUDA_LAUNCH="public")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_more_than_2_31_elements():
    torch = pytest.importorskip("torch")
    n = 2**31 + 1000
    free, _ = torch.cuda.mem_get_info()
    if free < 3 * n:
        pytest.skip("not enough GPU memory")
    x = torch.empty(n, dtype=torch.int8, device="cuda")
    x[: n // 2] = -3
    x[n // 2 :] = 5
    y = fc.relu(x)
    assert y.dtype == torch.int8
    assert int(y[: n // 2].abs().max()) == 0 and int(y[n // 2 :].min()) == 5
    assert int(y[-1]) == 5 and int(y[2**31 + 5]) == 5
    del y
    # strided: every other element of a > 2**31 view
    z = fc.relu(x[::2])
    assert int(z[-1]) == 5 and int(z[0]) == 0
