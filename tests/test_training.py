"""fastrelu.training: fused bias+act, 1-bit masks, prelu/rrelu training, diagnostics."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

import fastrelu
import fastrelu.training as tr
from fastrelu import _build, _parallel
from fastrelu import _training_kernels as T
from fastrelu._spec import BY_NAME, TABLE

RNG = np.random.default_rng(1234)
FLOATS = [np.float32, np.float64]


def _data(shape, dtype=np.float64, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _vec(kernel):
    return np.vectorize(kernel, otypes=[np.float64])


# --------------------------------------------------------------------------
# fused bias + activation: every row of the table
# --------------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(TABLE), ids=lambda a: a.name)
def test_bias_act_every_activation(spec):
    x = _data((6, 11))
    b = _data(11, seed=1)
    params = spec.defaults()
    y = tr.bias_act(x, b, spec.name, **params)
    # oracle: the undecorated scalar kernel (the ufuncs are tested elsewhere)
    expect = _vec(spec.forward)(x + b, *params.values())
    if spec.family == "piecewise":
        np.testing.assert_array_equal(y, expect)
    else:  # compiled vs interpreted transcendental helpers: a few ulps
        np.testing.assert_allclose(y, expect, rtol=1e-13, atol=1e-300)
        expect = y
    if spec.name in ("relu", "gelu", "hardtanh"):  # (0, 1, 2 parameters: each template once)
        y2, stats = tr.bias_act(x, b, spec.name, diagnostics=True, **params)
        np.testing.assert_array_equal(y2, expect)
        np.testing.assert_array_equal(stats.active_counts, ((x + b) > 0).sum(axis=0))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 3, 17), (7, 4100), (4, 0), (0, 3), (9,)])
def test_bias_act_shapes_and_dtypes(shape, dtype):
    x = _data(shape, dtype)
    b = _data(shape[-1], np.float64, seed=3)  # cast to x's dtype, as the ufuncs do
    y = tr.bias_act(x, b, "leaky_relu", negative_slope=0.2)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, fastrelu.leaky_relu(x + b.astype(dtype), dtype(0.2)))


def test_bias_act_options():
    x = _data((4, 6))
    b = _data(6, seed=2)
    np.testing.assert_allclose(
        tr.bias_act(x, b, "gelu", approximate="tanh"), _vec(BY_NAME["gelu_tanh"].forward)(x + b), rtol=1e-13
    )
    np.testing.assert_array_equal(tr.bias_act(x, None, "relu"), fastrelu.relu(x))
    w = np.linspace(0.1, 0.6, 6)
    np.testing.assert_array_equal(
        tr.bias_act(x, b, "prelu", weight=w), np.where(x + b > 0, x + b, w * (x + b))
    )
    out = np.empty_like(x)
    assert tr.bias_act(x, b, out=out) is out
    xt = x.T.copy().T  # F-order input: copied once, same result
    np.testing.assert_array_equal(tr.bias_act(xt, b), fastrelu.relu(x + b))
    with pytest.raises(ValueError, match="unknown activation"):
        tr.bias_act(x, b, "nope")
    with pytest.raises(ValueError, match="min_val"):
        tr.bias_act(x, b, "hardtanh", min_val=2, max_val=1)
    with pytest.raises(TypeError):
        tr.bias_act(x.astype(np.int64), b)
    with pytest.raises(ValueError, match="bias"):
        tr.bias_act(x, np.ones(5))


def test_bias_act_parallel_path_identical():
    x = _data((300, 700), np.float32)
    b = _data(700, np.float32, seed=5)
    ys = tr.bias_act(x, b, "hardswish", parallel=False)
    yp = tr.bias_act(x, b, "hardswish", parallel=True)
    np.testing.assert_array_equal(ys, yp)
    (_, s1), (_, s2) = (tr.bias_act(x, b, diagnostics=True, parallel=p) for p in (False, True))
    np.testing.assert_array_equal(s1.active_counts, s2.active_counts)


# --------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------

MASK_CASES = [
    ("relu", (), lambda v: v > 0, "relu"),
    ("leaky_relu", (0.1,), lambda v: v > 0, "leaky_relu"),
    ("prelu", (0.3,), lambda v: v > 0, "prelu"),
    ("relu6", (), lambda v: (v > 0) & (v < 6), "relu6"),
    ("hardtanh", (-1.5, 2.0), lambda v: (v > -1.5) & (v < 2.0), "hardtanh"),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(4, 1), (3, 7), (2, 8), (5, 13), (2, 3, 9), (3, 4097), (17,)])
@pytest.mark.parametrize(("name", "params", "pred", "_"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_mask_layout_and_backward(name, params, pred, _, shape, dtype):
    x = _data(shape, dtype, scale=4.0)
    bias = _data(shape[-1], dtype, seed=9)
    y, m = getattr(tr, f"{name}_mask")(x, *params, bias=bias)
    v = x + bias
    np.testing.assert_array_equal(y, getattr(fastrelu, name)(v, *params))
    assert m.dtype == np.uint8
    np.testing.assert_array_equal(m, np.packbits(pred(v), axis=-1, bitorder="little"))
    np.testing.assert_array_equal(tr.unpack_mask(m, shape[-1]), pred(v))
    g = _data(shape, dtype, seed=7)
    grad_params = params if name in ("leaky_relu", "prelu") else ()
    dx = getattr(tr, f"{name}_grad_mask")(m, g, *grad_params)
    expect = getattr(fastrelu, f"{name}_grad")(v, g, *params)
    np.testing.assert_array_equal(dx, expect)
    # in place: out=g
    g2 = g.copy()
    res = getattr(tr, f"{name}_grad_mask")(m, g2, *grad_params, out=g2)
    assert res is g2
    np.testing.assert_array_equal(g2, expect)


def test_mask_special_values_match_x_reading_grad():
    x = np.array([[np.nan, -np.inf, np.inf, -0.0, 0.0, 6.0, 1.0, -1.0, 5.99, 1e-300]])
    g = np.array([[2.0, 3.0, 4.0, 5.0, np.nan, np.inf, 7.0, 8.0, 9.0, 10.0]])
    for name, params, _, _ in MASK_CASES:
        gp = params if name in ("leaky_relu", "prelu") else ()
        y, m = getattr(tr, f"{name}_mask")(x, *params)
        np.testing.assert_array_equal(y, getattr(fastrelu, name)(x, *params))
        np.testing.assert_array_equal(
            getattr(tr, f"{name}_grad_mask")(m, g, *gp), getattr(fastrelu, f"{name}_grad")(x, g, *params)
        )


def test_mask_backward_large_parallel_and_prelu_per_feature():
    x = _data((64, 3000), np.float32)
    g = _data(x.shape, np.float32, seed=1)
    y, m = tr.relu_mask(x, parallel=True)
    np.testing.assert_array_equal(tr.relu_grad_mask(m, g, parallel=True), fastrelu.relu_grad(x, g))
    w = np.linspace(0.05, 0.5, 3000).astype(np.float32)
    y, m = tr.prelu_mask(x, w, parallel=True)
    np.testing.assert_array_equal(y, fastrelu.prelu(x, w))
    np.testing.assert_array_equal(tr.prelu_grad_mask(m, g, w, parallel=True), fastrelu.prelu_grad(x, g, w))


def test_mask_errors():
    g = np.ones((3, 9))
    with pytest.raises(ValueError, match="mask must be uint8"):
        tr.relu_grad_mask(np.zeros((3, 1), np.uint8), g)
    with pytest.raises(ValueError, match="C-contiguous"):
        tr.relu_grad_mask(np.zeros((3, 2), np.uint8), g, out=np.ones((9, 3)).T)
    # prelu weights follow PyTorch: 1 or C = x.shape[1] elements
    with pytest.raises(ValueError, match="channel size = 3"):
        tr.prelu_mask(np.ones((2, 3, 4)), np.ones(4))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        tr.prelu_mask(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="overlaps"):
        g1 = np.ones(17)
        tr.relu_grad_mask(np.zeros(2, np.uint8), g1[:16], out=g1[1:])


# --------------------------------------------------------------------------
# gradients vs finite differences (forward-with-mask + mask backward)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params", "_p", "_n"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_mask_grad_vs_finite_differences(name, params, _p, _n):
    x = _data((5, 9), scale=4.0)
    # away from the kinks
    for k in (0.0, 6.0, -1.5, 2.0):
        x = np.where(np.abs(x - k) < 1e-3, x + 0.01, x)
    h = 1e-6
    f = getattr(fastrelu, name)
    fd = (f(x + h, *params) - f(x - h, *params)) / (2 * h)
    _, m = getattr(tr, f"{name}_mask")(x, *params)
    gp = params if name in ("leaky_relu", "prelu") else ()
    dx = getattr(tr, f"{name}_grad_mask")(m, np.ones_like(x), *gp)
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# prelu training backward
# --------------------------------------------------------------------------


def _prelu_ref(x, g, w, axis=1):
    """float64 NumPy reference: dx and dw (sum over every axis but *axis*)."""
    x = x.astype(np.float64)
    g = g.astype(np.float64)
    if w.size == 1 or x.ndim < 2:
        wb = w.reshape(())
        dx = np.where(x > 0, g, wb * g)
        return dx, np.where(x > 0, 0.0, x * g).sum().reshape(w.shape)
    shape = [1] * x.ndim
    shape[axis] = -1
    wb = w.reshape(shape)
    dx = np.where(x > 0, g, wb * g)
    dwe = np.where(x > 0, 0.0, x * g)
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    return dx, dwe.sum(axis=axes)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    ("shape", "wsize", "axis"),
    [
        ((8, 5), 5, 1),
        ((4, 3, 6, 7), 3, 1),
        ((4, 3, 6), 1, 1),
        ((11,), 1, 1),
        ((2, 3, 4), 4, -1),
        ((300, 3, 50), 3, 1),
    ],
)
def test_prelu_backward_vs_numpy(shape, wsize, axis, dtype):
    x = _data(shape, dtype)
    g = _data(shape, dtype, seed=3)
    w = np.linspace(0.1, 0.4, wsize).astype(dtype)
    dx, dw = tr.prelu_backward(x, g, w, axis=axis)
    rdx, rdw = _prelu_ref(x, g, w, axis)
    assert dx.dtype == dtype and dw.dtype == dtype and dw.shape == w.shape
    np.testing.assert_array_equal(dx, rdx.astype(dtype))
    # dw: float64 partial sums in a fixed order; vs the float64 reference the
    # only difference is summation order: |err| <= n * eps64 * sum|x g|,
    # then one rounding to dtype.
    scale = np.abs(np.where(x > 0, 0, x.astype(np.float64) * g)).sum() + 1e-300
    tol = x.size * np.finfo(np.float64).eps * scale + np.finfo(dtype).eps * np.abs(rdw)
    assert np.all(np.abs(dw - rdw) <= tol)


def test_prelu_backward_thread_invariant_and_nan():
    x = _data((500, 4, 40))
    g = _data(x.shape, seed=2)
    w = np.full(4, 0.25)
    a = tr.prelu_backward(x, g, w, parallel=False)
    b = tr.prelu_backward(x, g, w, parallel=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    x[0, 1, 0] = np.nan
    dx, dw = tr.prelu_backward(x, g, w)
    assert np.isnan(dw[1]) and not np.isnan(dw[[0, 2, 3]]).any()
    assert dx[0, 1, 0] == 0.25 * g[0, 1, 0]


def test_prelu_backward_vs_torch():
    import torch

    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x = _data((16, 6, 9, 5), dtype)
        g = _data(x.shape, dtype, seed=4)
        w = np.linspace(0.1, 0.3, 6).astype(dtype)
        xt = torch.from_numpy(x).requires_grad_(True)
        wt = torch.from_numpy(w).requires_grad_(True)
        torch.nn.functional.prelu(xt, wt).backward(torch.from_numpy(g))
        dx, dw = tr.prelu_backward(x, g, w)
        np.testing.assert_array_equal(dx, xt.grad.numpy())
        # torch sums in its own (blocked, float32 for float32) order: tolerance
        # relative to sum |x g| over the negative part
        scale = np.abs(np.where(x > 0, 0, x.astype(np.float64) * g)).sum(axis=(0, 2, 3))
        assert np.all(np.abs(dw - wt.grad.numpy()) <= rtol * scale)


# --------------------------------------------------------------------------
# rrelu training
# --------------------------------------------------------------------------


def test_rrelu_train_properties():
    x = _data((50, 37))
    lo, hi = 0.1, 0.3
    y = tr.rrelu_train(x, lo, hi, seed=42)
    s = tr.rrelu_slopes(x.shape, lo, hi, seed=42)
    np.testing.assert_array_equal(y, np.where(x <= 0, x * s, x))
    assert np.all((s >= lo) & (s < hi))
    # determinism, seed sensitivity
    np.testing.assert_array_equal(y, tr.rrelu_train(x, lo, hi, seed=42))
    assert not np.array_equal(y, tr.rrelu_train(x, lo, hi, seed=43))
    # gradient regenerates the same slopes
    g = _data(x.shape, seed=1)
    np.testing.assert_array_equal(tr.rrelu_train_grad(x, g, lo, hi, seed=42), np.where(x <= 0, g * s, g))
    # finite differences away from 0
    xs = np.where(np.abs(x) < 1e-3, 0.5, x)
    h = 1e-6
    fd = (tr.rrelu_train(xs + h, lo, hi, 42) - tr.rrelu_train(xs - h, lo, hi, 42)) / (2 * h)
    np.testing.assert_allclose(tr.rrelu_train_grad(xs, np.ones_like(xs), lo, hi, 42), fd, rtol=1e-6)
    # float32: y = round(x * slope), slope in float64
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(
        tr.rrelu_train(x32, lo, hi, 42), np.where(x32 <= 0, (x32 * s).astype(np.float32), x32)
    )
    # NaN goes the x > 0 way (PyTorch: noise 1)
    xn = np.array([np.nan, -1.0])
    assert np.isnan(tr.rrelu_train(xn)[0])
    assert tr.rrelu_train_grad(xn, np.array([2.0, 1.0]))[0] == 2.0
    with pytest.raises(ValueError):
        tr.rrelu_train(x, 0.5, 0.1)


def test_rrelu_train_chunk_and_thread_invariant():
    x = _data(100_000)
    full = tr.rrelu_train(x, seed=7, parallel=True)
    parts = [
        tr.rrelu_train(x[a:b], seed=7, offset=a)
        for a, b in ((0, 12_345), (12_345, 70_001), (70_001, 100_000))
    ]
    np.testing.assert_array_equal(full, np.concatenate(parts))
    np.testing.assert_array_equal(full, tr.rrelu_train(x, seed=7, parallel=False))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(full, tr.rrelu_train(x, seed=7, parallel=True))
    finally:
        numba.set_num_threads(old)
    # layout-independent: the index is the logical C-order index
    x2 = x.reshape(400, 250)
    np.testing.assert_array_equal(tr.rrelu_train(np.asfortranarray(x2), seed=7), full.reshape(400, 250))


def test_rrelu_slopes_distribution():
    import scipy.stats as stats

    lo, hi = 1 / 8, 1 / 3
    s = tr.rrelu_slopes(200_000, lo, hi, seed=3).ravel()
    assert stats.kstest(s, stats.uniform(loc=lo, scale=hi - lo).cdf).pvalue > 1e-3
    # neighbouring seeds and indices are not correlated
    s2 = tr.rrelu_slopes(200_000, lo, hi, seed=4).ravel()
    assert abs(np.corrcoef(s, s2)[0, 1]) < 0.01
    assert abs(np.corrcoef(s[:-1], s[1:])[0, 1]) < 0.01


def test_rrelu_slopes_agree_with_torch():
    import scipy.stats as stats
    import torch

    lo, hi = 0.1, 0.4
    torch.manual_seed(0)
    xt = -torch.ones(100_000, dtype=torch.float64)
    ts = (torch.nn.functional.rrelu(xt, lo, hi, training=True) / xt).numpy()
    fs = tr.rrelu_train(-np.ones(100_000), lo, hi, seed=0) / -1.0
    assert stats.ks_2samp(ts, fs).pvalue > 1e-3
    assert abs(ts.mean() - fs.mean()) < 5e-3


def test_rrelu_ufunc_training_flag_points_here():
    with pytest.raises(NotImplementedError, match="rrelu_train"):
        fastrelu.rrelu(np.ones(3), training=True)


# --------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------


def test_relu_stats_2d_and_nd():
    x = _data((40, 10))
    x[:, 3] = -np.abs(x[:, 3])  # dead unit
    x[:, 7] = -1.0 - np.abs(x[:, 7])  # dead
    b = np.zeros(10)
    y, st = tr.relu_stats(x, b)
    np.testing.assert_array_equal(y, fastrelu.relu(x))
    np.testing.assert_array_equal(st.active_counts, (x > 0).sum(0))
    assert st.dead_units == 2 and st.n_units == 10 and st.samples == 40
    np.testing.assert_allclose(st.inactive_fraction, (x <= 0).mean(0))
    assert st.sparsity == pytest.approx((x <= 0).mean())
    x4 = _data((6, 5, 4, 3))
    x4[:, 2] = -np.abs(x4[:, 2])
    _, s4 = tr.relu_stats(x4)
    np.testing.assert_array_equal(s4.active_counts, (x4 > 0).sum(axis=(0, 2, 3)))
    assert s4.dead_units == 1 and s4.samples == 6 * 4 * 3 and s4.axis == 1
    # N-D + parallel path gives the same counts
    xl = _data((40, 8, 30, 20))
    _, a = tr.relu_stats(xl, parallel=False)
    _, c = tr.relu_stats(xl, parallel=True)
    np.testing.assert_array_equal(a.active_counts, c.active_counts)
    np.testing.assert_array_equal(a.active_counts, (xl > 0).sum(axis=(0, 2, 3)))


def test_dead_unit_tracker():
    t = tr.DeadUnitTracker()
    x1 = np.array([[1.0, -1.0, -2.0], [-1.0, -1.0, -3.0]])
    x2 = np.array([[-1.0, 2.0, -2.0]])
    t.update(tr.relu_stats(x1)[1])
    assert t.dead_units == 2
    t.update(tr.relu_stats(x2)[1])
    assert t.dead_units == 1 and t.dead_fraction == pytest.approx(1 / 3)
    assert t.end_epoch() == pytest.approx(1 / 3)
    t.update(tr.relu_stats(-np.abs(x1))[1])
    t.end_epoch()
    assert t.history == [pytest.approx(1 / 3), 1.0]
    assert len(t.sparsity_history) == 2
    with pytest.raises(ValueError):
        t.update(tr.relu_stats(np.ones((2, 4)))[1])
        t.update(tr.relu_stats(np.ones((2, 5)))[1])


def test_module_reexports():
    assert fastrelu.training is tr
    assert set(tr.__all__) <= set(dir(tr))
    assert BY_NAME["relu"].name == "relu"


# --------------------------------------------------------------------------
# per-channel (axis 1) prelu in the fused kernels, N-D, vs PyTorch
# --------------------------------------------------------------------------


def _torch_prelu(x, b, w, g):
    """PyTorch's prelu(x + b) forward and its autograd dx, dw (float64 sums
    are torch's own)."""
    import torch

    xt = torch.from_numpy(x + b).requires_grad_(True)
    wt = torch.from_numpy(w).requires_grad_(True)
    yt = torch.nn.functional.prelu(xt, wt)
    yt.backward(torch.from_numpy(g))
    return yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


