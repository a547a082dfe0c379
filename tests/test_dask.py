"""fastrelu on dask arrays: lazy, chunk-wise, picklable by reference, and cached on workers."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest

import fastrelu
import fastrelu.parallel
from fastrelu._spec import TABLE


def _no_compute(dsk, keys, **kwargs):  # a dask scheduler that refuses to run anything
    raise AssertionError("dask graph was computed eagerly")


@pytest.fixture
def lazy_only():
    with dask.config.set(scheduler=_no_compute):
        yield


def _x(n=1001, chunks=100, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    xn = (rng.standard_normal(n) * 4).astype(dtype)
    xn[::97] = 0
    return xn, da.from_array(xn, chunks=chunks)


def _params(row):
    return [row.test_params.get(p.name, p.default) for p in row.params]


@pytest.mark.parametrize("module", [fastrelu, fastrelu.parallel], ids=["cpu", "parallel"])
@pytest.mark.parametrize("row", TABLE, ids=[r.name for r in TABLE])
def test_forward_and_grad_stay_lazy_and_match_numpy(module, row):
    xn, xd = _x()
    gn = np.linspace(-1, 1, xn.size, dtype=xn.dtype)
    gd = da.from_array(gn, chunks=250)  # other chunks: dask aligns them
    f = getattr(module, row.name)
    fg = getattr(module, row.name + "_grad")
    params = _params(row)
    gparams = [row.test_params.get(p.name, p.default) for p in row.grad_param_list]
    with dask.config.set(scheduler=_no_compute):
        y = f(xd, *params)
        dy = fg(xd, gd, *gparams)
    assert isinstance(y, da.Array) and isinstance(dy, da.Array)
    assert y.dtype == xn.dtype and dy.dtype == xn.dtype
    assert y.chunks == xd.chunks
    with dask.config.set(scheduler="threads"):
        yc, dyc = dask.compute(y, dy)
    np.testing.assert_array_equal(yc, f(xn, *params))
    np.testing.assert_array_equal(dyc, fg(xn, gn, *gparams))


def test_relu_lazy_graph_and_threaded_compute(lazy_only):
    xn, xd = _x(10_000, chunks=1000, dtype=np.float64)
    y = fastrelu.relu(xd)
    assert isinstance(y, da.Array)
    assert y.numblocks == xd.numblocks
    # one task per block: the ufunc is applied blockwise, nothing is rechunked
    assert not any("rechunk" in str(k) for k in dict(y.__dask_graph__()))
    with dask.config.set(scheduler="threads"):
        out = y.compute()
    np.testing.assert_array_equal(out, np.maximum(xn, 0))
    assert out.dtype == np.float64


def test_where_out_kwargs_on_dask(lazy_only):
    xn, xd = _x(500, chunks=64)
    y = fastrelu.leaky_relu(xd, 0.5, dtype=np.float64)
    assert y.dtype == np.float64
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(y.compute(), fastrelu.leaky_relu(xn, 0.5, dtype=np.float64))


def test_per_element_slopes_chunk_with_the_data(lazy_only):
    xn, xd = _x(2000, chunks=300)
    slopes_n = np.linspace(0.01, 0.3, xn.size)  # float64: cast to x's float32
    slopes_d = da.from_array(slopes_n, chunks=300)
    y = fastrelu.leaky_relu(xd, slopes_d)
    assert y.chunks == xd.chunks
    assert y.dtype == np.float32
    assert not any("rechunk" in str(k) for k in dict(y.__dask_graph__()))
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(y.compute(), fastrelu.leaky_relu(xn, slopes_n))
        dx = fastrelu.leaky_relu_grad(xd, da.ones_like(xd), slopes_d).compute()
    np.testing.assert_array_equal(dx, fastrelu.leaky_relu_grad(xn, np.ones_like(xn), slopes_n))


def test_prelu_dask_weight_chunks_along_channels(lazy_only):
    rng = np.random.default_rng(1)
    xn = rng.standard_normal((6, 8, 5, 5)).astype(np.float32)
    wn = np.linspace(0.05, 0.4, 8, dtype=np.float32)
    xd = da.from_array(xn, chunks=(3, 4, 5, 5))
    wd = da.from_array(wn, chunks=4)
    for w in (wd, wn):
        y = fastrelu.prelu(xd, w)
        assert y.chunks == xd.chunks
        # one prelu task per block of x; only the small weight may be split to x's channel chunks
        keys = [k for k in dict(y.__dask_graph__()) if isinstance(k, tuple) and k[0] == y.name]
        assert len(keys) == xd.npartitions
        with dask.config.set(scheduler="threads"):
            np.testing.assert_array_equal(y.compute(), fastrelu.prelu(xn, wn))


def test_prelu_dask_channel_last():
    rng = np.random.default_rng(1)
    xn = rng.standard_normal((6, 8, 5, 5)).astype(np.float32)
    wn = np.linspace(0.05, 0.4, 8, dtype=np.float32)
    wd = da.from_array(wn, chunks=4)
    xt = np.moveaxis(xn, 1, -1)
    yd = fastrelu.prelu(da.from_array(xt, chunks=(3, 5, 5, 4)), wd, axis=-1)
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(yd.compute(), np.moveaxis(fastrelu.prelu(xn, wn), 1, -1))


def test_dask_parameter_check_does_not_compute():
    """Checking array parameters (hardtanh's min_val <= max_val) must not compute a dask graph."""
    calls = []

    def counting(dsk, keys, **kwargs):
        calls.append(keys)
        return dask.get(dsk, keys, **kwargs)

    _, xd = _x(100, chunks=10)
    lo = da.full(100, -1.0, chunks=10, dtype=np.float32)
    with dask.config.set(scheduler=counting):
        y = fastrelu.hardtanh(xd, lo, 1.0)
        assert calls == [], "the parameter check computed the dask parameter"
        y.compute()
    assert calls


@pytest.mark.parametrize("obj", [fastrelu.relu, fastrelu.gelu_grad, fastrelu.parallel.relu])
def test_pickles_by_reference(obj):
    for dumps in (pickle.dumps, cloudpickle.dumps):
        for o in (obj, obj.ufunc):
            b = dumps(o)
            assert len(b) < 200, (o, len(b))
            assert b"fastrelu" in b
            assert pickle.loads(b) is o
    assert obj.__module__ in pickle.dumps(obj).decode("latin-1")


# --------------------------------------------------------------------------
# dask.distributed: processes, >= 1e8 elements, on-disk cache reuse
# --------------------------------------------------------------------------


def _first_call_seconds():
    """Run on a fresh worker: time the first relu call (build or cache load)."""
    import numba

    import fastrelu as fr
    from fastrelu import _loops

    before = _loops.built()
    t = time.perf_counter()
    fr.relu(np.ones(4, np.float32))
    fr.relu(np.ones(4, np.int64))  # each dtype's loop is compiled on its first call: the test's two
    return {
        "seconds": time.perf_counter() - t,
        "built_before": before,
        "cache_dir": numba.config.CACHE_DIR,
        "pid": os.getpid(),
    }


def _worker_state():
    import numba

    from fastrelu import _loops

    return {"built": _loops.built(), "cache_dir": numba.config.CACHE_DIR}


def _cache_files(d: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(d)): (p.stat().st_mtime_ns, p.stat().st_size) for p in d.rglob("*") if p.is_file()
    }


