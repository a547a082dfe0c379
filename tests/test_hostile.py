"""Hostile inputs: every case gets NumPy's / PyTorch's answer or a clear error, and an error
never writes to ``out``.

Sections: dtypes, shapes and memory overlap, special values (every function and gradient on both
CPU targets), parameters, concurrency and fork, Hypothesis properties, and > 2**31 elements
(``slow``; it allocates 2.1 GB).
"""

from __future__ import annotations

import math
import multiprocessing
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastrelu
import fastrelu.parallel
from fastrelu._spec import BY_NAME, TABLE, public_names, resolve

NAMES = public_names()
MODULES = {"cpu": fastrelu, "parallel": fastrelu.parallel}
FLOATS = (np.float16, np.float32, np.float64)
INTS = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64)
BIG = 100_003  # above every parallel cut-over: exercises the multi-threaded path


@pytest.fixture(params=list(MODULES), scope="module")
def mod(request):
    return MODULES[request.param]


def _params(name):
    spec, kind = resolve(name)
    params = spec.params if kind == "forward" else spec.grad_param_list
    return [spec.test_params.get(p.name, p.default) for p in params]


def _call(mod, name, x, g=None, **kw):
    _spec, kind = resolve(name)
    f = getattr(mod, name)
    if kind == "forward":
        return f(x, *_params(name), **kw)
    return f(x, np.ones_like(x) if g is None else g, *_params(name), **kw)