def _dw_tolerance(x, g, w, dtype):
    """Summation-order tolerance for dw against PyTorch.

    Any order of summing n terms has |error| <= (n - 1) * u * S (u = eps/2,
    S = sum |x g| over x <= 0 of the channel; Higham, Accuracy and Stability,
    (4.4)); fastrelu and torch both do, so they differ by at most
    (n - 1) * eps * S, plus one rounding of each result to dtype.
    """
    ax = tuple(a for a in range(x.ndim) if a != 1)
    S = np.abs(np.where(x > 0, 0, x.astype(np.float64) * g)).sum(axis=ax)
    n = x.size // w.size
    eps = np.finfo(dtype).eps
    return (n - 1) * eps * S, eps


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(6, 5, 13), (4, 3, 6, 7), (2, 4, 3, 2, 9), (300, 3, 50)])
def test_prelu_per_channel_nd_vs_torch(shape, dtype):
    x = _data(shape, dtype)
    g = _data(shape, dtype, seed=11)
    b = _data(shape[-1], dtype, seed=12)
    w = np.linspace(-0.3, 0.6, shape[1]).astype(dtype)  # a negative slope too
    ty, tdx, tdw = _torch_prelu(x, b, w, g)
    # fused bias + prelu, with diagnostics (units = channels)
    y, st = tr.bias_act(x, b, "prelu", weight=w, diagnostics=True)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, ty)
    not_ch = tuple(a for a in range(x.ndim) if a != 1)
    np.testing.assert_array_equal(st.active_counts, (x + b > 0).sum(axis=not_ch))
    np.testing.assert_array_equal(tr.bias_act(x, b, "prelu", weight=w, parallel=True), ty)
    # mask forward and mask backward (fresh out and in place)
    y2, m = tr.prelu_mask(x, w, bias=b)
    np.testing.assert_array_equal(y2, ty)
    np.testing.assert_array_equal(m, np.packbits(x + b > 0, axis=-1, bitorder="little"))
    np.testing.assert_array_equal(tr.prelu_grad_mask(m, g, w), tdx)
    gi = g.copy()
    assert tr.prelu_grad_mask(m, gi, w, out=gi, parallel=True) is gi
    np.testing.assert_array_equal(gi, tdx)
    # training backward: dx exact, dw within the summation-order tolerance
    for par in (False, True):
        dx, dw = tr.prelu_backward(x + b, g, w, parallel=par)
        assert dx.dtype == dtype and dw.dtype == dtype and dw.shape == w.shape
        np.testing.assert_array_equal(dx, tdx)
        tol, eps = _dw_tolerance(x + b, g, w, dtype)
        assert np.all(np.abs(dw.astype(np.float64) - tdw) <= tol + eps * (np.abs(dw) + np.abs(tdw)))
        # and against the exactly rounded sums (float64 partial sums: the only
        # error is the float64 summation order and the final rounding)
        v = (x + b).astype(np.float64)
        terms = np.where(v > 0, 0.0, v * g).swapaxes(0, 1).reshape(w.size, -1)
        exact = np.array([math.fsum(t) for t in terms])
        order = terms.shape[1] * 2.0**-52 * np.abs(terms).sum(1)
        assert np.all(np.abs(dw - exact) <= eps * np.abs(exact) + order)


