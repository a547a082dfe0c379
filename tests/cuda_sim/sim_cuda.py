"""The CUDA target's kernels and launch path, run in Numba's CUDA simulator.

Not collected by a plain ``pytest tests`` (the file name does not match
``test_*.py``): ``tests/test_cuda_sim.py`` runs it in a subprocess with
``NUMBA_ENABLE_CUDASIM=1``, which must be set before numba is imported.  To run
it by hand::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim/sim_cuda.py

Everything is compared with the cpu target (``fastrelu.<name>``).  The
simulator runs the kernels as Python (the ``_approx`` functions as their
float64 oracles), so values agree to a few ulps, not bitwise; what is tested
here is the plumbing: dtypes, layouts, broadcasting, ``out=``, routing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0"):
    pytest.skip("run with NUMBA_ENABLE_CUDASIM=1 (see tests/test_cuda_sim.py)", allow_module_level=True)

from numba import cuda

import fastrelu
from fastrelu import cuda as fc
from fastrelu._spec import public_names, resolve

NAMES = public_names()


def _params(name, shape=None):
    spec, kind = resolve(name)
    d = spec.defaults()
    plist = spec.params if kind == "forward" else spec.grad_param_list
    return [d[p.name] for p in plist]


def _data(name, dtype, n=37):
    spec, kind = resolve(name)
    lo, hi = spec.domain
    x = np.linspace(lo, hi, n)
    for k in spec.kinks:
        x[len(x) // 2] = k.x
    x[0] = np.nan
    x[1] = -0.0
    x = x.astype(dtype)
    if kind == "forward":
        return [x]
    g = np.linspace(-2, 3, n).astype(dtype)
    if kind == "grad_from_output":
        x = getattr(fastrelu, spec.name)(x, *_params(spec.name))
    return [x, g]


def _close(got, want, dtype):
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    fi = np.finfo(want.dtype)
    k = 4 if want.dtype == np.float16 else 32
    np.testing.assert_allclose(
        got.astype(np.float64), want.astype(np.float64), rtol=k * fi.eps, atol=k * fi.eps * 1e-3
    )


def _host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_values_match_cpu(name, dtype):
    data = _data(name, dtype)
    params = _params(name)
    want = getattr(fastrelu, name)(*data, *params)
    got = getattr(fc, name)(*[cuda.to_device(a) for a in data], *params)
    assert type(got).__name__ == "FakeCUDAArray"
    _close(_host(got), want, dtype)


@pytest.mark.parametrize("name", ["relu", "leaky_relu_grad", "elu", "softplus", "hardtanh_grad", "gelu"])
@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::2],
        lambda a: a[::-1],
        lambda a: a.T,
        lambda a: a[1:, ::-3],
    ],
    ids=["step2", "reversed", "transposed", "mixed"],
)
def test_strided_inputs(name, view):
    _spec, _kind = resolve(name)
    base = [a.reshape(6, 6) for a in _data(name, "float32", 36)]
    params = _params(name)
    want = getattr(fastrelu, name)(*[view(a) for a in base], *params)
    got = getattr(fc, name)(*[view(cuda.to_device(a)) for a in base], *params)
    _close(_host(got), want, "float32")


def test_strided_out_and_out_returned():
    x = np.linspace(-3, 3, 24).astype(np.float32).reshape(4, 6)
    out = cuda.to_device(np.full((6, 4), 7.0, np.float32))
    r = fc.relu(cuda.to_device(x.T.copy()), out=out)
    assert r is out
    np.testing.assert_array_equal(out.copy_to_host(), fastrelu.relu(x.T))
    big = cuda.to_device(np.zeros((8, 6), np.float64))
    view = big[::2]
    fc.leaky_relu(cuda.to_device(x), 0.5, out=view)
    np.testing.assert_allclose(big.copy_to_host()[::2], fastrelu.leaky_relu(x, 0.5))
    assert not big.copy_to_host()[1::2].any()


def test_device_array_params_broadcast():
    x = np.linspace(-3, 3, 30).astype(np.float32).reshape(5, 6)
    slope = np.linspace(0.1, 0.6, 6).astype(np.float32)
    got = fc.leaky_relu(cuda.to_device(x), cuda.to_device(slope))
    _close(_host(got), fastrelu.leaky_relu(x, slope), "float32")
    lo = np.full((5, 1), -0.5, np.float32)
    hi = np.linspace(0.5, 2.0, 6).astype(np.float32)
    g = np.ones_like(x)
    got = fc.hardtanh_grad(cuda.to_device(x), cuda.to_device(g), cuda.to_device(lo), cuda.to_device(hi))
    _close(_host(got), fastrelu.hardtanh_grad(x, g, lo, hi), "float32")
    # parameter array with a different dtype: cast to x's dtype like the cpu target
    got = fc.leaky_relu(cuda.to_device(x), cuda.to_device(slope.astype(np.float64)))
    _close(_host(got), fastrelu.leaky_relu(x, slope.astype(np.float64)), "float32")


def test_prelu_per_channel():
    x = np.linspace(-3, 3, 2 * 3 * 4).astype(np.float32).reshape(2, 3, 4)
    w = np.array([0.1, 0.2, 0.3], np.float32)
    got = fc.prelu(cuda.to_device(x), cuda.to_device(w))
    _close(_host(got), fastrelu.prelu(x, w), "float32")
    got = fc.prelu(cuda.to_device(x), weight=cuda.to_device(w))
    _close(_host(got), fastrelu.prelu(x, w), "float32")


def test_keyword_params_and_variants():
    x = np.linspace(-3, 3, 21)
    d = cuda.to_device(x)
    _close(_host(fc.elu(d, alpha=0.5)), fastrelu.elu(x, alpha=0.5), "float64")
    _close(_host(fc.gelu(d, approximate="tanh")), fastrelu.gelu_tanh(x), "float64")
    _close(_host(fc.softplus(d, threshold=1.0)), fastrelu.softplus(x, threshold=1.0), "float64")
    with pytest.raises(ValueError, match="min_val"):
        fc.hardtanh(d, 2.0, 1.0)
    with pytest.raises(TypeError, match="where"):
        fc.relu(d, where=True)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize("name", ["relu", "relu6", "gelu", "hardtanh", "leaky_relu"])
def test_integer_inputs_dtype_like_cpu(name, dtype):
    x = np.arange(-8, 9).astype(dtype) if dtype[0] != "u" else np.arange(0, 17).astype(dtype)
    try:
        want = getattr(fastrelu, name)(x)
    except (OverflowError, TypeError, ValueError) as e:  # hardtanh(-1) on uint8: an error on both
        with pytest.raises(type(e)):
            getattr(fc, name)(cuda.to_device(x))
        return
    got = _host(getattr(fc, name)(cuda.to_device(x)))
    _close(got, want, want.dtype)


def test_threshold_int_exact():
    x = np.arange(-5, 6, dtype=np.int32)
    got = _host(fc.threshold(cuda.to_device(x), 1, -7))
    _close(got, fastrelu.threshold(x, 1, -7), "int32")


def test_mixed_grad_dtypes_promote():
    x = np.linspace(-2, 2, 9).astype(np.float32)
    g = np.ones(9)
    got = _host(fc.silu_grad(cuda.to_device(x), cuda.to_device(g)))
    _close(got, fastrelu.silu_grad(x, g), "float64")


def test_zero_d_and_empty():
    got = fc.relu(cuda.to_device(np.array(-2.0, np.float32)))
    assert got.shape == ()
    assert _host(got) == 0
    got = fc.gelu(cuda.to_device(np.zeros((0, 3), np.float32)))
    assert got.shape == (0, 3)


class CAIArray:
    """A minimal foreign producer: ``__cuda_array_interface__`` over simulator (host) memory."""

    def __init__(self, a):
        self.a = a

    @property
    def __cuda_array_interface__(self):
        a = self.a
        return {
            "shape": a.shape,
            "typestr": a.dtype.str,
            "data": (a.ctypes.data, False),
            "version": 3,
            "strides": None if a.flags.c_contiguous else a.strides,
            "stream": None,
        }


def test_cpu_target_routes_device_arrays():
    x = np.linspace(-2, 2, 12).astype(np.float32).reshape(3, 4)
    got = fastrelu.relu(CAIArray(x))  # the cpu object, routed by _ufunc._to_cuda
    _close(_host(got), fastrelu.relu(x), "float32")
    got = fastrelu.leaky_relu(CAIArray(x[:, ::2]), negative_slope=0.2)
    _close(_host(got), fastrelu.leaky_relu(x[:, ::2], 0.2), "float32")
    got = fastrelu.gelu(CAIArray(x), approximate="tanh")
    _close(_host(got), fastrelu.gelu_tanh(x), "float32")


def test_host_input_is_an_error_unless_copy_host():
    x = np.linspace(-2, 2, 5)
    with pytest.raises(TypeError, match="copy_host=True"):
        fc.relu(x)
    got = fc.elu(x, 0.5, copy_host=True)
    assert type(got) is np.ndarray
    _close(got, fastrelu.elu(x, 0.5), "float64")


def test_out_errors():
    d = cuda.to_device(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="shape"):
        fc.relu(d, out=cuda.to_device(np.zeros(5, np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        fc.relu(cuda.to_device(np.zeros(4, np.int32)), out=cuda.to_device(np.zeros(4, np.int64)))


# --------------------------------------------------------------------------
# bfloat16: the bit conversions (vs torch) and a bfloat16 kernel
# --------------------------------------------------------------------------


def test_bf16_conversions_match_torch():
    import torch

    from fastrelu import _cuda_kernels as ck

    rng = np.random.default_rng(0)
    f = np.concatenate(
        [
            rng.standard_normal(500).astype(np.float32) * 10.0 ** rng.integers(-40, 38, 500),
            np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.3895314e38, 3.4e38, 1e-45], np.float32),
        ]
    ).astype(np.float32)
    want = torch.from_numpy(f).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    got = np.array([ck._f32_to_bf16(v) for v in f], np.uint16)
    nan = np.isnan(f)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.all((got[nan] & 0x7F80) == 0x7F80) and np.all(got[nan] & 0x7F)
    back = np.array([ck._bf16_to_f32(h) for h in want], np.float32)
    np.testing.assert_array_equal(
        back, torch.from_numpy(want.view(np.int16)).view(torch.bfloat16).float().numpy()
    )


def test_bf16_kernel():
    import torch

    x = torch.linspace(-4, 4, 40, dtype=torch.bfloat16)
    bits = x.view(torch.int16).numpy().view(np.uint16)
    comp = fc._compiled("gelu", "float32", ("bfloat16",), "bfloat16", True, 0)
    out = np.zeros_like(bits)
    comp.disp[2, 32](out, bits.copy(), np.int64(bits.size))
    got = torch.from_numpy(out.view(np.int16)).view(torch.bfloat16).float().numpy()
    want = torch.from_numpy(fastrelu.gelu(x.float().numpy())).to(torch.bfloat16).float().numpy()
    np.testing.assert_allclose(got, want, rtol=2**-7)