def _same(a, b):
    """Bitwise equality, any NaN equal to any NaN."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    np.testing.assert_array_equal(np.isnan(b) if b.dtype.kind == "f" else nan, nan)
    if a.dtype.kind == "f":
        ua = a.view(f"u{a.dtype.itemsize}")
        ub = b.view(f"u{b.dtype.itemsize}")
        np.testing.assert_array_equal(np.where(nan, 0, ua), np.where(nan, 0, ub))
    else:
        np.testing.assert_array_equal(a, b)


# ==========================================================================
# dtypes
# ==========================================================================


def _expected_dtype(name, dt):
    """NumPy's resolution for a ufunc with this row's loops (Python-scalar params are weak)."""
    spec, kind = resolve(name)
    loops = [np.dtype(d) for d in spec.dtypes("forward" if kind == "forward" else "grad")]
    common = np.result_type(*([dt] * (1 if kind == "forward" else 2)), *_params(name))
    return next(d for d in loops if np.can_cast(common, d))


@pytest.mark.parametrize("dt", INTS, ids=[np.dtype(d).name for d in INTS])
@pytest.mark.parametrize("name", NAMES)
def test_integer_and_bool_inputs(mod, name, dt):
    x = np.array([0, 1, 2, 7, 100], dtype=dt) if dt is not np.bool_ else np.array([0, 1, 1, 0, 1], bool)
    if np.dtype(dt).kind == "i":
        x[0] = -3
    spec, kind = resolve(name)
    if (
        kind == "forward"
        and spec.int_exact
        and np.dtype(dt).kind == "u"
        and min(_params(name), default=0) < 0
    ):
        # hardtanh's min_val=-1 / threshold's value=-2 on unsigned integers: parameters are cast to
        # x's dtype, and a value out of its range is NumPy's OverflowError (semantics.md, integer inputs)
        with pytest.raises(OverflowError, match="out of bounds for " + np.dtype(dt).name):
            _call(mod, name, x)
        return
    y = _call(mod, name, x)
    if kind == "forward" and spec.int_exact and np.dtype(dt).kind in "iu":
        # integer input keeps its dtype, parameters cast to it (as PyTorch)
        assert y.dtype == dt, (name, dt, y.dtype)
        return
    want = _expected_dtype(name, np.dtype(dt))
    # Accepted: NumPy's promotion with weak Python-scalar parameters (``want``, as np.arctan2(x, 0.01)),
    # or the loop x alone selects (np.exp's rule: parameters never promote, as for float x).
    loops = [np.dtype(d) for d in spec.dtypes("forward" if kind == "forward" else "grad")]
    by_x = next(d for d in loops if np.can_cast(np.dtype(dt), d))
    assert y.dtype in (want, by_x), (name, dt, y.dtype, want, by_x)
    # same values as calling on x already cast to the chosen loop
    _same(y, _call(mod, name, x.astype(y.dtype)))


BAD_DTYPES = {
    "complex128": np.array([1 + 1j, -1j]),
    "complex64": np.array([1 + 1j, -1j], np.complex64),
    "object": np.array([1.0, -1.0], object),
    "str": np.array(["1", "-1"]),
    "bytes": np.array([b"1", b"-1"]),
    "datetime64": np.array(["2020-01-01", "1969-01-01"], "M8[D]"),
    "timedelta64": np.array([1, -1], "m8[s]"),
    "structured": np.zeros(2, "f4,f4"),
    "void": np.zeros(2, "V8"),
    "longdouble": np.array([1.0, -1.0], np.longdouble),
}
if np.dtype(np.longdouble) == np.dtype(np.float64):
    del BAD_DTYPES["longdouble"]  # longdouble is float64 there: a supported dtype, not a bad one


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
@pytest.mark.parametrize("name", NAMES)
def test_unsupported_dtypes_raise_typeerror_and_write_nothing(mod, name, bad):
    x = BAD_DTYPES[bad]
    out = np.full(x.shape, 12345.0)
    with pytest.raises(TypeError) as e:
        _call(mod, name, x, g=x, out=out)
    msg = str(e.value)
    if bad == "longdouble":
        # NumPy finds no loop, or a float64 out would need an unsafe cast: either way a TypeError
        assert "float64" in msg or "supported" in msg or "cast" in msg.lower()
    else:
        assert "float32" in msg and "float64" in msg, msg  # names the supported dtypes
    np.testing.assert_array_equal(out, 12345.0)


CASTING_CASES = [
    # (x dtype, out dtype, casting)
    (np.float64, np.float32, "same_kind"),
    (np.float64, np.float32, "safe"),
    (np.float64, np.float32, "no"),
    (np.float32, np.float64, "safe"),
    (np.float32, np.float64, "equiv"),
    (np.float32, np.float16, "unsafe"),
    (np.float64, np.int32, "same_kind"),
    (np.float64, np.int32, "unsafe"),
    (np.int64, np.int8, "same_kind"),
    (np.int64, np.int8, "safe"),
    (np.int8, np.float32, "safe"),
    (np.float32, np.complex64, "safe"),
]


@pytest.mark.parametrize(("xdt", "odt", "casting"), CASTING_CASES)
def test_casting_rules_match_numpy(mod, xdt, odt, casting):
    """relu with out=/casting= behaves as np.maximum(x, 0) with the same arguments."""
    x = np.array([-2, 0, 3], dtype=xdt)
    zero = np.zeros((), xdt)
    ref_out = np.full(3, 7, odt)
    try:
        np.maximum(x, zero, out=ref_out, casting=casting)
        ref_err = None
    except TypeError as e:
        ref_err = e
    out = np.full(3, 7, odt)
    if ref_err is not None:
        with pytest.raises(TypeError):
            mod.relu(x, out=out, casting=casting)
        np.testing.assert_array_equal(out, 7)
    else:
        r = mod.relu(x, out=out, casting=casting)
        assert r is out
        np.testing.assert_array_equal(out, ref_out)


@pytest.mark.parametrize(
    ("xdt", "gdt"),
    [(np.float32, np.float64), (np.float16, np.float32), (np.int8, np.float16), (np.int32, np.float32),
     (np.float64, np.bool_), (np.uint8, np.int8)],
)  # fmt: skip
@pytest.mark.parametrize("name", ["relu_grad", "leaky_relu_grad", "gelu_grad", "hardtanh_grad"])
def test_mixed_dtype_gradients_follow_numpy_promotion(mod, name, xdt, gdt):
    x = np.array([-1, 0, 2]).astype(xdt)  # -1 wraps for unsigned
    g = np.array([1, 1, 0], gdt)
    y = _call(mod, name, x, g)
    want = np.arctan2(x, g).dtype  # a NumPy ufunc with the same float16/32/64 loops
    # Python-scalar parameters never promote: the data inputs pick the loop, as for np.arctan2
    assert y.dtype == want, (y.dtype, want)


def test_byteswapped_and_strided_inputs(mod):
    x = np.linspace(-5, 5, 101)
    for view in (x.astype(">f8"), x[::-3], x.reshape(101, 1)[:, 0], np.asfortranarray(x.reshape(1, 101))):
        for name in ("relu", "gelu", "leaky_relu_grad", "softplus"):
            _same(_call(mod, name, view), _call(fastrelu, name, np.ascontiguousarray(view, dtype=np.float64)))


# ==========================================================================
# shapes, out=, overlap
# ==========================================================================


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_and_empty(mod, name):
    for dt in FLOATS:
        s = dt(-1.5)
        y = _call(mod, name, s, g=dt(1))
        assert type(y) is dt, (name, type(y))  # NumPy returns a scalar of the dtype
        y0 = _call(mod, name, np.array(-1.5, dt), g=np.array(1, dt))
        assert np.ndim(y0) == 0 and y0.dtype == dt
        for shape in [(0,), (3, 0), (0, 5, 2)]:
            e = _call(mod, name, np.empty(shape, dt))
            assert e.shape == shape and e.dtype == dt
    assert isinstance(_call(mod, name, -1.0, g=1.0), np.float64)


def test_python_scalars(mod):
    assert mod.relu(-3) == 0 and isinstance(mod.relu(-3), np.int64)
    assert mod.relu(2.5) == 2.5 and isinstance(mod.relu(2.5), np.float64)
    assert mod.relu(True) is np.True_
    assert mod.leaky_relu([-1, 2], 0.5).tolist() == [-0.5, 2.0]


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "gelu", "threshold", "relu_grad", "prelu_grad"])
def test_errors_write_nothing(mod, name):
    x = np.linspace(-2, 2, 6)
    sentinel = np.full(6, 99.0)
    cases = [
        dict(out=np.full(5, 99.0)),  # wrong out shape
        dict(out=np.full((2, 3), 99.0)),  # wrong out shape, same size
        dict(out=np.full(6, 99, np.int8), casting="same_kind"),  # float -> int8
    ]
    for kw in cases:
        ref = kw["out"].copy()
        with pytest.raises((ValueError, TypeError)):
            _call(mod, name, x, **kw)
        np.testing.assert_array_equal(kw["out"], ref)
    ro = sentinel.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _call(mod, name, x, out=ro)
    out = sentinel.copy()
    with pytest.raises(ValueError, match="broadcast"):
        _call(mod, name, x, g=np.ones(4), out=out) if resolve(name)[1] != "forward" else _call(
            mod, name, np.ones((2, 3)), out=np.empty((3, 2))
        )
    np.testing.assert_array_equal(out, sentinel)


def test_mismatched_parameter_broadcast_writes_nothing(mod):
    x = np.linspace(-2, 2, 6)
    out = np.full(6, 5.0)
    with pytest.raises(ValueError):
        mod.leaky_relu(x, np.ones(4), out=out)
    with pytest.raises(ValueError):
        mod.hardtanh(x, np.array([-1.0, 2.0]), 1.0, out=out)  # bad shape (and an invalid pair)
    with pytest.raises(ValueError):
        mod.prelu(np.ones((2, 3, 4)), np.ones(5), out=np.empty((2, 3, 4)))
    np.testing.assert_array_equal(out, 5.0)


@pytest.mark.parametrize("n", [17, BIG], ids=["small", "big"])
@pytest.mark.parametrize("name", ["relu", "gelu", "leaky_relu", "hardswish", "relu_grad", "silu_grad"])
def test_overlapping_out_gives_numpy_answer(mod, name, n):
    """In place and shifted views: NumPy buffers overlapping operands; so must every target."""
    base = np.random.default_rng(3).standard_normal(n + 8) * 4
    _spec, kind = resolve(name)

    def run(x, out):
        if kind == "forward":
            return getattr(mod, name)(x, *_params(name), out=out)
        return getattr(mod, name)(x, x, *_params(name), out=out)  # g aliases x as well

    views = [
        (np.s_[:n], np.s_[:n]),  # in place
        (np.s_[:n], np.s_[1 : n + 1]),  # out one element ahead
        (np.s_[3 : n + 3], np.s_[:n]),  # out behind
        (np.s_[: 2 * (n // 2) : 2], np.s_[1 : 2 * (n // 2) + 1 : 2]),  # interleaved strided
    ]
    for sl_in, sl_out in views:
        a = base.copy()
        expect = a.copy()
        expect[sl_out] = run(a[sl_in].copy(), None)  # no overlap: the reference
        r = run(a[sl_in], a[sl_out])
        assert np.shares_memory(r, a)
        _same(a, expect)


def test_where_with_uninitialised_out_keeps_out(mod):
    x = np.linspace(-1, 1, BIG)
    out = np.full(BIG, -7.0)
    m = np.zeros(BIG, bool)
    m[::3] = True
    mod.gelu(x, out=out, where=m)
    _same(out[~m], np.full((~m).sum(), -7.0))
    _same(out[m], fastrelu.gelu(x[m]))


# ==========================================================================
# special values, every function and gradient, both targets
# ==========================================================================


def _specials(dt):
    fi = np.finfo(dt)
    u = f"u{np.dtype(dt).itemsize}"
    nans = np.array([np.nan, -np.nan], dt)
    payload = np.array([0x7E01, 0xFE23] if dt is np.float16 else
                       ([0x7FC00123, 0xFFC00456] if dt is np.float32 else
                        [0x7FF8000000000123, 0xFFF8000000000456]), u).view(dt)  # fmt: skip
    vals = np.array([np.inf, -np.inf, 0.0, -0.0, fi.smallest_subnormal, -fi.smallest_subnormal,
                     fi.smallest_normal, -fi.smallest_normal, fi.max, fi.min, 1.0, -1.0, 3.0, -3.0,
                     6.0, 0.5, -0.5], dt)  # fmt: skip
    return np.concatenate([nans, payload, vals])


# The expectations are the row's facts (fastrelu/_spec.py): grad_at_nan (NaN: NaN), limits and
# grad_limits (f and f' at -inf, +inf with the test parameters), minus_zero_to_plus_zero (f(-0.0)
# is +0.0, np.maximum semantics; the other rows with f(0) == 0 keep the sign as PyTorch does),
# identity_on (where f(x) = x exactly).


@pytest.mark.parametrize("dt", FLOATS, ids=["f16", "f32", "f64"])
@pytest.mark.parametrize("row", TABLE, ids=[r.name for r in TABLE])
def test_special_values(mod, row, dt):
    x = _specials(dt)
    f = getattr(mod, row.name)
    fg = getattr(mod, row.name + "_grad")
    fp = _params(row.name)
    gp = _params(row.name + "_grad")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from NaN/inf/overflow
        y = f(x, *fp)
        d = fg(x, np.ones_like(x), *gp)
    assert y.dtype == dt and d.dtype == dt
    n_nan = 4
    # NaN in -> NaN out (every payload, both signs)
    assert np.isnan(y[:n_nan]).all(), y[:n_nan]
    want = row.grad_at_nan
    if math.isnan(want):
        assert np.isnan(d[:n_nan]).all()
    else:
        np.testing.assert_array_equal(d[:n_nan], np.full(n_nan, dt(want), dt))
    if row.name == "relu":  # NaN payloads: exactly what np.maximum(x, 0) keeps
        _same(y[:n_nan], np.maximum(x[:n_nan], dt(0)))
    vals = x[n_nan:]
    yv, dv = y[n_nan:], d[n_nan:]
    (f_lo, f_hi), (g_lo, g_hi) = (dt(v) for v in row.limits), (dt(v) for v in row.grad_limits)
    assert yv[0] == f_hi and yv[1] == f_lo, (yv[:2], f_lo, f_hi)
    assert dv[0] == g_hi and dv[1] == g_lo, (dv[:2], g_lo, g_hi)
    assert not np.isnan(yv).any() and not np.isnan(dv).any(), (vals, yv, dv)
    # -0.0
    f0 = row.forward(0.0, *fp)
    if f0 == 0:
        assert yv[3] == 0
        assert bool(np.signbit(yv[3])) is (not row.minus_zero_to_plus_zero), (row.name, yv[3])
    # subnormals are not flushed: identity-like functions return them unchanged
    if row.identity_on is not None and row.identity_on[0] <= 0 < row.identity_on[1]:
        _same(yv[4:5], vals[4:5])
        assert yv[4] > 0
    # +-max finite: no NaN, limits reached (or overflow to inf where the true value overflows)
    big_hi, big_lo = yv[8], yv[9]
    assert big_hi >= min(f_hi, np.finfo(dt).max) or np.isinf(big_hi)
    assert abs(float(dv[8]) - float(g_hi)) <= 1e-3
    assert abs(float(dv[9]) - float(g_lo)) <= 1e-3 * max(1, abs(float(g_lo)))
    assert np.isfinite(big_lo) or row.limits[0] == -math.inf


@pytest.mark.parametrize("dt", FLOATS, ids=["f16", "f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_special_values_big_arrays_identical_across_targets(name, dt):
    """Tiled special values above the parallel cut-over: the parallel path is bit-identical."""
    x = np.resize(_specials(dt), BIG)
    g = np.resize(np.array([1.0, -2.0, np.nan, np.inf, 0.0, -0.0], dt), BIG)
    _same(_call(fastrelu.parallel, name, x, g), _call(fastrelu, name, x, g))


# ==========================================================================
# parameters
# ==========================================================================

#: (function, params, outcome): "ok" = defined (computed by the formula), "ValueError" = refused
PARAM_CASES = [
    ("leaky_relu", (-0.5,), "ok"),
    ("leaky_relu", (np.nan,), "ok"),
    ("leaky_relu", (np.inf,), "ok"),
    ("leaky_relu", (0.0,), "ok"),
    ("prelu", (np.nan,), "ok"),
    ("prelu", (-1.0,), "ok"),
    ("rrelu", (0.5, 0.1), "ValueError"),
    ("rrelu", (np.nan, 0.3), "ok"),
    ("rrelu", (-1.0, -0.5), "ok"),
    ("threshold", (np.nan, 5.0), "ok"),
    ("threshold", (0.0, np.nan), "ok"),
    ("threshold", (np.inf, 0.0), "ok"),
    ("hardtanh", (2.0, 1.0), "ValueError"),
    ("hardtanh", (1.0, 1.0), "ok"),
    ("hardtanh", (np.nan, 1.0), "ok"),
    ("hardtanh", (-np.inf, np.inf), "ok"),
    ("elu", (-1.0,), "ok"),
    ("elu", (np.nan,), "ok"),
    ("elu", (0.0,), "ok"),
    ("celu", (0.0,), "ValueError"),
    ("celu", (-0.0,), "ValueError"),
    ("celu", (-1.0,), "ok"),
    ("celu", (np.nan,), "ok"),
    ("celu", (np.inf,), "ok"),
    ("softplus", (0.0, 20.0), "ValueError"),
    ("softplus", (-1.0, 20.0), "ok"),
    ("softplus", (np.nan, 20.0), "ok"),
    ("softplus", (1.0, np.nan), "ok"),
    ("softplus", (1.0, -np.inf), "ok"),
    ("softplus", (1e-300, 20.0), "ok"),
    ("squareplus", (-1.0,), "ValueError"),
    ("squareplus", (0.0,), "ok"),
    ("squareplus", (np.nan,), "ok"),
    ("squareplus", (np.inf,), "ok"),
]


def _ref_with_params(row, x, params):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(row.ref(x, *params), dtype=np.float64)


@pytest.mark.parametrize(
    ("name", "params", "outcome"), PARAM_CASES, ids=[f"{c[0]}{c[1]}" for c in PARAM_CASES]
)
def test_questionable_parameters(mod, name, params, outcome):
    row = BY_NAME[name]
    x = np.array([-np.inf, -3.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 25.0, np.inf, np.nan])
    f = getattr(mod, name)
    out = np.full_like(x, 42.0)
    # array parameters: per element (prelu: one weight, as a 1-element array -- PyTorch's shapes)
    arr_params = [np.full((1,) if name == "prelu" else x.shape, p) for p in params]
    if outcome == "ValueError":
        for ps in (params, arr_params):
            with pytest.raises(ValueError, match=name):
                f(x, *ps, out=out)
            np.testing.assert_array_equal(out, 42.0)
        if name != "prelu":
            with pytest.raises(ValueError, match=name):
                getattr(mod, name + "_grad")(x, np.ones_like(x), *params[: len(row.grad_param_list)])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = f(x, *params)
        ya = f(x, *arr_params)  # array parameters: the same answer as scalars
        d = getattr(mod, name + "_grad")(x, np.ones_like(x), *[params[i] for i, p in enumerate(row.params)
                                                                 if p in row.grad_param_list])  # fmt: skip
    _same(y, ya)
    assert d.shape == x.shape
    # finite inputs with finite parameters: the float64 formula
    ref = _ref_with_params(row, x, params)
    fin = np.isfinite(x) & np.isfinite(ref)
    np.testing.assert_allclose(y[fin], ref[fin], rtol=1e-12, atol=1e-300)


# ==========================================================================
# concurrency and fork
# ==========================================================================

_THREADS_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    import fastrelu, fastrelu.parallel
    names = ["relu", "gelu", "leaky_relu_grad", "silu", "elu_grad", "softplus"]
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(n).astype(dt) for n in (10, 5000, 200_003) for dt in (np.float32, np.float64)]
    ref = {(n, i): getattr(fastrelu, n)(*( (x,) if not n.endswith("_grad") else (x, x)))
           for n in names for i, x in enumerate(xs)}
    errors = []
    def work(seed):
        r = np.random.default_rng(seed)
        for _ in range(60):
            n = names[r.integers(len(names))]
            i = int(r.integers(len(xs)))
            m = (fastrelu, fastrelu.parallel)[r.integers(2)]
            x = xs[i]
            y = getattr(m, n)(*((x,) if not n.endswith("_grad") else (x, x)))
            if not np.array_equal(y, ref[(n, i)], equal_nan=True):
                errors.append((m.__name__, n, i))
    ts = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print("errors", errors)
    sys.exit(1 if errors else 0)
    """
)