def test_prelu_backward_nd_thread_invariant():
    x = _data((7, 6, 33, 41), np.float32)
    g = _data(x.shape, np.float32, seed=3)
    w = np.linspace(0.1, 0.4, 6).astype(np.float32)
    a = tr.prelu_backward(x, g, w, parallel=False)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        b1 = tr.prelu_backward(x, g, w, parallel=True)
    finally:
        numba.set_num_threads(old)
    b2 = tr.prelu_backward(x, g, w, parallel=True)
    for r in (b1, b2):
        np.testing.assert_array_equal(a[0], r[0])
        np.testing.assert_array_equal(a[1], r[1])


def test_prelu_channel_axis_other_than_1():
    # prelu_backward's axis= (the ufunc's prelu broadcasts along it too)
    x = _data((3, 4, 5, 6))
    g = _data(x.shape, seed=5)
    for axis in (0, 2, -1):
        w = np.linspace(0.1, 0.5, x.shape[axis])
        dx, dw = tr.prelu_backward(x, g, w, axis=axis)
        rdx, rdw = _prelu_ref(x, g, w, axis)
        np.testing.assert_array_equal(dx, rdx)
        np.testing.assert_allclose(dw, rdw, rtol=1e-13, atol=1e-13)


def test_fused_ops_keep_negative_zero_without_bias():
    # no bias is an added -0.0: exact, so leaky_relu(-0.0) stays -0.0
    x = np.array([[-0.0, 0.0, -1.0, np.nan, np.inf, -np.inf, 5e-324, -5e-324, 2.0]])
    for dt in FLOATS:
        xd = x.astype(dt)
        expect = fastrelu.leaky_relu(xd, dt(0.01))
        for y in (tr.bias_act(xd, None, "leaky_relu"), tr.leaky_relu_mask(xd)[0]):
            assert y.dtype == dt
            np.testing.assert_array_equal(y, expect)
            np.testing.assert_array_equal(np.signbit(y), np.signbit(expect))


