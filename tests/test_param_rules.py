"""Parameter rules found by peers' test suites (docs/semantics.md):

* integer input with float parameters keeps the integer dtype and casts the
  parameters to it, as PyTorch does (floats truncate toward zero); a value
  outside the dtype's range is NumPy's OverflowError, NaN a ValueError;
* prelu's weight is a scalar or 1-D, as PyTorch's;
* ``*_grad_from_output`` refuses a negative (or NaN) slope / alpha, as
  PyTorch's in-place backward does.

The PyTorch results pinned here were taken from torch 2.13 (CPU); where torch
is installed the tests also compare with it live.
"""

from __future__ import annotations

import numpy as np
import pytest

SIGNED = (np.int8, np.int16, np.int32, np.int64)
UNSIGNED = (np.uint8, np.uint16, np.uint32, np.uint64)


def _torch():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    return torch, F


# ==========================================================================
# integer input, float parameters
# ==========================================================================

#: (function, x, params, torch's int8 result (torch 2.13))
PINNED_INT8 = [
    ("threshold", [0, -1, 1, 5], (0.1533203125, -9), [-9, -9, 1, 5]),
    ("threshold", [0, -1, 1, 5], (0.5, 2.7), [2, 2, 1, 5]),
    ("threshold", [0, -1, 1, 5], (-1.5, 3), [0, 3, 1, 5]),
    ("hardtanh", [0, -1, 1, 5], (-1.0, 1.0), [0, -1, 1, 1]),
    ("hardtanh", [0, -1, 1, 5], (-1.5, 2.5), [0, -1, 1, 2]),
    ("hardtanh", [0, -1, 1, 5], (-9, 3), [0, -1, 1, 3]),
]


@pytest.mark.parametrize(("name", "x", "ps", "want"), PINNED_INT8, ids=[f"{c[0]}{c[2]}" for c in PINNED_INT8])
def test_int8_with_float_parameters_is_torchs(target, name, x, ps, want):
    y = getattr(target, name)(np.array(x, np.int8), *ps)
    assert y.dtype == np.int8
    assert y.tolist() == want
    torch, F = _torch()
    if torch is not None:
        assert getattr(F, name)(torch.tensor(x, dtype=torch.int8), *ps).tolist() == want


@pytest.mark.parametrize("dt", SIGNED + UNSIGNED, ids=lambda d: np.dtype(d).name)
def test_every_integer_dtype_is_kept(target, dt):
    x = np.array([0, 1, 3, 7, 100], dt)
    y = target.threshold(x, 2.9, 5.5)  # threshold 2, value 5
    assert y.dtype == dt and y.tolist() == [5, 5, 3, 7, 100]
    lo = -0.9 if np.dtype(dt).kind == "u" else -2.5  # -0.9 truncates to 0
    y = target.hardtanh(x, lo, 6.7)
    assert y.dtype == dt and y.tolist() == [0, 1, 3, 6, 6]
    # NumPy scalars and parameter arrays are cast the same way
    y = target.threshold(x, np.float64(2.9), np.array([5.5, 5.5, 5.5, 5.5, 6.5]))
    assert y.dtype == dt and y.tolist() == [5, 5, 3, 7, 100]
    torch, F = _torch()
    if torch is not None and dt in (np.int8, np.uint8, np.int16, np.int32, np.int64):
        assert F.threshold(torch.from_numpy(x), 2.9, 5.5).tolist() == [5, 5, 3, 7, 100]


@pytest.mark.parametrize(
    ("name", "dt", "ps", "bad"),
    [
        ("threshold", np.uint8, (0.1533203125, -9), "value=-9"),  # torch wraps to 247; refused
        ("threshold", np.uint8, (-1.5, 3), "threshold=-1.5"),
        ("threshold", np.int8, (300, 1), "threshold=300"),
        ("threshold", np.int8, (1, 300.0), "value=300.0"),
        ("threshold", np.int32, (1, np.inf), "value=inf"),
        ("hardtanh", np.uint8, (-1.0, 1.0), "min_val=-1.0"),
        ("hardtanh", np.uint8, (), "min_val=-1"),  # the default
        ("hardtanh", np.uint16, (0.5, 70000.0), "max_val=70000.0"),
        ("hardtanh", np.int8, (-300, 2), "min_val=-300"),
        ("hardtanh", np.int16, (np.array([-1.0, -40000.0]), 2), "min_val has -40000.0"),
    ],
)
def test_parameter_out_of_the_dtypes_range_is_an_overflow(target, name, dt, ps, bad):
    x = np.array([0, 1], dt)
    out = np.full(2, 9, dt)
    with pytest.raises(OverflowError, match=f"{name}: {bad}.*out of bounds for {np.dtype(dt).name}"):
        getattr(target, name)(x, *ps, out=out)
    assert out.tolist() == [9, 9]  # nothing written
    torch, F = _torch()
    scalars = not any(isinstance(p, np.ndarray) for p in ps)  # torch takes Python scalars only
    if torch is not None and scalars and ps != (0.1533203125, -9) and dt != np.uint16:
        with pytest.raises(RuntimeError):
            getattr(F, name)(torch.from_numpy(x), *ps)


