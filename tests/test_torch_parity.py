"""PyTorch parity without PyTorch in the loop.

``tests/data/torch_reference.npz`` holds torch.nn.functional values and autograd
gradients (1-element calls, float32/float64) made by
``tools/make_torch_reference.py``; the fixture records the torch version.  The
comparison is exact for piecewise-linear rows and within the row's ulps for
the others, and the deliberate departures of docs/semantics.md are asserted *as
departures* (the torch side must still show the PyTorch behaviour):

1. relu/relu6(−0.0) = +0.0 (torch: −0.0);
2. limits at ±inf for silu, gelu, gelu_tanh, mish, hardswish (torch: NaN);
3. accuracy (gelu/silu left tails, hardswish near the largest finite value):
   fastrelu is closer to the true value than torch, within an absolute tolerance;
4. hardsigmoid's float64 gradient is exactly 1/6 (torch: float32(1/6)).

``test_live_torch`` repeats the comparison against the installed torch (the
one test allowed to skip, when torch is absent).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import get, load_script, params

from fastrelu import _spec

FIXTURE = Path(__file__).parent / "data" / "torch_reference.npz"
TORCH_ROWS = [r for r in _spec.TABLE if r.torch]
DTYPES = ("float32", "float64")
# The departures are the rows' facts (fastrelu/_spec.py): minus_zero_to_plus_zero (torch: -0.0)
# and torch_departures ("inf", "grad_inf", "float32_grad").
#: absolute tolerance of the accuracy departure (PyTorch's tails), per dtype
TAIL_ATOL = {"float32": 1e-6, "float64": 1e-14}


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE) as z:
        return {k: z[k] for k in z.files}


def test_fixture_provenance(fixture):
    assert str(fixture["meta/torch_version"]).startswith("2.")
    assert "one element at a time" in str(fixture["meta/how"])
    for row in TORCH_ROWS:
        for dt in DTYPES:
            assert fixture[f"{row.name}/{dt}/x"].dtype == np.dtype(dt)


def _true(row, x, dt):
    """float64 reference at x (params rounded to dt), NaN where not finite."""
    with np.errstate(all="ignore"):
        t = row.ref(x.astype(np.float64), *params(row, "forward", np.dtype(dt).type))
    if row.identity_on is not None:  # (hardswish's reference x * 6 / 6 overflows at the largest x)
        a, b = row.identity_on
        t = np.where((x > a) & (x < b), x.astype(np.float64), t)
    return t


def compare(row, dt, x, g, ty, tdx, module):
    """Assert parity of fastrelu (*module*) with torch values ty, tdx; return departures seen."""
    seen = set()
    f = get(module, row.name)
    fg = get(module, row.name + "_grad")
    y = f(x, *params(row))
    dx = fg(x, g, *params(row, "grad"))
    assert y.dtype == dx.dtype == np.dtype(dt)
    with np.errstate(all="ignore"):  # the comparisons (not the library calls) meet NaN/inf
        _check(row, dt, x, g, y, dx, ty, tdx, seen, fg)
    return seen


def _check(row, dt, x, g, y, dx, ty, tdx, seen, fg):
    ulps = row.ulps[dt]
    fin = np.isfinite(x)
    # -- departures, asserted as such --------------------------------------
    ok_y = np.zeros(x.shape, bool)
    ok_d = np.zeros(x.shape, bool)
    mz = (x == 0) & np.signbit(x)
    if row.minus_zero_to_plus_zero:
        assert np.signbit(ty[mz]).all() and not np.signbit(y[mz]).any()
        ok_y |= mz
        seen.add("-0.0")
    if "inf" in row.torch_departures:
        ninf = x == -np.inf
        assert np.isnan(ty[ninf]).all(), "torch gives NaN at -inf"
        assert (y[ninf] == row.limits[0]).all()
        ok_y |= ninf
        inf = np.isinf(x)
        # multiply: 0 * NaN/inf is NaN at -inf (a selecting gradient gives 0)
        glo, ghi = row.grad_limits
        lim = np.where(x[inf] > 0, ghi * g[inf], 0.0 if row.grad_selects else glo * g[inf])
        np.testing.assert_array_equal(dx[inf], lim.astype(dt))
        if "grad_inf" in row.torch_departures:
            assert np.isnan(tdx[inf]).all(), "torch gradient is NaN at ±inf"
            ok_d |= inf
            # the limit at -inf has the sign of the underflowed left tail next to it
            # (whose sign is torch's: checked with the other zeros below)
            ninf = x == -np.inf
            far = np.full(ninf.sum(), -np.finfo(dt).max, dt)
            tail = fg(far, g[ninf], *params(row, "grad"))
            np.testing.assert_array_equal(
                np.signbit(dx[ninf]), np.signbit(tail), err_msg=f"{row.name}_grad(-inf)"
            )
        seen.add("inf")
    if "float32_grad" in row.torch_departures and dt == "float64":
        with np.errstate(all="ignore"):
            exact = row.ref_grad(x, *params(row, "grad"))
        inner = (exact != 0) & (g == 1)
        assert (tdx[inner] == exact[inner].astype(np.float32)).all()
        assert (dx[inner] == exact[inner]).all()
        ok_d |= inner
        seen.add("1/6")
    # -- accuracy departures: fastrelu closer to the truth, within TAIL_ATOL --
    true = _true(row, x, dt)
    with np.errstate(all="ignore"):
        e_fr = np.abs(y.astype(np.float64) - true)
        e_t = np.abs(ty.astype(np.float64) - true)
        sp = np.spacing(np.abs(true).astype(dt)).astype(np.float64)
        top = np.finfo(dt).max
        sp = np.where(np.isfinite(sp), sp, float(top - np.nextafter(top, np.asarray(0, dt))))
    floor = ulps * np.finfo(dt).eps * 1e-3  # absolute floor: the tails' reference is ill-conditioned
    beyond = fin & ~ok_y & (np.abs(y.astype(np.float64) - ty.astype(np.float64)) > (ulps + 0.5) * sp + floor)
    beyond &= np.isfinite(true)
    if beyond.any():
        assert (e_fr[beyond] <= e_t[beyond]).all(), (x[beyond], y[beyond], ty[beyond], true[beyond])
        assert (e_fr[beyond] <= (ulps + 1) * sp[beyond] + TAIL_ATOL[dt] * 1e-3).all()
        assert (np.abs(y[beyond] - ty[beyond]) <= TAIL_ATOL[dt] + np.abs(true[beyond]) * 1e-3).all() or (
            np.abs(x[beyond]) >= np.finfo(dt).max / 2
        ).all()
        ok_y |= beyond
        seen.add("accuracy")
    # -- everything else: exact (piecewise) or within the row's ulps ---------
    rest = ~ok_y
    np.testing.assert_array_equal(np.isnan(y[rest]), np.isnan(ty[rest]), err_msg=f"{row.name} NaN")
    m = rest & ~np.isnan(ty)
    tol = (ulps + 0.5) * np.spacing(np.abs(ty[m])).astype(np.float64) + floor if ulps else 0
    err = np.abs(y[m].astype(np.float64) - ty[m].astype(np.float64))
    with np.errstate(invalid="ignore"):
        bad = ~((err <= tol) | (y[m] == ty[m]))
    assert not bad.any(), (row.name, dt, x[m][bad], y[m][bad], ty[m][bad])
    z = m & (ty == 0)
    np.testing.assert_array_equal(np.signbit(y[z]), np.signbit(ty[z]), err_msg=f"{row.name} sign of 0")
    if row.family == "smooth":
        # accuracy departure: torch's gradient formula overflows (x**3 in gelu_tanh) at huge
        # finite x and gives NaN; fastrelu gives the limit (g for x > 0, 0 * g for x < 0)
        with np.errstate(all="ignore"):
            huge = fin & (np.abs(x) > np.cbrt(np.finfo(dt).max)) & np.isnan(tdx) & ~np.isnan(g)
        if huge.any():
            lim = np.where(x[huge] > 0, g[huge], 0.0 * g[huge]).astype(dt)
            np.testing.assert_array_equal(dx[huge], lim)
            ok_d |= huge
            seen.add("accuracy")
    rest = ~ok_d
    np.testing.assert_array_equal(np.isnan(dx[rest]), np.isnan(tdx[rest]), err_msg=f"{row.name}_grad NaN")
    m = rest & ~np.isnan(tdx)
    gul = max(ulps, 1) if row.family == "smooth" else ulps
    big = np.abs(x) >= np.finfo(dt).max / 4  # gradients at the largest finite x: limits only
    # absolute floor gul * eps * |g|: gradients that cross 0 cancel (hardswish's x/3 + 1/2 in float32)
    tol = (gul + 0.5) * np.spacing(np.abs(tdx[m])).astype(np.float64) + gul * np.finfo(dt).eps * np.abs(g[m])
    err = np.abs(dx[m].astype(np.float64) - tdx[m].astype(np.float64))
    bad = ~((err <= tol) | (dx[m] == tdx[m])) & ~big[m]
    if bad.any() and row.family == "smooth":
        # accuracy departure in the gradient (gelu_tanh's 1 - tanh**2 cancels in torch)
        xm, gm = x[m][bad].astype(np.float64), g[m][bad].astype(np.float64)
        true_d = gm * row.ref_grad(xm, *params(row, "forward", np.dtype(dt).type))
        e_fr = np.abs(dx[m][bad] - true_d)
        assert (e_fr <= np.abs(tdx[m][bad] - true_d)).all(), (row.name, xm, dx[m][bad], tdx[m][bad], true_d)
        assert (e_fr <= tol[bad]).all(), (row.name, xm, dx[m][bad], true_d)
        seen.add("accuracy")
        bad[:] = False
    assert not bad.any(), (row.name, "grad", dt, x[m][bad], g[m][bad], dx[m][bad], tdx[m][bad])
    z = m & (tdx == 0) & (dx == 0)  # (where torch's 0 is an accuracy departure, fastrelu's is not 0)
    np.testing.assert_array_equal(np.signbit(dx[z]), np.signbit(tdx[z]), err_msg=f"{row.name}_grad sign of 0")


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("row", TORCH_ROWS, ids=[r.name for r in TORCH_ROWS])
def test_parity_with_fixture(target, fixture, row, dt):
    k = f"{row.name}/{dt}"
    seen = compare(
        row, dt, fixture[k + "/x"], fixture[k + "/g"], fixture[k + "/y"], fixture[k + "/dx"], target
    )
    if row.minus_zero_to_plus_zero:
        assert "-0.0" in seen
    if "inf" in row.torch_departures:
        assert "inf" in seen


def test_every_departure_is_exercised(fixture):
    import fastrelu

    seen = set()
    for row in TORCH_ROWS:
        for dt in DTYPES:
            k = f"{row.name}/{dt}"
            seen |= compare(
                row, dt, fixture[k + "/x"], fixture[k + "/g"], fixture[k + "/y"], fixture[k + "/dx"], fastrelu
            )
    assert seen == {"-0.0", "inf", "1/6", "accuracy"}


def test_live_torch(target):
    import torch

    mod = load_script("tools/make_torch_reference.py")
    for row in TORCH_ROWS:
        for dt in (np.float32, np.float64):
            x, g = mod.grid(row, dt)
            ty, tdx = mod.evaluate(row, x, g)
            compare(row, np.dtype(dt).name, x, g, ty, tdx, target)
    assert math.isfinite(float(torch.ones(1).sum()))