@pytest.mark.skipif(not _build.STREAM_OK, reason="non-temporal stores are used on x86-64 only")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", [8, 13, 4096, 4101])
def test_mask_backward_streamed(monkeypatch, cols, dtype):
    """A large fresh out of the parallel mask backward is streamed (aligned
    8-element groups; the rest stored normally): same values, every row
    alignment; in place never streams."""
    monkeypatch.setattr(_parallel, "STREAM_MIN_BYTES", 0)
    used = []
    real = T.get

    def spy(template, kernel=None, variant=None, parallel=False):
        used.append(variant)
        return real(template, kernel, variant, parallel)

    monkeypatch.setattr(T, "get", spy)
    x = _data((41, cols), dtype, scale=4.0)
    g = _data(x.shape, dtype, seed=3)
    _, m = tr.relu_mask(x, parallel=True)
    w = np.linspace(0.05, 0.5, cols).astype(dtype)
    _, mw = tr.prelu_mask(x, w, parallel=True)
    for off in (0, 1, 3):
        buf = np.full(x.size + 8, 7, dtype)
        out = buf[off : off + x.size].reshape(x.shape)
        assert tr.relu_grad_mask(m, g, out=out, parallel=True) is out
        np.testing.assert_array_equal(out, fastrelu.relu_grad(x, g))
        assert used[-1] == "select_st"
        np.testing.assert_array_equal(buf[off + x.size :], 7)
        out = buf[off : off + x.size].reshape(x.shape)
        tr.prelu_grad_mask(mw, g, w, out=out, parallel=True)
        np.testing.assert_array_equal(out, fastrelu.prelu_grad(x, g, w))
        assert used[-1] == "slope_st"
    gi = g.copy()
    tr.relu_grad_mask(m, gi, out=gi, parallel=True)
    np.testing.assert_array_equal(gi, fastrelu.relu_grad(x, g))
    assert used[-1] == "select"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("cols", [1, 7, 8, 9, 4095, 4096, 4097, 8200])