def _cluster(cache_dir: Path):
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"NUMBA_CACHE_DIR": str(cache_dir)},
    )


def _first_call_on(client, worker):
    return client.submit(_first_call_seconds, workers=[worker], pure=False).result()


@pytest.mark.slow
def test_distributed_processes_1e8_and_cache_reuse(tmp_path):
    """Two worker processes share ``NUMBA_CACHE_DIR``: the first compiles and fills the
    cache, the second loads from it (fast, writing nothing); then >= 1e8 elements in chunks.
    """
    import distributed

    cache_dir = tmp_path / "numba-cache"
    cache_dir.mkdir()
    n = 100_000_000
    chunks = 12_500_000
    with _cluster(cache_dir) as cluster, distributed.Client(cluster) as client:
        w1, w2 = sorted(client.scheduler_info()["workers"])
        cold = _first_call_on(client, w1)
        assert cold["built_before"] == [] and cold["cache_dir"] == str(cache_dir), cold
        files = _cache_files(cache_dir)
        assert any(f.endswith(".nbi") for f in files) and any(f.endswith(".nbc") for f in files), files
        warm = _first_call_on(client, w2)
        assert warm["pid"] != cold["pid"]
        assert warm["built_before"] == [] and warm["cache_dir"] == str(cache_dir), warm
        # the second process compiled nothing: the cache is untouched, and its first call is fast
        assert _cache_files(cache_dir) == files
        assert warm["seconds"] < cold["seconds"] / 2, (cold, warm)

        # >= 1e8 elements in 8 chunks over both processes; the graph holds the ufuncs by
        # reference (fastrelu._loops.relu), each worker rebuilds them from the cache
        xi = da.arange(-(n // 2), n - n // 2, chunks=chunks, dtype=np.int64)
        assert xi.size >= 1e8 and xi.numblocks == (8,)
        y = fastrelu.relu(xi)  # integer-exact loop: the sum is exact
        s, c = dask.compute(y.sum(), (y > 0).sum())
        m = n - n // 2 - 1  # largest element
        assert s == m * (m + 1) // 2
        assert c == m
        states = client.run(_worker_state)
        assert all("relu" in st["built"] for st in states.values()), states
    assert _cache_files(cache_dir) == files
