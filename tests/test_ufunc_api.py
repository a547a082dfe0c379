"""The NumPy-ufunc behaviour of the public objects, on every target."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import FLOAT_IDS, FLOATS, NAMES, ROWS, TARGETS, get, ids, params, target_name

import fastrelu
from fastrelu import _spec

INT_EXACT = [r for r in ROWS if r.int_exact]
NOT_INT_EXACT = [r for r in ROWS if not r.int_exact]


def test_broadcasting_and_out(target):
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    slope = np.array([0.1, 0.2, 0.3, 0.4])
    out = np.full((3, 4), 7.0)
    r = target.leaky_relu(x, slope, out=out)
    assert r is out
    np.testing.assert_array_equal(out, np.where(x > 0, x, x * slope))
    r2 = target.leaky_relu(x, slope, out)  # positional out
    assert r2 is out
    r3 = target.relu(x, out=(out,))
    assert r3 is out


def test_where_mask_leaves_out_untouched(target):
    x = np.linspace(-3, 3, 11)
    mask = x > -1
    out = np.full_like(x, 42.0)
    target.relu(x, out=out, where=mask)
    np.testing.assert_array_equal(out[mask], np.maximum(x[mask], 0))
    np.testing.assert_array_equal(out[~mask], 42.0)
    g = np.ones_like(x)
    out2 = np.full_like(x, -1.0)
    target.gelu_grad(x, g, out=out2, where=~mask)
    np.testing.assert_array_equal(out2[mask], -1.0)


def test_dtype_casting_order(target):
    x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    assert target.relu(x, dtype=np.float64).dtype == np.float64
    assert target.gelu(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError):  # float64 -> float32 is not 'safe'
        target.relu(x.astype(np.float64), dtype=np.float32, casting="safe")
    y = target.relu(x.astype(np.float64), dtype=np.float32, casting="same_kind")
    assert y.dtype == np.float32
    assert target.relu(x, order="F").flags.f_contiguous
    assert target.relu(x, order="C").flags.c_contiguous


def test_scalars(target):
    r = target.relu(-1.5)
    assert isinstance(r, np.float64) and r == 0.0
    r = target.relu(np.float32(2.5))
    assert isinstance(r, np.float32) and r == 2.5
    r = target.gelu(np.asarray(1.0, np.float32))
    assert isinstance(r, np.float32)  # 0-d in -> scalar out, as NumPy ufuncs
    assert target.relu(3) == 3 and isinstance(target.relu(3), np.integer)
    assert target.relu_grad(2.0, 3.0) == 3.0


def test_param_dtype_does_not_promote(target):
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    assert target.leaky_relu(x, 0.01).dtype == np.float32  # NEP 50 weak scalar
    assert target.leaky_relu(x, np.float64(0.01)).dtype == np.float32
    assert target.leaky_relu(x, np.array([0.01, 0.02, 0.03, 0.04, 0.05])).dtype == np.float32
    assert target.elu(x, alpha=np.float64(1.0)).dtype == np.float32
    assert target.leaky_relu_grad(x, np.ones_like(x), np.float64(0.2)).dtype == np.float32
    h = x.astype(np.float16)
    assert target.hardtanh(h, np.float64(-1), np.float64(1)).dtype == np.float16
    assert target.gelu(h).dtype == np.float16
    # the value uses the parameter cast to float32
    np.testing.assert_array_equal(
        target.leaky_relu(x, np.float64(0.1)), np.where(x > 0, x, x * np.float32(0.1))
    )


@pytest.mark.parametrize("dt", _spec.INT_DTYPES, ids=str)
@pytest.mark.parametrize("row", INT_EXACT, ids=ids(INT_EXACT))
def test_integer_inputs_exact(target, row, dt):
    x = np.array([0, 1, 5, 7, 100], dtype=dt)
    if dt.kind != "u":
        x = np.concatenate([x, -x]) if dt.kind == "i" else x
    p = tuple(int(v) for v in params(row))  # integer parameters keep the integer loop
    f = get(target, row.name)
    if row.name == "hardtanh" and dt.kind in "ub":
        if dt.kind == "u":
            with pytest.raises((TypeError, ValueError, OverflowError)):
                f(x, *p)
            p = (0, 1)
        else:
            p = (False, True)
    if row.name == "threshold" and dt.kind in "ub":
        p = (1, 0) if dt.kind == "u" else (False, False)
    y = f(x, *p)
    assert y.dtype == dt
    want = row.ref(x.astype(np.float64), *[float(v) for v in p])
    np.testing.assert_array_equal(y, want.astype(dt))


_NP_EXP_RESOLUTION = {
    np.bool_: np.float16,
    np.int8: np.float16,
    np.uint8: np.float16,
    np.int16: np.float32,
    np.int32: np.float64,
    np.int64: np.float64,
}


NO_PARAMS = [r for r in NOT_INT_EXACT if not r.params]
WITH_PARAMS = [r for r in NOT_INT_EXACT if r.params]


@pytest.mark.parametrize("dt", list(_NP_EXP_RESOLUTION), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("row", NO_PARAMS, ids=ids(NO_PARAMS))
def test_integer_inputs_follow_np_exp(target, row, dt):
    x = np.array([0, 1, 3], dtype=dt)
    y = get(target, row.name)(x, *params(row))
    assert y.dtype == _NP_EXP_RESOLUTION[dt] == np.exp(x).dtype
    np.testing.assert_array_equal(y, get(target, row.name)(x.astype(y.dtype), *params(row)))


def test_integer_inputs_with_params_follow_np_exp(target):
    """The default (Python float) parameters are weak: np.exp's table still holds."""
    wrong = []
    for row in WITH_PARAMS:
        for dt, want in _NP_EXP_RESOLUTION.items():
            y = get(target, row.name)(np.array([0, 1, 3], dtype=dt), *params(row))
            if y.dtype != want:
                wrong.append(f"{row.name}({np.dtype(dt).name}) -> {y.dtype}, want {np.dtype(want).name}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    "bad",
    [
        np.array([1 + 2j]),
        np.array([1.0], dtype=object),
        np.array(["a"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "f8"), ("b", "f8")]),
    ],
    ids=["complex", "object", "str", "datetime", "structured"],
)
@pytest.mark.parametrize("name", ["relu", "gelu", "leaky_relu", "relu_grad"])
def test_unsupported_dtypes(target, name, bad):
    row, kind = _spec.resolve(name)
    args = (bad,) if kind == "forward" else (bad, bad)
    with pytest.raises(TypeError, match="float32"):
        get(target, name)(*args, *params(row, kind))