def test_mask_round_trip_parallel_tails(cols, dtype):
    # row lengths around the byte and work-unit boundaries, parallel loops,
    # in place, relu6's open interval and leaky's slope
    x = _data((37, cols), dtype, scale=4.0)
    g = _data(x.shape, dtype, seed=2)
    cases = (("relu6", (), lambda v: (v > 0) & (v < 6)), ("leaky_relu", (0.2,), lambda v: v > 0))
    for name, params, pred in cases:
        y, m = getattr(tr, f"{name}_mask")(x, *params, parallel=True)
        np.testing.assert_array_equal(m, np.packbits(pred(x), axis=-1, bitorder="little"))
        np.testing.assert_array_equal(y, getattr(fastrelu, name)(x, *params))
        expect = getattr(fastrelu, f"{name}_grad")(x, g, *params)
        gp = params if name == "leaky_relu" else ()
        np.testing.assert_array_equal(getattr(tr, f"{name}_grad_mask")(m, g, *gp, parallel=True), expect)
        gi = g.copy()
        getattr(tr, f"{name}_grad_mask")(m, gi, *gp, out=gi, parallel=True)
        np.testing.assert_array_equal(gi, expect)


def test_stats_3d_channels_and_counts():
    # (N, C, L): units are channels; counts from the per-column accumulators
    x = _data((9, 4, 1030), np.float32)
    x[:, 2] = -np.abs(x[:, 2])
    b = _data(1030, np.float32, seed=4)
    for par in (False, True):
        y, st = tr.bias_act(x, b, "gelu", diagnostics=True, parallel=par)
        np.testing.assert_array_equal(y, tr.bias_act(x, b, "gelu"))
        np.testing.assert_array_equal(st.active_counts, (x + b > 0).sum(axis=(0, 2)))
        assert st.active_counts.dtype == np.int64 and st.samples == 9 * 1030 and st.axis == 1


