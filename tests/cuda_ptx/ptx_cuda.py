"""Every CUDA kernel compiles to PTX (no GPU needed): proves the kernels are device-safe.

``numba.cuda.compile_ptx`` needs only NVVM (shipped by the pip CUDA packages of
``numba-cuda[cu13]``).  One wrinkle: when a kernel calls another jitted
function (our scalar kernel compiled as a device function, or the
``@overload`` implementations in ``fastrelu._approx``), numba-cuda compiles
the callee for ``get_current_device().compute_capability``, which needs a
driver.  The fixture below answers that question with a fixed compute
capability instead, so the whole call graph is compiled for ``CC``.

The default run compiles every public function in float32 (the full kernel:
loads, the scalar kernel, the store), plus representative float64, float16,
bfloat16, integer and strided cases; the ``slow`` sweep compiles every
function in every dtype.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types as pytypes
import typing

import pytest

from fastrelu._spec import BY_NAME, public_names, resolve

if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
    pytest.skip("compile_ptx is not available under NUMBA_ENABLE_CUDASIM", allow_module_level=True)

CC = (8, 0)
NAMES = public_names()


@pytest.fixture(scope="module")
def ptx():
    """``ptx(name, dtype, ...)`` -> PTX text, compiled for CC without a driver."""
    import numba.cuda.dispatcher as disp
    from numba import cuda

    from fastrelu import cuda as fc

    fake = pytypes.SimpleNamespace(compute_capability=CC, id=0)
    mp = pytest.MonkeyPatch()
    mp.setattr(disp, "get_current_device", lambda: fake)

    def compile_(name, dtype, params="scalar", contiguous=True, ndim=1, ct=None, out=None):
        spec, kind = resolve(name)
        nd = 1 if kind == "forward" else 2
        nparams = len(spec.params) if kind == "forward" else len(spec.grad_param_list)
        kinds = (dtype,) * nd + ((None,) if params == "scalar" else (dtype,)) * nparams
        if ct is None:
            ct = "float32" if dtype in ("float16", "bfloat16") else dtype
        fn, sig = fc.kernel_source(name, ct, kinds, out or dtype, contiguous, 0 if contiguous else ndim)
        text, _ = cuda.compile_ptx(fn, sig.args, cc=CC)
        return text

    yield compile_
    mp.undo()


def _check(text: str):
    assert ".entry" in text
    # Everything is inlined arithmetic: no calls left, no libdevice transcendental
    # calls and no exceptions (which would need a device-side error protocol).
    calls = re.findall(r"call(?:\.uni)?\s[^;]*", text)
    assert not calls, calls[:3]


@pytest.mark.parametrize("name", NAMES)
def test_float32(ptx, name):
    _check(ptx(name, "float32"))


SAMPLE = ["relu", "leaky_relu_grad", "elu", "gelu", "gelu_tanh_grad", "softplus", "mish_grad", "squareplus"]


@pytest.mark.parametrize("name", SAMPLE)
@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_other_float_dtypes_sample(ptx, name, dtype):
    _check(ptx(name, dtype))


@pytest.mark.parametrize("name", ["relu", "gelu", "silu_grad", "hardswish"])
def test_bfloat16(ptx, name):
    text = ptx(name, "bfloat16")
    _check(text)


@pytest.mark.parametrize("name", [a.name for a in BY_NAME.values() if a.int_exact])
@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8"])
def test_int_exact(ptx, name, dtype):
    _check(ptx(name, dtype))


def test_int_to_float_loop(ptx):
    # int16 x for a float-only row: loaded as int16, computed in float32
    _check(ptx("gelu", "int16", ct="float32", out="float32"))


@pytest.mark.parametrize(
    "name, ndim", [("relu", 1), ("leaky_relu", 3), ("softplus", 2), ("hardtanh_grad", 4), ("prelu", 4)]
)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_strided_array_params(ptx, name, ndim, dtype):
    _check(ptx(name, dtype, params="array", contiguous=False, ndim=ndim))


def test_contiguous_array_params(ptx):
    _check(ptx("rrelu_grad", "float32", params="array"))


def test_int64_indexing(ptx):
    # the grid-stride loop index must be 64-bit (> 2**31 elements)
    text = ptx("relu", "float32")
    assert re.search(r"\b(add|mad)\.(lo\.)?[su]64", text), "no 64-bit index arithmetic"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_all_dtypes(ptx, name, dtype):
    _check(ptx(name, dtype))


def test_namespace_matches_table():
    from fastrelu import cuda as fc

    names = [n for n in fc.__all__ if n in NAMES]
    assert sorted(names) == sorted(NAMES)
    for n in NAMES:
        obj = getattr(fc, n)
        assert obj.target == "cuda"
        assert repr(obj) == f"<fastrelu ufunc {n} [cuda]>"
        assert obj.__doc__


def test_import_is_lazy():
    code = (
        "import sys, fastrelu, fastrelu.cuda as fc\n"
        "fastrelu.relu(1.0)\n"
        "bad = [m for m in sys.modules if m.startswith(('numba.cuda', 'numba_cuda', 'cuda.'))]\n"
        "assert not bad, bad\n"
        "assert fc.relu.__name__ == 'relu'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr


def test_status_and_clear_error_without_gpu():
    from numba import cuda

    from fastrelu import cuda as fc

    s = fc.status()
    assert "numba-cuda" in s
    if cuda.is_available():
        pytest.skip("a GPU is present: the no-GPU error cannot be observed")
    assert "no GPU" in s
    assert fc.is_available() is False
    with pytest.raises(fc.CudaUnavailableError, match="no CUDA GPU found"):
        fc.relu(FakeDeviceArray())


class FakeDeviceArray:
    """Something that claims to live on a GPU."""

    __cuda_array_interface__: typing.ClassVar[dict] = {
        "shape": (3,),
        "typestr": "<f4",
        "data": (0, False),
        "version": 3,
        "strides": None,
    }
