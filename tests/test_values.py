"""Values of every function and gradient against the table's references.

Two references: the float64 NumPy expression of the row (``ref``,
``ref_grad``) and ``np.vectorize`` of the undecorated scalar kernel in float64,
both rounded to the dtype under test; the tolerance is the row's ``ulps`` for
that dtype.  Gradients are also checked three ways: finite differences away
from kinks, the integral of the gradient across the kinks, and the exact kink
values of the table.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import (
    FLOAT_IDS,
    FLOATS,
    NAMES,
    ROWS,
    assert_ulps,
    eps,
    get,
    ids,
    kernel_of,
    params,
)

from fastrelu import _spec

REF_NAMES = [n for n in NAMES if _spec.resolve(n)[1] != "grad_from_output"]
GFO_NAMES = [n for n in NAMES if _spec.resolve(n)[1] == "grad_from_output"]


def grid(row: _spec.Activation, dtype, n: int = 1001) -> np.ndarray:
    """Points of the row's domain, its kinks and their neighbours, tiny values."""
    lo, hi = row.domain
    pts = [np.linspace(lo, hi, n)]
    for k in row.kinks:
        kx = np.asarray(k.x, dtype=dtype)
        pts.append(np.array([k.x]))
        pts.append(np.nextafter(kx, np.asarray(np.inf, dtype)).astype(np.float64)[None])
        pts.append(np.nextafter(kx, np.asarray(-np.inf, dtype)).astype(np.float64)[None])
    tiny = np.array([1e-3, 1e-5, 1e-7, 3e-5])
    pts += [tiny, -tiny, np.array([0.0, -0.0])]
    return np.concatenate(pts).astype(dtype)


def gvals(shape, dtype) -> np.ndarray:
    """An incoming gradient with varied signs and magnitudes."""
    n = int(np.prod(shape))
    g = np.resize(np.array([1.0, -0.5, 2.0, 0.75, -3.0, 1.25, 0.1]), n)
    return g.reshape(shape).astype(dtype)


def call(module, name: str, x, g=None, dtype=None):
    row, kind = _spec.resolve(name)
    p = params(row, kind)
    f = get(module, name)
    if kind == "forward":
        return f(x, *p)
    if kind == "grad_from_output":
        y = get(module, row.name)(x, *p)
        return f(y, g, *p)
    return f(x, g, *p)


def reference(name: str, x, g, dtype) -> np.ndarray:
    """float64 NumPy reference (params rounded to dtype as the library casts them)."""
    row, kind = _spec.resolve(name)
    x64 = np.asarray(x, dtype=np.float64)
    pf = params(row, "forward", dtype)
    with np.errstate(all="ignore"):
        if kind == "forward":
            return row.ref(x64, *pf)
        return np.asarray(g, dtype=np.float64) * row.ref_grad(x64, *pf)


def oracle(name: str, x, g, dtype) -> np.ndarray:
    """``np.vectorize`` of the undecorated kernel, in float64."""
    row, kind = _spec.resolve(name)
    k = np.vectorize(kernel_of(row, kind), otypes=[np.float64])
    x64 = np.asarray(x, dtype=np.float64)
    p = params(row, kind, dtype)
    if kind == "forward":
        return k(x64, *p)
    return k(x64, np.asarray(g, dtype=np.float64), *p)


# --------------------------------------------------------------------------
# the two references
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", REF_NAMES)
def test_against_numpy_reference(target, name, dtype):
    row, _ = _spec.resolve(name)
    x = grid(row, dtype)
    g = gvals(x.shape, dtype)
    got = call(target, name, x, g)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == x.shape
    ulps = row.ulps[np.dtype(dtype).name]
    assert_ulps(got, reference(name, x, g, dtype), ulps, dtype, atol=_floor(name, g, dtype), msg=name)


