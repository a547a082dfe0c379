"""NaN (with payloads), ±inf, −0.0, subnormals and the largest finite values.

Expected values follow docs/semantics.md: the "grad at x = NaN" column, select vs
multiply for a NaN/inf incoming gradient where the local gradient is 0, and
the deliberate departures from PyTorch (relu(−0.0) = +0.0, limits at ±inf).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import FLOAT_IDS, FLOATS, ROWS, assert_ulps, get, ids, params

from fastrelu import _spec

NAN, INF = math.nan, math.inf

# Every expectation below is a fact of the row (fastrelu/_spec.py, "special values"):
# limits, grad_limits, grad_at_nan, grad_selects, grad_zero_at, grad_nonzero_at,
# minus_zero_to_plus_zero, identity_on, value_at_lowest.


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_row_facts_are_consistent(target, row):
    """The special-value facts of a row agree with each other and with the library."""
    lo, hi = row.limits
    assert lo <= hi
    if row.slope is not None:  # the x <= 0 side: the slope at -inf and at NaN
        s = row.slope(*params(row))
        assert row.grad_limits[0] == s and row.grad_at_nan == s
    fg = get(target, row.name + "_grad")
    x0, pz = row.grad_zero_at
    assert fg(x0, 1.0, *(params(row, "grad") if pz is None else pz)) == 0, (row.name, x0, pz)
    assert fg(row.grad_nonzero_at, 1.0, *params(row, "grad")) != 0
    if row.grad_selects:
        assert pz is None  # the select path is checked at the test parameters
    if row.identity_on is not None:
        a, b = row.identity_on
        xs = np.linspace(max(a, -1e6), min(b, 1e6), 103)[1:-1]
        np.testing.assert_array_equal(get(target, row.name)(xs, *params(row)), xs)


def _f(module, row):
    return get(module, row.name), params(row)


def _fg(module, row):
    return get(module, row.name + "_grad"), params(row, "grad")


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_forward_special_values(target, row, dtype):
    f, p = _f(target, row)
    # NaN propagates through every forward function, scalar and vector paths
    x = np.array([NAN, -INF, INF, -0.0, 0.0] * 9, dtype=dtype)
    y = f(x, *p)
    assert y.dtype == np.dtype(dtype)
    assert np.isnan(y[0::5]).all()
    lo, hi = row.limits
    np.testing.assert_array_equal(y[1::5], np.asarray(lo, dtype))
    np.testing.assert_array_equal(y[2::5], np.asarray(hi, dtype))
    f0 = f(np.asarray(0.0, dtype), *p)
    assert_ulps(y[4::5], np.full(9, float(f0)), 0, dtype)
    assert_ulps(y[3::5], np.full(9, float(f0)), 0, dtype)
    if f0 == 0:
        want_sign = not row.minus_zero_to_plus_zero
        assert np.signbit(y[3::5]).tolist() == [want_sign] * 9, f"{row.name}(-0.0) sign"
        assert not np.signbit(y[4::5]).any(), f"{row.name}(+0.0) sign"
    # scalar calls agree with the vector path
    for i in range(5):
        np.testing.assert_array_equal(f(x[i], *p), y[i])


@pytest.mark.parametrize("row", [r for r in ROWS if r.minus_zero_to_plus_zero], ids=lambda r: r.name)
def test_relu_minus_zero_is_plus_zero_departure(target, row):
    """Departure #1: +0.0 as IEEE 754-2019 maximum; PyTorch gives -0.0."""
    f, p = _f(target, row)
    for dt in FLOATS:
        y = f(np.asarray(-0.0, dt), *p)
        assert y == 0 and not np.signbit(y)
        assert not np.signbit(f(np.array([-0.0] * 33, dt), *p)).any()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_grad_special_values(target, row, dtype):
    fg, p = _fg(target, row)
    g = np.asarray(2.5, dtype)
    x = np.array([NAN, -INF, INF] * 7, dtype=dtype)
    gv = np.full_like(x, g)
    d = fg(x, gv, *p)
    assert d.dtype == np.dtype(dtype)
    want_nan = row.grad_at_nan
    if math.isnan(want_nan):
        assert np.isnan(d[0::3]).all(), f"{row.name}_grad(NaN)"
    else:
        assert_ulps(d[0::3], np.full(7, float(g) * float(np.asarray(want_nan, dtype))), 1, dtype)
    lo, hi = row.grad_limits
    ulps = row.ulps[np.dtype(dtype).name]
    assert_ulps(d[1::3], np.full(7, float(g) * lo), max(ulps, 1), dtype, msg=f"{row.name}_grad(-inf)")
    assert_ulps(d[2::3], np.full(7, float(g) * hi), max(ulps, 1), dtype, msg=f"{row.name}_grad(+inf)")


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_nan_inf_incoming_gradient(target, row, dtype):
    """Where f'(x) = 0: select (0) for the relu-like rows, multiply (NaN) for the others."""
    fg, p = _fg(target, row)
    gs = np.array([NAN, INF, -INF] * 5, dtype=dtype)
    xv, pz = row.grad_zero_at
    if row.grad_selects:
        x = np.full_like(gs, xv)
        d = fg(x, gs, *p)
        np.testing.assert_array_equal(d, np.zeros_like(gs))
    else:
        x = np.full_like(gs, xv)
        d = fg(x, gs, *(p if pz is None else pz))
        assert np.isnan(d).all(), (row.name, d)
    # where f'(x) != 0 a NaN g gives NaN for every row
    x1 = np.full_like(gs, row.grad_nonzero_at)
    assert np.isnan(fg(x1, np.full_like(gs, NAN), *p)).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_nan_payloads(target, row, dtype):
    info = {np.float16: (np.uint16, 0x7E00 | 0x15), np.float32: (np.uint32, 0x7FC00000 | 0x1234)}
    uint, bits = info.get(dtype, (np.uint64, 0x7FF8000000000000 | 0xBEEF))
    x = np.array([bits, bits | (1 << (8 * np.dtype(uint).itemsize - 1))] * 5, dtype=uint).view(dtype)
    assert np.isnan(x).all()
    f, p = _f(target, row)
    y = f(x, *p)
    assert np.isnan(y).all()
    # every forward function returns the NaN it was given: payload and sign kept
    np.testing.assert_array_equal(y.view(uint), x.view(uint), err_msg=f"{row.name}: NaN bits")
    fg, pg = _fg(target, row)
    d = fg(x, np.ones_like(x), *pg)
    if math.isnan(row.grad_at_nan):
        assert np.isnan(d).all()
    else:
        assert not np.isnan(d).any()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_no_floating_point_warning_on_nan(target, row, dtype):
    """NaN input raises no FPU flag visible to NumPy (np.maximum does not warn)."""
    x = np.linspace(-5, 5, 1003).astype(dtype)
    x[::7] = np.nan
    x[3::11] = np.inf
    x[5::13] = -np.inf
    f, p = _f(target, row)
    fg, pg = _fg(target, row)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            y = f(x, *p)
            d = fg(x, np.ones_like(x), *pg)
    assert np.isnan(y[np.isnan(x)]).all()
    assert d.shape == x.shape


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_subnormals_not_flushed(target, row, dtype):
    fi = np.finfo(dtype)
    sub = np.array([fi.smallest_subnormal * 3, fi.smallest_normal / 4], dtype=dtype)
    assert (sub < fi.smallest_normal).all() and (sub > 0).all()
    x = np.concatenate([sub, -sub] * 5)
    f, p = _f(target, row)
    y = f(x, *p)
    pf = params(row, "forward", dtype)
    with np.errstate(all="ignore"):
        want = row.ref(x.astype(np.float64), *pf)
    assert_ulps(y, want, max(row.ulps[np.dtype(dtype).name], 1), dtype, msg=row.name)
    if row.identity_on is not None and row.identity_on[0] <= 0 < row.identity_on[1]:
        np.testing.assert_array_equal(y[x > 0], x[x > 0])  # relu(1e-45) = 1e-45