def test_nothing_written_to_out_on_error(target):
    x = np.linspace(-1, 1, 4)
    cases = [
        (lambda o: target.relu(x, out=o), np.full(5, 9.0)),  # wrong shape
        (lambda o: target.relu(x, out=o, casting="safe"), np.full(4, 9, np.float32)),  # bad cast
        (lambda o: target.hardtanh(x, 2.0, 1.0, out=o), np.full(4, 9.0)),  # min > max
        (lambda o: target.celu(x, 0.0, out=o), np.full(4, 9.0)),
        (lambda o: target.softplus(x, beta=0.0, out=o), np.full(4, 9.0)),
        (lambda o: target.prelu(np.ones((2, 3)), np.ones(4), out=o), np.full((2, 3), 9.0)),
        (lambda o: target.relu(np.array([1j, 2j]), out=o), np.full(2, 9.0)),
    ]
    for call, out in cases:
        before = out.copy()
        with pytest.raises((ValueError, TypeError)):
            call(out)
        np.testing.assert_array_equal(out, before)
    ro = np.full(4, 9.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        target.relu(x, out=ro)
    np.testing.assert_array_equal(ro, 9.0)


def test_parameter_arrays_broadcast(target):
    x = np.linspace(-2, 2, 5).reshape(5, 1)
    lo = np.array([[-1.0, -0.5, 0.0]])
    hi = np.array([[1.0], [1.0], [0.5], [0.5], [2.0]])
    y = target.hardtanh(x, lo, hi)
    assert y.shape == (5, 3)
    np.testing.assert_array_equal(y, np.minimum(np.maximum(x, lo), hi))
    a = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(
        target.elu(x, a), np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))), rtol=1e-15
    )


def test_prelu_channel_axis(target):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 3))  # C == W == 3: only axis 1 is right
    w = np.array([0.1, 0.2, 0.3])
    y = target.prelu(x, w)
    wb = w.reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(y, np.where(x > 0, x, wb * x))
    assert not np.array_equal(y, np.where(x > 0, x, w * x))
    np.testing.assert_array_equal(target.prelu(x, 0.25), np.where(x > 0, x, 0.25 * x))
    np.testing.assert_array_equal(target.prelu(x, np.array([0.25])), np.where(x > 0, x, 0.25 * x))
    np.testing.assert_array_equal(target.prelu(x, np.float64(0.25)), np.where(x > 0, x, 0.25 * x))
    d = target.prelu_grad(x, np.ones_like(x), w)
    np.testing.assert_array_equal(d, np.where(x > 0, 1.0, np.broadcast_to(wb, x.shape)))
    for bad in (np.ones(2), np.ones(4), np.ones((3, 1))):
        with pytest.raises(ValueError):
            target.prelu(x, bad)
    x1 = np.linspace(-1, 1, 5)  # < 2 dims: C = 1
    np.testing.assert_array_equal(target.prelu(x1, np.array([0.5])), np.where(x1 > 0, x1, 0.5 * x1))
    with pytest.raises(ValueError):
        target.prelu(x1, np.ones(5))


