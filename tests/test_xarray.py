"""fastrelu on xarray objects: coords kept, attrs as NumPy ufuncs under xarray's keep_attrs
rules, and ``xr.apply_ufunc(..., dask="parallelized")``."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import fastrelu
import fastrelu.parallel


def _da(dtype=np.float32, chunks=None):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((4, 6)) * 3).astype(dtype)
    a = xr.DataArray(
        data,
        dims=("time", "unit"),
        coords={"time": np.arange(4), "unit": list("abcdef"), "label": ("unit", list("uvwxyz"))},
        attrs={"units": "V", "long_name": "pre-activation"},
        name="z",
    )
    return a.chunk(chunks) if chunks else a


@pytest.mark.parametrize("module", [fastrelu, fastrelu.parallel], ids=["cpu", "parallel"])
@pytest.mark.parametrize("keep_attrs", ["default", True, False])
def test_dataarray_like_a_numpy_ufunc(module, keep_attrs):
    a = _da()
    opts = {} if keep_attrs == "default" else {"keep_attrs": keep_attrs}
    with xr.set_options(**opts):
        y = module.relu(a)
        ref = np.exp(a)  # what xarray does for any NumPy ufunc under the same options
    assert isinstance(y, xr.DataArray)
    assert y.dims == a.dims and y.name == ref.name
    xr.testing.assert_identical(y.coords.to_dataset(), a.coords.to_dataset())
    assert y.attrs == ref.attrs
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.values, np.maximum(a.values, 0))


def test_default_keep_attrs_is_what_xarray_does():
    # record xarray's current default explicitly (it changed over versions)
    a = _da()
    assert fastrelu.relu(a).attrs == np.sqrt(abs(a)).attrs


def test_dataarray_parameter_aligns_and_casts():
    a = _da()
    slope = xr.DataArray(np.linspace(0.0, 0.5, 6), dims="unit", coords={"unit": list("abcdef")})
    y = fastrelu.leaky_relu(a, slope)
    assert isinstance(y, xr.DataArray)
    assert y.dtype == np.float32  # float64 slope cast to x's dtype
    expect = np.where(a.values > 0, a.values, slope.values.astype(np.float32) * a.values)
    np.testing.assert_array_equal(y.transpose("time", "unit").values, expect)


def test_grad_on_dataarrays():
    a = _da(np.float64)
    g = xr.ones_like(a)
    d = fastrelu.relu_grad(a, g)
    assert isinstance(d, xr.DataArray) and d.dims == a.dims
    np.testing.assert_array_equal(d.values, (a.values > 0).astype(np.float64))


def test_dataset_variables():
    ds = xr.Dataset({"a": _da(), "b": _da(np.float64) * 2})
    out = fastrelu.relu(ds)
    assert isinstance(out, xr.Dataset)
    assert out["a"].dtype == np.float32 and out["b"].dtype == np.float64
    np.testing.assert_array_equal(out["b"].values, np.maximum(ds["b"].values, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_ufunc_dask_parallelized(dtype):
    a = _da(dtype, chunks={"time": 2, "unit": 3})
    y = xr.apply_ufunc(fastrelu.gelu, a, dask="parallelized", output_dtypes=[dtype], keep_attrs=True)
    assert y.chunks == a.chunks  # still lazy, same chunks
    assert y.attrs == a.attrs
    out = y.compute()
    np.testing.assert_array_equal(out.values, fastrelu.gelu(a.values))
    assert out.dtype == dtype
    # parameters through kwargs, as apply_ufunc users pass them
    z = xr.apply_ufunc(
        fastrelu.gelu, a, kwargs={"approximate": "tanh"}, dask="parallelized", output_dtypes=[dtype]
    ).compute()
    np.testing.assert_array_equal(z.values, fastrelu.gelu_tanh(a.values))


def test_dask_backed_dataarray_stays_lazy():
    a = _da(chunks={"time": 2})
    y = fastrelu.silu(a)
    assert y.chunks == a.chunks
    np.testing.assert_array_equal(y.compute().values, fastrelu.silu(a.values))