def _floor(name, g, dtype):
    """Absolute error floor for results near 0: ``ulps * eps * |g|``.

    A smooth gradient crossing 0 (silu, gelu, mish ...) is a sum of O(1) terms
    that cancel, and the far left tails (gelu, gelu_tanh ~ 1e-22 at x = -10)
    are ill-conditioned in the float64 reference itself (the rounding of
    ``x / sqrt(2)`` is amplified by ``2 z**2``), so relative ulps alone would
    test the reference.  Piecewise rows (ulps 0) stay exact.
    """
    row, kind = _spec.resolve(name)
    ulps = row.ulps[np.dtype(dtype).name]
    if row.family != "smooth":
        return 0.0
    scale = 1.0 if kind == "forward" else np.abs(np.asarray(g, np.float64))
    return ulps * eps(dtype) * scale


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_against_python_kernel(target, name, dtype):
    row, kind = _spec.resolve(name)
    x = grid(row, dtype, n=257)
    g = gvals(x.shape, dtype)
    if kind == "grad_from_output":
        x = get(target, row.name)(x, *params(row))  # the kernel's input is y
        got = get(target, name)(x, g, *params(row, kind))
    else:
        got = call(target, name, x, g)
    assert got.dtype == np.dtype(dtype)
    want = oracle(name, x, g, dtype)
    if row.family == "smooth":
        # The Python oracle evaluates the formulas in float64 with libm and loses relative
        # accuracy where the result is tiny (gelu/silu/mish left tails, below ~1e-6);
        # the compiled kernels are checked there against mpmath (tests/test_accuracy.py).
        keep = ~(np.abs(want.astype(np.float64)) < 1e-6) | (want == 0) | ~np.isfinite(want)
        got, want = got[keep], want[keep]
    ulps = row.ulps[np.dtype(dtype).name]
    if row.family == "smooth" and np.dtype(dtype) == np.float64:
        # the float64 oracle itself carries the condition-number error of exp/erfc of a
        # rounded argument (~10 ulp at gelu_tanh(-3.5)); mpmath bounds the kernels to 2-4 ulp
        ulps = max(ulps, 32)
    # gradients cross zero (gelu' at -0.75, silu' at -1.28 ...): bound the error there by
    # ulps * eps * |g| (the accuracy table bounds it by 4 ulp(f') + 4 eps S(x))
    atol = ulps * float(np.finfo(dtype).eps) * float(np.max(np.abs(g))) if kind != "forward" else 0.0
    if row.family != "smooth":
        atol = 0.0
    assert_ulps(got, want, ulps, dtype, atol=atol, msg=name)


# --------------------------------------------------------------------------
# shapes and memory layouts: same values as the contiguous 1-D call
# --------------------------------------------------------------------------


def _layouts(base: np.ndarray, dtype):
    """(label, array) pairs holding values of *base* in unusual layouts."""
    yield "0-d", np.asarray(base[3], dtype=dtype)
    yield "empty", np.empty((0,), dtype=dtype)
    for n in (1, 7, 33, 1001):
        yield f"len{n}", np.resize(base, n).astype(dtype)
    yield "2-D C", np.resize(base, (6, 5)).astype(dtype)
    yield "2-D F", np.asfortranarray(np.resize(base, (6, 5)).astype(dtype))
    big = np.resize(base, 3 * 101).astype(dtype)
    yield "strided", big[::3]
    yield "reversed", big[::-1]
    yield "2-D strided", np.resize(base, (8, 10)).astype(dtype)[::2, ::3]
    yield "byte-swapped", np.resize(base, 37).astype(np.dtype(dtype).newbyteorder())


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_layouts(target, name, dtype):
    row, _kind = _spec.resolve(name)
    base = grid(row, dtype, n=61)
    for label, x in _layouts(base, dtype):
        g = np.empty_like(x, dtype=dtype)  # same layout as x
        g[...] = gvals(x.shape, dtype)
        got = call(target, name, x, g)
        assert isinstance(got, np.ndarray | np.generic), label
        assert got.dtype == np.dtype(dtype), label  # native byte order out
        assert got.shape == x.shape, label
        flat_x = np.ascontiguousarray(x, dtype=dtype).ravel()
        flat_g = np.ascontiguousarray(g, dtype=dtype).ravel()
        want = call(target, name, flat_x, flat_g)
        np.testing.assert_array_equal(np.asarray(got).ravel(), want, err_msg=label)
        if x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous:
            assert got.flags.f_contiguous, "order='K' keeps F order"


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_broadcasting_2d(target, name, dtype):
    row, kind = _spec.resolve(name)
    f = get(target, name)
    x = grid(row, dtype, n=5)[:5].reshape(5, 1)
    p = params(row, kind)
    if kind == "forward":
        if not p or row.name == "prelu":
            got = f(np.broadcast_to(x, (5, 3)), *p)
            want = f(x, *p)
        else:
            # every parameter as a (1, 3) row of its value: broadcast to (5, 3)
            got = f(x, *[np.full((1, 3), v, dtype=dtype) for v in p])
            want = f(x, *p)
    else:
        if kind == "grad_from_output":
            x = get(target, row.name)(x, *p)
        g = gvals((1, 3), dtype)
        got = f(x, g, *p)
        want = np.concatenate([f(x, np.full((5, 1), gj, dtype=dtype), *p) for gj in g[0]], axis=1)
    assert got.shape == (5, 3)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.broadcast_to(want, (5, 3)))


# --------------------------------------------------------------------------
# gradients three ways
# --------------------------------------------------------------------------