def _extreme_expect(row, m):
    """(f(lowest finite), f(largest finite)), the true values: the limit, or slope * x where
    the limit is infinite (the slope: the gradient's limit), or the row's value_at_lowest."""
    (lo, hi), (glo, ghi) = row.limits, row.grad_limits
    lo_val = lo if math.isfinite(lo) else -m * glo
    if row.value_at_lowest is not None:
        lo_val = row.value_at_lowest(m)
    hi_val = hi if math.isfinite(hi) else ghi * m
    return lo_val, hi_val


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_largest_finite(target, row, dtype):
    fi = np.finfo(dtype)
    m = float(fi.max)
    x = np.array([fi.min, fi.max] * 5, dtype=dtype)
    f, p = _f(target, row)
    with np.errstate(over="ignore"):
        y = f(x, *p)
    lo_val, hi_val = _extreme_expect(row, m)
    ulps = max(row.ulps[np.dtype(dtype).name], 1)
    with np.errstate(over="ignore"):
        want = np.array([lo_val, hi_val] * 5, dtype=np.float64).astype(dtype).astype(np.float64)
    assert_ulps(y, want, ulps, dtype, msg=f"{row.name}(±max)")
    fg, pg = _fg(target, row)
    d = fg(x, np.ones_like(x), *pg)
    glo, ghi = row.grad_limits
    assert_ulps(d, np.array([glo, ghi] * 5), ulps, dtype, msg=f"{row.name}_grad(±max)")