def test_nan_parameter_on_integers_is_a_valueerror(target):
    with pytest.raises(ValueError, match="threshold=nan cannot be cast to the integer dtype int8"):
        target.threshold(np.array([1], np.int8), np.nan, 1)
    with pytest.raises(ValueError, match="min_val has NaN"):
        target.hardtanh(np.array([1], np.int8), np.array([np.nan]), 1)


def test_bool_input_and_dtype_keep_numpys_rules(target):
    b = np.array([True, False])
    assert target.threshold(b, False, False).dtype == np.bool_
    assert target.threshold(np.array([0, 1], np.int8), 0.5, 2.5, dtype=np.float64).tolist() == [2.5, 1.0]
    assert target.relu(np.array([-3, 4], np.int8)).dtype == np.int8


# ==========================================================================
# prelu weight shape
# ==========================================================================


@pytest.mark.parametrize(
    ("xshape", "wshape"),
    [((2, 8, 3), (8, 1)), ((2, 10, 5, 3), (1, 1, 3)), ((2, 3), (1, 1)), ((2, 3), (1, 3))],
)
def test_prelu_weight_more_than_1d_raises(target, xshape, wshape):
    x = -np.ones(xshape, np.float32)
    w = np.full(wshape, 0.5, np.float32)
    out = np.full(xshape, 7, np.float32)
    msg = f"Expected `weight` to be a scalar or 1D array, but got: ndim = {len(wshape)}"
    for call in (
        lambda: target.prelu(x, w, out=out),
        lambda: target.prelu(x, weight=w),
        lambda: target.prelu(x, w.tolist()),
        lambda: target.prelu_grad(x, x, w),
    ):
        with pytest.raises(ValueError, match=msg):
            call()
    assert (out == 7).all()
    torch, F = _torch()
    if torch is not None and len(wshape) > 1 and np.prod(wshape) in (1, xshape[1]):
        with pytest.raises(RuntimeError, match="scalar or 1D"):
            F.prelu(torch.from_numpy(x), torch.from_numpy(w))


def test_prelu_scalar_and_1d_weights(target):
    x = -np.ones((2, 3, 4))
    for w in (0.25, np.float64(0.25), np.array(0.25), np.array([0.25]), [0.25]):
        np.testing.assert_array_equal(target.prelu(x, w), np.full(x.shape, -0.25))
    np.testing.assert_array_equal(target.prelu(x, [0.1, 0.2, 0.3])[0, :, 0], [-0.1, -0.2, -0.3])


# ==========================================================================
# gradients from the output: slope / alpha must be >= 0
# ==========================================================================


@pytest.mark.parametrize(
    ("name", "pname", "phrase"),
    [
        ("leaky_relu", "negative_slope", "In-place leakyReLu backward calculation is triggered"),
        ("elu", "alpha", "In-place elu backward calculation is triggered"),
    ],
)  # fmt: skip
def test_grad_from_output_refuses_negative_parameters(target, name, pname, phrase):
    f = getattr(target, name)
    gfo = getattr(target, name + "_grad_from_output")
    x = np.array([-1.0, 1.0])
    out = np.full(2, 5.0)
    for bad in (-2.0, np.nan, np.array([0.5, -0.5]), np.float32(-1)):
        for call in (
            lambda bad=bad: gfo(f(x, 0.5), np.ones(2), bad, out=out),
            lambda bad=bad: gfo(f(x, 0.5), np.ones(2), **{pname: bad}),
        ):
            with pytest.raises(ValueError, match=f"{name}_grad_from_output: .*{phrase}"):
                call()
            with pytest.raises(ValueError):
                call()  # every time (never cached)
    assert (out == 5.0).all()
    # >= 0 is fine and exact (0: the negative side is flat)
    for ok in (0.0, 0.5, 2.0):
        y = f(x, ok)
        np.testing.assert_array_equal(
            gfo(y, np.ones(2), ok), getattr(target, name + "_grad")(x, np.ones(2), ok)
        )
    # the ordinary gradient takes any slope (the true gradient of the formula)
    np.testing.assert_array_equal(getattr(target, name + "_grad")(x, np.ones(2), -2.0)[1], 1.0)
    torch, F = _torch()
    if torch is not None:
        t = torch.tensor([-1.0, 1.0], requires_grad=True)
        y = getattr(F, name + "_")(t.clone(), -2.0)
        with pytest.raises(RuntimeError, match=phrase):
            y.sum().backward()
