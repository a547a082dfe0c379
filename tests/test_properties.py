"""Hypothesis properties on every target (profiles in conftest: ci / nightly)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROWS, get, ids, params
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: rows that are non-decreasing on the whole real line (default params)
MONOTONE = {
    "relu",
    "leaky_relu",
    "prelu",
    "rrelu",
    "threshold",
    "relu6",
    "hardtanh",
    "elu",
    "selu",
    "celu",
    "softplus",
    "hardsigmoid",
    "squareplus",
}
#: rows with f(x) = x for x > 0
IDENTITY_POS = {"relu", "leaky_relu", "prelu", "rrelu", "elu", "celu"}
NONNEG = {"relu", "relu6", "softplus", "hardsigmoid", "squareplus"}

finite64 = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=64)
with_nan = st.one_of(finite64, st.just(float("nan")))


def arrays(elements, max_side=16):
    return hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=max_side), elements=elements
    )


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_forward_properties(target, row):
    f = get(target, row.name)
    p = params(row)
    ulps32 = row.ulps["float32"]

    @given(arrays(with_nan))
    def check(x):
        y = f(x, *p)
        assert y.shape == x.shape and y.dtype == np.float64
        nan = np.isnan(x)
        assert np.isnan(y[nan]).all()  # NaN propagates
        assert not np.isnan(y[~nan]).any()
        xs = np.sort(x[~nan].ravel())
        ys = f(xs, *p)
        if row.name in MONOTONE:
            assert (np.diff(ys) >= 0).all()
        if row.name in NONNEG:
            assert (ys >= 0).all()
        if row.name in IDENTITY_POS:
            np.testing.assert_array_equal(ys[xs > 0], xs[xs > 0])
        # float32 agrees with float64 rounded, within the row's ulps
        x32 = xs.astype(np.float32)
        y32 = f(x32, *p)
        assert y32.dtype == np.float32
        y64 = f(x32.astype(np.float64), *p)
        with np.errstate(over="ignore"):
            r = y64.astype(np.float32)
        fin = np.isfinite(r)
        err = np.abs(y32[fin].astype(np.float64) - r[fin].astype(np.float64))
        tol = (ulps32 + 1) * np.spacing(np.abs(r[fin])).astype(np.float64) + ulps32 * 1.2e-7 * (
            row.family == "smooth"
        )
        assert (err <= tol).all(), (xs[fin][err > tol], y32[fin][err > tol], r[fin][err > tol])

    check()


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_grad_properties(target, row):
    f = get(target, row.name)
    fg = get(target, row.name + "_grad")
    p, pg = params(row), params(row, "grad")
    kinks = np.array([k.x for k in row.kinks])
    lo, hi = row.domain

    @given(arrays(st.floats(lo, hi, width=64)), st.one_of(st.floats(0.01, 4), st.floats(-4, -0.01)))
    def check(x, gs):
        d1 = fg(x, np.ones_like(x), *pg)
        dg = fg(x, np.full_like(x, gs), *pg)
        np.testing.assert_allclose(dg, gs * d1, rtol=1e-15, atol=0)  # linear in g
        # forward/gradient consistency away from kinks (central differences)
        h = 1e-6
        ok = np.min(np.abs(x[..., None] - kinks), axis=-1) > 1e-4
        xo = x[ok]
        fd = (f(xo + h, *p) - f(xo - h, *p)) / (2 * h)
        np.testing.assert_allclose(d1[ok], fd, rtol=1e-5, atol=1e-7)

    check()


@given(arrays(finite64))
def test_relu_is_max_with_zero(target, x):
    y = target.relu(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0.0))
    assert not np.signbit(y).any()
    np.testing.assert_array_equal(target.relu_grad(x, np.ones_like(x)), (x > 0).astype(float))