def _away_from_kinks(row, x, h):
    bad = np.zeros(x.shape, bool)
    for k in row.kinks:
        bad |= np.abs(x - k.x) < 20 * h
    if row.name == "softplus":  # linear above beta * x > threshold
        beta, th = params(row)
        bad |= np.abs(x - th / beta) < 20 * h
    return x[~bad]


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_grad_finite_differences(target, row):
    lo, hi = row.domain
    x = np.random.default_rng(1).uniform(lo, hi, 400)
    h = 1e-5
    x = _away_from_kinks(row, x, h)
    p = params(row)
    f = get(target, row.name)
    fd = (f(x + h, *p) - f(x - h, *p)) / (2 * h)
    got = get(target, row.name + "_grad")(x, np.ones_like(x), *params(row, "grad"))
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8, err_msg=row.name)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


def _integral(fn, a: float, b: float, breaks) -> float:
    """Gauss-Legendre quadrature of *fn* over [a, b], split at *breaks* and at integers."""
    pts = sorted({a, b, *[t for t in breaks if a < t < b], *range(math.ceil(a), math.floor(b) + 1)})
    pts = [t for t in pts if a <= t <= b]
    total = 0.0
    for u, v in itertools.pairwise(pts):
        xs = 0.5 * (v - u) * _GL_X + 0.5 * (u + v)
        total += 0.5 * (v - u) * float(np.sum(_GL_W * fn(xs)))
    return total


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_grad_integral_across_kinks(target, row):
    """∫_a^b f'(x) dx + (jumps of f) = f(b) - f(a), over intervals holding the kinks."""
    p = params(row)
    f = get(target, row.name)
    fg = get(target, row.name + "_grad")
    pg = params(row, "grad")
    kx = [k.x for k in row.kinks]
    assert kx, "every row declares at least one kink or reference point"
    a, b = min(kx) - 2.3, max(kx) + 2.7
    for lo, hi in ((a, b), row.domain):
        integral = _integral(lambda t: fg(t, np.ones_like(t), *pg), lo, hi, kx)
        jumps = 0.0
        for k in kx:  # threshold is discontinuous at its kink
            jumps += float(f(np.nextafter(k, np.inf), *p) - f(np.nextafter(k, -np.inf), *p))
        delta = float(f(hi, *p) - f(lo, *p))
        assert integral + jumps == pytest.approx(delta, rel=1e-9, abs=1e-9), (row.name, lo, hi)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_kink_values(target, row, dtype):
    ulps = row.ulps[np.dtype(dtype).name]
    f = get(target, row.name)
    fg = get(target, row.name + "_grad")
    for k in row.kinks:
        x = np.asarray(k.x, dtype=dtype)
        y = f(x, *params(row))
        dy = fg(x, np.asarray(1, dtype), *params(row, "grad"))
        assert y.dtype == dy.dtype == np.dtype(dtype)
        assert_ulps(y, k.value, ulps, dtype, msg=f"{row.name}({k.x})")
        assert_ulps(dy, k.grad, ulps, dtype, msg=f"{row.name}_grad({k.x})")
        # the kink convention also holds for an array with the kink inside
        xs = np.array([k.x - 0.5, k.x, k.x + 0.5] * 11, dtype=dtype)
        dys = fg(xs, np.ones_like(xs), *params(row, "grad"))
        assert_ulps(dys[1::3], np.full(11, k.grad), ulps, dtype, msg=f"{row.name}_grad vector")


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", GFO_NAMES)
def test_grad_from_output_matches_grad(target, name, dtype):
    row, _ = _spec.resolve(name)
    p = params(row)
    x = grid(row, dtype)
    g = gvals(x.shape, dtype)
    y = get(target, row.name)(x, *p)
    got = get(target, name)(y, g, *p)
    want = get(target, row.name + "_grad")(x, g, *params(row, "grad"))
    assert got.dtype == np.dtype(dtype)
    # elu: y + alpha cancels for very negative x: an absolute error of a few
    # eps * |g| * alpha is inherent to computing from the output.
    scale = max([1.0, *[abs(v) for v in p]])
    atol = 4 * eps(dtype) * np.abs(g.astype(np.float64)) * scale if row.family == "smooth" else 0.0
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = (row.ulps[np.dtype(dtype).name] + 0.5) * np.spacing(np.abs(want)).astype(np.float64) + atol
    assert np.all(err <= tol), (name, x[err > tol][:5], got[err > tol][:5], want[err > tol][:5])
    # and the same where x is exactly 0 or a kink: y carries the mask
    for k in row.kinks:
        xk = np.asarray(k.x, dtype)
        assert get(target, name)(get(target, row.name)(xk, *p), np.asarray(1, dtype), *p) == pytest.approx(
            k.grad, rel=4 * eps(dtype)
        )