def test_threads_on_both_targets_at_once():
    """Six threads mixing the cpu and parallel targets (run in a child: a threading-layer abort
    must fail this test, not kill the test session)."""
    r = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])


def _child(q):
    x = np.linspace(-3, 3, BIG)
    q.put(
        (
            np.array_equal(fastrelu.relu(x), np.maximum(x, 0)),
            np.array_equal(fastrelu.parallel.gelu(x), fastrelu.gelu(x)),
            np.array_equal(fastrelu.parallel.relu_grad(x, x), fastrelu.relu_grad(x, x)),
        )
    )


@pytest.mark.skipif(sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork")  # fmt: skip
def test_fork_after_use():
    x = np.linspace(-3, 3, BIG)
    fastrelu.parallel.gelu(x)  # start the threading layer in the parent
    fastrelu.relu(x)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with warnings.catch_warnings():
        # Python >= 3.12 warns that forking a multi-threaded process may deadlock: this test forks
        # deliberately to check that fastrelu (and its threading layer) survives it.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        p = ctx.Process(target=_child, args=(q,))
        p.start()
    try:
        res = q.get(timeout=120)
    finally:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()
    assert res == (True, True, True)
    assert p.exitcode == 0


# ==========================================================================
# Hypothesis (settings: the profile loaded by tests/conftest.py)
# ==========================================================================

_float_arrays = st.sampled_from(FLOATS).flatmap(
    lambda dt: hnp.arrays(
        dt,
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
        elements=st.floats(width=np.finfo(dt).bits, allow_nan=True, allow_infinity=True),
    )
)


@given(x=_float_arrays, name=st.sampled_from(NAMES), data=st.data())
def test_hypothesis_targets_agree_and_where_out(x, name, data):
    g = data.draw(hnp.arrays(x.dtype, x.shape, elements=st.floats(-4, 4, width=np.finfo(x.dtype).bits)))
    ref = _call(fastrelu, name, x, g)
    _same(_call(fastrelu.parallel, name, x, g), ref)
    m = data.draw(hnp.arrays(np.bool_, x.shape))
    out = np.full(x.shape, 3.0, x.dtype)
    _call(fastrelu.parallel, name, x, g, out=out, where=m)
    _same(out, np.where(m, ref, np.asarray(3.0, x.dtype)).astype(x.dtype))


@given(x=_float_arrays)
def test_hypothesis_relu_is_np_maximum(x):
    y = fastrelu.relu(x)
    want = np.maximum(x, x.dtype.type(0))
    # np.maximum(-0.0, 0) may keep the sign; relu(-0.0) is +0.0 (docs/semantics.md departure 1)
    want = np.where(want == 0, x.dtype.type(0), want)
    _same(y, want)
    assert not np.signbit(y[y == 0]).any()


# ==========================================================================
# more than 2**31 elements
# ==========================================================================


@pytest.mark.slow
def test_more_than_2_31_elements():
    """2.1 GB of int8 output (the machine has 24 GB: fine in an xdist worker too)."""
    n = 2**31 + 10
    x = np.broadcast_to(np.int8(-1), (n,))
    out = np.empty(n, np.int8)
    out[-5:] = 9
    for m in (fastrelu, fastrelu.parallel):
        out[-5:] = 9
        r = m.relu(x, out=out)
        assert r is out
        assert out[-5:].tolist() == [0] * 5 and out[:5].tolist() == [0] * 5
        assert not out[2**31 - 5 : 2**31 + 5].any()
    y = fastrelu.relu(np.broadcast_to(np.float32(-2.0), (n,))[2**31 :])  # offsets past 2**31
    assert y.tolist() == [0.0] * 10
    del out
