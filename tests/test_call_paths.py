"""The two call paths of every public object and the branches of every loop.

A public object answers the common call -- a float ndarray, parameters as
Python numbers, at most ``out=`` -- from a cache of validated parameters
(``Ufunc._consts``), and everything else through the general path; each
compiled ufunc loop has a vectorised branch for contiguous data with scalar
(stride-0) parameters, one for all-contiguous inputs, and an element-by-
element branch for any other strides.  These tests pin both paths and every
branch to the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOAT_IDS, FLOATS, NAMES, get, params

from fastrelu import _spec


def _args(name: str, dtype, n: int = 37):
    """Data (x, or x and g) and parameter values for *name*."""
    row, kind = _spec.resolve(name)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    data = (x,) if kind == "forward" else (x, rng.standard_normal(n).astype(dtype))
    return data, params(row, "forward" if kind == "forward" else "grad")


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_stride_patterns_agree(target, name, dtype):
    """Contiguous/scalar, all-contiguous, strided and broadcast inputs agree."""
    f = get(target, name)
    data, ps = _args(name, dtype)
    n = data[0].size
    want = f(*data, *ps)  # contiguous data, stride-0 parameters
    full = tuple(np.full(n, p, dtype) for p in ps)  # all contiguous
    np.testing.assert_array_equal(f.ufunc(*data, *full), want)
    strided = tuple(np.repeat(a, 3)[::3] for a in data)  # stride 3 * itemsize
    assert not strided[0].flags.c_contiguous
    np.testing.assert_array_equal(f(*strided, *ps), want)
    # element by element, one column at a time of a 2-D broadcast
    col = tuple(np.broadcast_to(a[:, None], (n, 2)) for a in data)
    # (prelu's weight is at most 1-D, as PyTorch's: its 2 channels lie along axis 1)
    pshape = (2,) if name.startswith("prelu") else (1, 2)
    wide = f(*col, *(np.full(pshape, p, dtype) for p in ps))
    np.testing.assert_array_equal(wide[:, 0], want)
    np.testing.assert_array_equal(wide[:, 1], want)
    # a strided out= (written element by element by the trampoline)
    out = np.zeros(2 * n, dtype)
    f(*data, *ps, out=out[::2])
    np.testing.assert_array_equal(out[::2], want)
    assert not out[1::2].any()


@pytest.mark.parametrize("name", ["leaky_relu", "hardtanh", "softplus", "elu_grad", "threshold"])
def test_fast_path_matches_general_path(target, name):
    f = get(target, name)
    data, ps = _args(name, np.float32)
    first = f(*data, *ps)  # general path: validates and caches
    again = f(*data, *ps)  # fast path
    np.testing.assert_array_equal(first, again)
    assert again.dtype == np.float32
    # NumPy scalars and 0-d arrays of another dtype are cast to x's dtype
    for conv in (np.float64, np.float16, np.asarray):
        r = f(*data, *(conv(p) for p in ps))
        assert r.dtype == np.float32
        np.testing.assert_array_equal(r, f(*data, *(np.float32(conv(p)) for p in ps)))
    out = np.empty_like(data[0])
    assert f(*data, *ps, out=out) is out
    assert f(*data, *ps, out) is out  # positional out
    np.testing.assert_array_equal(out, first)


def test_parameters_by_keyword_and_default(target):
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    want = np.where(x > 0, x, np.float32(0.01) * x)
    for call in (
        lambda: target.leaky_relu(x),
        lambda: target.leaky_relu(x, 0.01),
        lambda: target.leaky_relu(x, negative_slope=0.01),
        lambda: target.leaky_relu(x, negative_slope=0.01, out=np.empty_like(x)),
    ):
        for _ in range(2):  # general path, then fast path
            np.testing.assert_array_equal(call(), want)
    np.testing.assert_array_equal(target.hardtanh(x, max_val=2), np.clip(x, -1, 2))
    np.testing.assert_array_equal(target.hardtanh(x, -2, max_val=2), np.clip(x, -2, 2))


def test_invalid_parameters_fail_every_time(target):
    x = np.linspace(-3, 3, 7)
    for _ in range(3):
        with pytest.raises(ValueError, match="min_val"):
            target.hardtanh(x, 2.0, 1.0)
    target.hardtanh(x, 1.0, 2.0)
    target.hardtanh(x, 1.0, 2.0)
    with pytest.raises(ValueError, match="min_val"):
        target.hardtanh(x, 2.0, 1.0)


def test_cached_values_do_not_admit_other_types(target):
    """A cached 0.5 does not make 0.5+0j (or a Fraction) acceptable."""
    from fractions import Fraction

    x = np.linspace(-3, 3, 7)
    target.leaky_relu(x, 0.5)
    target.leaky_relu(x, 0.5)
    with pytest.raises(TypeError):
        target.leaky_relu(x, 0.5 + 0j)
    with pytest.raises(TypeError):
        target.leaky_relu(x, Fraction(1, 2))
    # a bool parameter goes the general way and counts as 0/1 like NumPy's
    np.testing.assert_array_equal(target.leaky_relu(x, True), x)


def test_binding_errors(target):
    x = np.linspace(-3, 3, 7)
    with pytest.raises(TypeError, match="multiple values"):
        target.leaky_relu(x, 0.1, negative_slope=0.2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        target.leaky_relu(x, slope=0.2)
    with pytest.raises(TypeError, match="missing"):
        target.threshold(x, 0.5)
    with pytest.raises(TypeError, match="missing"):
        target.relu()
    with pytest.raises(TypeError):
        target.leaky_relu(x, 0.1, None, None)  # too many positionals
    np.testing.assert_array_equal(target.threshold(x, 0.5, value=-1.0), np.where(x > 0.5, x, -1.0))


def test_parameter_overflowing_the_dtype_keeps_numpy_handling(target):
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for _ in range(2):  # never cached: NumPy warns about the cast each time
        with pytest.warns(RuntimeWarning, match="overflow"):
            r = target.leaky_relu(x, 1e300)
        assert r.dtype == np.float32
        np.testing.assert_array_equal(r[x > 0], x[x > 0])
        assert (r[x < 0] == -np.inf).all()