def test_prelu_axis_keyword(target):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 3))
    w = np.array([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(target.prelu(x, w, axis=3), np.where(x > 0, x, w * x))
    np.testing.assert_array_equal(target.prelu(x, w, axis=-1), np.where(x > 0, x, w * x))
    np.testing.assert_array_equal(target.prelu(x, w, axis=1), target.prelu(x, w))


def test_parameter_errors(target):
    x = np.linspace(-1, 1, 3)
    with pytest.raises(ValueError):
        target.hardtanh(x, min_val=1.0, max_val=-1.0)
    with pytest.raises(ValueError):
        target.celu(x, alpha=0.0)
    with pytest.raises(ValueError):
        target.softplus(x, beta=0)
    with pytest.raises(TypeError):
        target.threshold(x)  # required params
    with pytest.raises(TypeError):
        target.relu(x, bogus=1)
    with pytest.raises(ValueError):
        target.gelu(x, approximate="sigmoid")


def test_gelu_approximate_routes_to_tanh(target):
    x = np.linspace(-4, 4, 33)
    np.testing.assert_array_equal(target.gelu(x, approximate="tanh"), target.gelu_tanh(x))
    np.testing.assert_array_equal(target.gelu(x, approximate="none"), target.gelu(x))
    assert np.abs(target.gelu(x) - target.gelu_tanh(x)).max() > 1e-4  # different variants


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "gelu", "hardtanh"])
def test_out_overlapping_input(target, name):
    row, _ = _spec.resolve(name)
    p = params(row)
    f = get(target, name)
    base = np.linspace(-3, 3, 101)
    x = base.copy()
    r = f(x, *p, out=x)  # in place
    assert r is x
    np.testing.assert_array_equal(x, f(base, *p))
    for shift in (1, -1):
        buf = base.copy()
        src = buf[1:] if shift == 1 else buf[:-1]
        dst = buf[:-1] if shift == 1 else buf[1:]
        want = f(src.copy(), *p)
        f(src, *p, out=dst)
        np.testing.assert_array_equal(dst, want)


def test_dask_stays_lazy(target):
    import dask.array as da

    x = np.linspace(-3, 3, 100)
    d = da.from_array(x, chunks=30)
    y = target.gelu(d)
    assert isinstance(y, da.Array)
    np.testing.assert_array_equal(y.compute(), target.gelu(x))
    s = da.from_array(np.full(100, 0.2), chunks=30)
    y2 = target.leaky_relu(d, s)
    assert isinstance(y2, da.Array)
    np.testing.assert_array_equal(y2.compute(), target.leaky_relu(x, 0.2))
    y3 = target.leaky_relu(x, s)  # dask parameter
    assert isinstance(y3, da.Array)
    np.testing.assert_array_equal(y3.compute(), target.leaky_relu(x, 0.2))
    g = target.relu_grad(d, da.ones_like(d))
    assert isinstance(g, da.Array)
    np.testing.assert_array_equal(g.compute(), (x > 0).astype(float))


def test_xarray_keeps_coords_and_attrs(target):
    import xarray as xr

    a = xr.DataArray(np.linspace(-1, 1, 5), dims="t", coords={"t": np.arange(5)}, attrs={"units": "V"})
    y = target.relu(a)
    assert isinstance(y, xr.DataArray)
    np.testing.assert_array_equal(y.coords["t"], a.coords["t"])
    assert y.attrs == {"units": "V"}
    np.testing.assert_array_equal(y.values, np.maximum(a.values, 0))


@pytest.mark.parametrize("name", NAMES)
def test_repr_doc_pickle(target, name):
    obj = get(target, name)
    tname = target_name(target)
    assert repr(obj) == f"<fastrelu ufunc {name} [{tname}]>"
    assert obj.__doc__ and name.split("_grad")[0] in obj.__doc__
    assert obj.__name__ == name
    assert pickle.loads(pickle.dumps(obj)) is obj
    assert pickle.loads(pickle.dumps(obj.ufunc)) is obj.ufunc
    assert isinstance(obj.ufunc, np.ufunc)
    row, kind = _spec.resolve(name)
    assert obj.nin == (1 if kind == "forward" else 2) + len(params(row, kind))


def test_targets_expose_every_public_name():
    import importlib

    for mod in TARGETS.values():
        m = importlib.import_module(mod)
        for n in NAMES:
            assert hasattr(m, n), (mod, n)


def test_all_matches_table():
    extras = ["Ufunc", "precompile", "show_config", "__version__"]
    assert list(fastrelu.__all__) == _spec.public_names() + extras
    assert len(set(fastrelu.__all__)) == len(fastrelu.__all__)


def test_import_compiles_nothing():
    code = (
        "import sys, fastrelu, fastrelu._loops as L; "
        "assert L.built() == [], L.built(); "
        "assert not [m for m in sys.modules if m.startswith('numba.cuda')]; "
        "fastrelu.relu; assert L.built() == []; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_float_in_same_float_out(target, dtype):
    x = np.linspace(-1, 1, 5, dtype=dtype)
    for row in ROWS:
        assert get(target, row.name)(x, *params(row)).dtype == dtype