@pytest.mark.parametrize("row", [r for r in ROWS if r.grad_from_output is not None], ids=lambda r: r.name)
def test_grad_from_output_special_values(target, row):
    p = params(row)
    fo = get(target, row.name + "_grad_from_output")
    fg = get(target, row.name + "_grad")
    for dt in FLOATS:
        x = np.array([-INF, INF, -0.0, 0.0, NAN], dtype=dt)
        y = get(target, row.name)(x, *p)
        got = fo(y, np.ones_like(x), *p)
        want = fg(x, np.ones_like(x), *params(row, "grad"))
        np.testing.assert_array_equal(got, want)


def test_every_row_is_tested():
    assert [r.name for r in ROWS] == [n for n in _spec.public_names() if n in _spec.BY_NAME]


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_parameter_edges(target, dtype):
    """Parameters that make the inner quotient or product overflow, or flip
    signs: the limits PyTorch gives, no NaN from the exact-residual arithmetic."""
    celu, celu_grad = get(target, "celu"), get(target, "celu_grad")
    softplus = get(target, "softplus")
    f = np.dtype(dtype).type
    big = float(np.finfo(dtype).max)
    # alpha < 0: expm1(x / alpha) overflows, the result is alpha * inf
    x = np.array(
        {np.float16: [-100.0, -6e4, -INF], np.float32: [-100.0, -1e30, -INF]}.get(dtype, [-1e3, -1e30, -INF]),
        dtype,
    )
    np.testing.assert_array_equal(celu(x, f(-1.0)), np.full(3, -INF, dtype))
    np.testing.assert_array_equal(celu_grad(x, np.ones_like(x), f(-1.0)), np.full(3, INF, dtype))
    # x / alpha or 1 / alpha overflows to -inf: the result is -alpha's limit
    tiny_alpha = f(1e-10) if dtype != np.float16 else f(1e-4)
    got = celu(np.array([-big], dtype), tiny_alpha)
    np.testing.assert_array_equal(got, np.array([-tiny_alpha], dtype))
    if dtype == np.float64:
        np.testing.assert_array_equal(celu(np.array([-1.0]), 1e-310), np.array([-1e-310]))
    # negative beta: softplus of beta x -> -inf is -0.0 (log1p(0) / beta)
    y = softplus(np.array([1000.0, INF], dtype), f(-1.0))
    np.testing.assert_array_equal(y, np.zeros(2, dtype))
    assert np.signbit(y).all()