# --------------------------------------------------------------------------
# the mask knows its row length; mask forward in place
# --------------------------------------------------------------------------


def test_mask_of_other_row_length_is_refused():
    """A mask of rows of 10 and a g of rows of 9 have 2 bytes per row: refused."""
    x = _data((4, 10), np.float32)
    x[:, 9] = 1.0  # a bit beyond 9 elements is set in every row
    _, m = tr.relu_mask(x)
    assert isinstance(m, tr.BitMask) and m.n_features == 10
    g9 = _data((4, 9), np.float32, seed=1)
    for fn, extra in [
        (tr.relu_grad_mask, ()),
        (tr.relu6_grad_mask, ()),
        (tr.hardtanh_grad_mask, ()),
        (tr.leaky_relu_grad_mask, (0.1,)),
        (tr.prelu_grad_mask, (0.25,)),
    ]:
        with pytest.raises(ValueError, match="built for rows of 10 elements, g has rows of 9"):
            fn(m, g9, *extra)
    # a plain uint8 array (e.g. saved and loaded): the set padding bits give it away
    with pytest.raises(ValueError, match="bits set beyond the 9 elements"):
        tr.relu_grad_mask(np.array(m).view(np.ndarray), g9)
    # views keep the row length while they keep the last axis; pickling keeps it
    import pickle

    assert m[1:].n_features == 10 and pickle.loads(pickle.dumps(m)).n_features == 10
    assert m.reshape(-1).n_features is None
    # the matching g is accepted, and equals the x-reading gradient
    g10 = _data((4, 10), np.float32, seed=1)
    np.testing.assert_array_equal(tr.relu_grad_mask(m, g10), fastrelu.relu_grad(x, g10))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(("name", "params", "pred", "_"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_mask_forward_in_place(name, params, pred, _, parallel):
    """out=x: the mask is taken before the row is written (also with a bias)."""
    x = _data((37, 203), np.float32, scale=4.0)
    bias = _data(203, np.float32, seed=4)
    y, m = getattr(tr, f"{name}_mask")(x, *params, bias=bias, parallel=parallel)
    xi = x.copy()
    yi, mi = getattr(tr, f"{name}_mask")(xi, *params, bias=bias, out=xi, parallel=parallel)
    assert yi is xi
    np.testing.assert_array_equal(xi, y)
    np.testing.assert_array_equal(mi, m)
    np.testing.assert_array_equal(mi, np.packbits(pred(x + bias), axis=-1, bitorder="little"))
