"""The parallel CPU target: dispatch, bit-identity with the cpu target, threads, fork.

The shared suite re-runs every functional test on ``fastrelu.parallel`` with
small arrays (the serial ufunc path); the tests here lower the cut-over
(:data:`fastrelu._parallel.CUTOVER`) so that the prange path runs, check that
it did, and compare bit for bit with the cpu target.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import threading
import warnings

import numba
import numpy as np
import pytest

import fastrelu
from fastrelu import _build, _parallel, _spec
from fastrelu import parallel as P

CUT = 2048  # lowered cut-over used by most tests


@pytest.fixture
def low_cut(monkeypatch):
    """Lower the cut-over and count prange launches."""
    for fam in list(_parallel.CUTOVER):
        monkeypatch.setitem(_parallel.CUTOVER, fam, CUT)
    calls = []
    real = _parallel.prange_loop

    def spy(kernel, nin, half, stream=False):
        calls.append((kernel.__name__, nin, half, stream))
        return real(kernel, nin, half, stream)

    monkeypatch.setattr(_parallel, "prange_loop", spy)
    return calls


def _bits(a):
    a = np.asarray(a)
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "f" else a


def assert_same(got, want):
    assert type(got) is type(want)
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))


def _data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 5).astype(dtype)
    x[::97] = np.nan
    x[1::101] = np.inf
    x[2::103] = -np.inf
    x[3::89] = 0
    x[4::83] = -0.0
    x[5::79] = 6  # relu6 / hardtanh kinks
    x[6::73] = 1
    return x


def _params(name):
    spec, kind = _spec.resolve(name)
    d = spec.defaults()
    if kind != "forward":
        keep = {p.name for p in spec.grad_param_list}
        d = {k: v for k, v in d.items() if k in keep}
    return d


def _operands(name, n, dtype, seed=0):
    kind = _spec.resolve(name)[1]
    x = _data(n, dtype, seed)
    if kind == "forward":
        return (x,)
    g = np.random.default_rng(seed + 1).standard_normal(n).astype(dtype)
    g[::67] = np.nan
    if kind == "grad_from_output":
        x = fastrelu.relu(x)  # a plausible saved output
    return (x, g)


# --------------------------------------------------------------------------
# the namespace
# --------------------------------------------------------------------------


def test_every_public_name():
    names = _spec.public_names()
    assert [n for n in P.__all__ if n in names] == names
    for n in names:
        obj = getattr(P, n)
        assert isinstance(obj, _parallel.ParallelUfunc)
        assert repr(obj) == f"<fastrelu ufunc {n} [parallel]>"
        assert obj.__module__ == "fastrelu.parallel"
        assert obj.nin == getattr(fastrelu, n).nin
        assert obj.__doc__


def test_threading_info():
    info = P.threading_info()
    assert info["threading_layer"] == numba.threading_layer()
    assert info["threading_layer"] in ("tbb", "omp", "workqueue")
    assert info["num_threads"] == numba.get_num_threads()
    assert info["parallel_launches_serialized"] == (info["threading_layer"] == "workqueue")
    cfg = fastrelu._config.config()
    assert cfg["threading_layer"] == info["threading_layer"]


# --------------------------------------------------------------------------
# bit-identity on the prange path
# --------------------------------------------------------------------------

# one name per arity (1-4 operands), both families, every grad kind
SAMPLE = [
    ("relu", np.float32),
    ("relu", np.float64),
    ("relu", np.float16),
    ("leaky_relu", np.float32),
    ("threshold", np.float64),
    ("hardtanh_grad", np.float32),
    ("elu_grad_from_output", np.float64),
    ("squareplus", np.float32),
    ("threshold_grad", np.float16),
]


@pytest.mark.parametrize(("name", "dtype"), SAMPLE, ids=[f"{n}-{np.dtype(d).name}" for n, d in SAMPLE])
@pytest.mark.parametrize("n", [3 * CUT + 17, 3 * _parallel.CHUNK + 17], ids=["one-chunk", "chunks+tail"])
def test_bit_identical(low_cut, name, dtype, n):
    args = _operands(name, n, dtype)
    kw = _params(name)
    want = getattr(fastrelu, name)(*args, **kw)
    got = getattr(P, name)(*args, **kw)
    assert low_cut, "prange path not taken"
    assert_same(got, want)
    # out= is written in place and returned
    out = np.full_like(want, 7)
    r = getattr(P, name)(*args, out=out, **kw)
    assert r is out
    assert_same(out, want)
    out2 = np.full_like(want, 7)
    assert getattr(P, name)(*args, out=(out2,), **kw) is out2
    assert_same(out2, want)


STREAM_SAMPLE = [
    ("relu", np.float32),
    ("relu6", np.float64),
    ("leaky_relu", np.float16),
    ("relu_grad", np.float64),
    ("hardtanh_grad", np.float32),
    ("threshold", np.float32),
    ("prelu_grad", np.float64),
]


@pytest.mark.skipif(not _build.STREAM_OK, reason="non-temporal stores are used on x86-64 only")
@pytest.mark.parametrize(
    ("name", "dtype"), STREAM_SAMPLE, ids=[f"{n}-{np.dtype(d).name}" for n, d in STREAM_SAMPLE]
)
def test_streamed_output_bit_identical(low_cut, monkeypatch, name, dtype):
    """Large outputs are written with non-temporal stores: every alignment of
    the output (the elements before the first 32-byte aligned one are written
    first), chunks and a tail of every length modulo the vector width; fresh,
    given and in-place out."""
    monkeypatch.setattr(_parallel, "STREAM_MIN_BYTES", 0)
    n = 2 * _parallel.CHUNK + 3 * 1024 + 29
    args = _operands(name, n + 40, dtype)
    kw = _params(name)
    for off in range(0, 40, 3):  # output start offsets 0..39 elements: every alignment
        a = tuple(v[off : off + n] for v in args)
        want = getattr(fastrelu, name)(*a, **kw)
        buf = np.full(n + 80, 7, dtype)
        out = buf[off : off + n]
        assert _build.stream_start(out) == ((-out.ctypes.data) % 32) // out.itemsize
        assert getattr(P, name)(*a, out=out, **kw) is out
        assert_same(out, want)
        # nothing written outside out
        assert_same(buf[:off], np.full(off, 7, dtype))
        assert_same(buf[off + n :], np.full(80 - off, 7, dtype))
    want = getattr(fastrelu, name)(*args, **kw)
    assert_same(getattr(P, name)(*args, **kw), want)
    assert low_cut and all(c[3] for c in low_cut)
    ins = [v.copy() for v in args]  # in place over the last operand (x or g): not streamed
    assert getattr(P, name)(*ins, out=ins[-1], **kw) is ins[-1]
    assert_same(ins[-1], want)
    assert low_cut[-1][3] is False


def test_streaming_threshold(low_cut, monkeypatch):
    """Outputs below STREAM_MIN_BYTES are stored normally, smooth functions
    never stream; the threshold is reported."""
    x = _data(4 * CUT, np.float32)
    P.relu(x)
    assert low_cut[-1][3] is False
    default = _parallel.STREAM_MIN_BYTES
    monkeypatch.setattr(_parallel, "STREAM_MIN_BYTES", 0)
    assert_same(P.silu(x), fastrelu.silu(x))
    assert low_cut[-1] == ("silu", 1, False, False)
    monkeypatch.setattr(_parallel, "STREAM_MIN_BYTES", default)
    info = P.threading_info()
    assert info["stream_min_bytes"] == (_parallel.STREAM_MIN_BYTES if _build.STREAM_OK else None)
    assert _parallel.STREAM_MIN_BYTES > x.nbytes
    if _build.STREAM_OK:
        monkeypatch.setattr(_parallel, "STREAM_MIN_BYTES", x.nbytes)
        assert_same(P.relu(x), fastrelu.relu(x))
        assert low_cut[-1][3] is True


def test_positional_params_and_scalar_kinds(low_cut):
    x = _data(4 * CUT, np.float32)
    want = fastrelu.hardtanh(x, -0.5, 2.0)
    for lo, hi in [(-0.5, 2.0), (np.float32(-0.5), np.float32(2.0)), (np.array(-0.5), np.array(2.0))]:
        assert_same(P.hardtanh(x, lo, hi), want)
        assert_same(P.hardtanh(x, min_val=lo, max_val=hi), want)
    # a float64 scalar slope must not promote float32 data
    assert_same(P.leaky_relu(x, np.float64(0.1)), fastrelu.leaky_relu(x, np.float64(0.1)))
    assert_same(P.threshold(x, 1, 3), fastrelu.threshold(x, 1, 3))
    assert len(low_cut) >= 8


def test_in_place_and_overlap(low_cut):
    x = _data(4 * CUT, np.float64)
    want = fastrelu.relu(x)
    y = x.copy()
    assert P.relu(y, out=y) is y
    assert_same(y, want)
    assert low_cut
    # partial overlap: NumPy semantics (as if the input were copied first)
    a = x.copy()
    b = x.copy()
    fastrelu.leaky_relu(b[:-1], out=b[1:])
    P.leaky_relu(a[:-1], out=a[1:])
    assert_same(a, b)
    # gradient written over g
    g = np.random.default_rng(3).standard_normal(x.size)
    want = fastrelu.relu_grad(x, g)
    assert P.relu_grad(x, g, out=g) is g
    assert_same(g, want)


@pytest.mark.parametrize("order", ["C", "F"])
def test_layouts(low_cut, order):
    x = np.asarray(_data(64 * 97, np.float32).reshape(64, 97), order=order)
    g = np.asarray(np.random.default_rng(2).standard_normal((64, 97)).astype(np.float32), order=order)
    r = P.relu6_grad(x, g)
    assert_same(r, fastrelu.relu6_grad(x, g))
    assert r.flags.f_contiguous == (order == "F")
    assert low_cut
    o = np.empty((64, 97), np.float32, order=order)
    assert P.relu6(x, out=o) is o
    assert_same(o, fastrelu.relu6(x))


def test_fallbacks_match_cpu(low_cut):
    """Everything the prange loop does not take still behaves as the cpu target."""
    n = 4 * CUT
    x = _data(n, np.float32)
    x2 = _data(2 * n, np.float32).reshape(2, n)
    mask = np.arange(n) % 3 == 0
    cases = [
        ("relu", (x[::2],), {}),  # strided
        ("relu", (x2,), {"out": np.empty((2, n), np.float32, order="F")}),  # mixed layout
        ("relu", (x,), {"out": np.empty((2, n), np.float32)}),  # broadcast to out
        ("relu", (x,), {"where": mask, "out": np.zeros(n, np.float32)}),
        ("relu", (x,), {"dtype": np.float64}),
        ("relu", (x,), {"casting": "unsafe", "dtype": np.float16}),
        ("relu", (x.astype(">f4"),), {}),  # byte-swapped
        ("relu", (np.arange(-n, n, dtype=np.int32),), {}),  # integers keep their dtype
        ("relu", (np.arange(-n, n, dtype=np.int16),), {}),
        ("relu_grad", (x2, x[None, :]), {}),  # broadcasting g
        ("leaky_relu", (x, np.full(n, 0.1, np.float32)), {}),  # array parameter
        ("leaky_relu", (x, 0.01), {"out": np.empty(n, np.float64)}),  # out of another dtype
        ("leaky_relu", (x, 1e300), {}),  # overflows float32: NumPy decides
    ]
    for name, args, kw in cases:
        kw_c = {k: (v.copy(order="K") if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # casting overflow
            want = getattr(fastrelu, name)(*args, **kw_c)
            got = getattr(P, name)(*args, **kw)
        assert_same(got, want)
    assert low_cut == []
    # scalars and 0-d arrays
    assert_same(P.relu(np.float32(-2)), fastrelu.relu(np.float32(-2)))
    assert_same(P.gelu(1.5), fastrelu.gelu(1.5))
    # read-only input takes the prange path
    ro = x.copy()
    ro.flags.writeable = False
    assert_same(P.relu(ro), fastrelu.relu(ro))
    # errors are the cpu target's
    with pytest.raises(TypeError, match="supported dtypes"):
        P.gelu(np.zeros(n, np.complex64))
    with pytest.raises(ValueError, match="hardtanh"):
        P.hardtanh(x, 1.0, -1.0)


def test_nan_input_no_warning_no_stale_flags(low_cut):
    x = np.full(4 * CUT, np.nan, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = P.relu(x)
        assert np.isnan(r).all()
        P.hardtanh_grad(x, x)
        with np.errstate(all="raise"):
            np.add(np.ones(10), np.ones(10))
    assert low_cut


def test_duck_arrays(low_cut):
    import dask.array as da

    x = _data(8 * CUT, np.float32)
    d = da.from_array(x, chunks=3 * CUT)
    r = P.leaky_relu(d, 0.2)
    assert isinstance(r, da.Array)
    assert_same(r.compute(scheduler="sync"), fastrelu.leaky_relu(x, 0.2))
    import xarray as xr

    xa = xr.DataArray(x, dims="t")
    rx = P.relu(xa)
    assert isinstance(rx, xr.DataArray)
    assert_same(rx.values, fastrelu.relu(x))


def test_dask_threaded_map_blocks(low_cut):
    import dask.array as da

    x = _data(40 * CUT, np.float64)
    g = np.random.default_rng(5).standard_normal(x.size)
    dx = da.from_array(x, chunks=4 * CUT + 3)
    dg = da.from_array(g, chunks=4 * CUT + 3)
    r = da.map_blocks(P.hardtanh_grad, dx, dg, -2.0, 2.0, dtype=x.dtype)
    got = r.compute(scheduler="threads", num_workers=4)
    assert_same(got, fastrelu.hardtanh_grad(x, g, -2.0, 2.0))
    assert len(low_cut) >= 10


# --------------------------------------------------------------------------
# many Python threads at once
# --------------------------------------------------------------------------


def test_many_python_threads(monkeypatch):
    monkeypatch.setitem(_parallel.CUTOVER, "piecewise", CUT)
    sizes = [1, 10, 500, CUT - 1, CUT, 3 * CUT + 1, 20 * CUT]
    jobs = []
    for i, n in enumerate(sizes):
        for name in ("relu", "leaky_relu", "relu_grad", "hardtanh"):
            args = _operands(name, n, np.float32 if i % 2 else np.float64, seed=i)
            jobs.append((name, args, getattr(fastrelu, name)(*args)))
    errors = []
    barrier = threading.Barrier(8)

    def work(tid):
        try:
            barrier.wait()
            for k in range(1000):
                name, args, want = jobs[(k * 7 + tid) % len(jobs)]
                if k % 2:
                    got = getattr(P, name)(*args)
                else:
                    got = np.empty_like(want)
                    getattr(P, name)(*args, out=got)
                if not np.array_equal(_bits(got), _bits(want)):
                    errors.append((tid, k, name))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append((tid, repr(e)))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []


def test_set_num_threads(low_cut):
    x = _data(4 * CUT, np.float32)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert P.threading_info()["num_threads"] == 1
        assert_same(P.relu(x), fastrelu.relu(x))
        assert low_cut == []
    finally:
        numba.set_num_threads(old)
    assert P.threading_info()["num_threads"] == old


def _run(code, **env):
    e = dict(os.environ, **env)
    e.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=300)


_CHILD_CODE = """
import threading, numpy as np, fastrelu
from fastrelu import parallel as P, _parallel
_parallel.CUTOVER["piecewise"] = 1000
x = np.linspace(-5, 5, 100001, dtype=np.float32)
want = fastrelu.relu(x)
def work():
    for _ in range(200):
        assert np.array_equal(P.relu(x), want)
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
info = P.threading_info()
print(info["threading_layer"], info["num_threads"], info["parallel_launches_serialized"])
"""


def test_num_threads_env_and_workqueue_lock():
    # NUMBA_NUM_THREADS is honoured; the workqueue layer (not thread-safe)
    # survives concurrent calls from 4 Python threads thanks to the lock.
    r = _run(_CHILD_CODE, NUMBA_NUM_THREADS="2", NUMBA_THREADING_LAYER="workqueue")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["workqueue", "2", "True"]
    r = _run(_CHILD_CODE, NUMBA_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[1:] == ["1", "False"]


# --------------------------------------------------------------------------
# processes: fork and spawn after the parent used the parallel target
# --------------------------------------------------------------------------


def _child(q):
    from fastrelu import _parallel
    from fastrelu import parallel as P

    _parallel.CUTOVER["piecewise"] = 1000
    x = np.linspace(-5, 5, 100001)
    q.put(float(P.relu(x).sum()))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_child_process(low_cut, method):
    if method not in mp.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    x = np.linspace(-5, 5, 100001)
    want = float(fastrelu.relu(x).sum())
    P.relu(x)  # the parent has used the prange path (threads running)
    assert low_cut
    ctx = mp.get_context(method)
    q = ctx.Queue()
    with warnings.catch_warnings():
        # Python >= 3.12 warns when a process with threads forks.  The
        # threading layer (TBB/workqueue) survives it; we fork on purpose.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        p = ctx.Process(target=_child, args=(q,))
        p.start()
    p.join(timeout=120)
    layer = P.threading_info()["threading_layer"]
    if method == "fork" and layer == "omp" and sys.platform.startswith("linux"):
        # GNU OpenMP: Numba aborts the child with a clear message.
        assert p.exitcode != 0
        return
    assert p.exitcode == 0
    assert q.get(timeout=10) == want


def test_precompile():
    fastrelu.precompile(["relu", "hardtanh_grad"], targets=["parallel"])
    for stream in (False, True) if _build.STREAM_OK else (False,):
        loop = _parallel.prange_loop(_spec.BY_NAME["relu"].forward, 1, False, stream)
        assert len(loop.signatures) >= 2
        loop = _parallel.prange_loop(_spec.BY_NAME["hardtanh"].grad, 4, True, stream)
        assert len(loop.signatures) >= 1


# --------------------------------------------------------------------------
# in place: every public name, float dtype and data operand, both targets
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=["f16", "f32", "f64"])
@pytest.mark.parametrize("name", _spec.public_names())
def test_in_place_bit_identical(low_cut, name, dtype):
    """``f(x, out=x)`` and ``f_grad(x, g, out=g)`` (and ``out=x``) give the
    out-of-place result bit for bit on the cpu ufunc and on the prange loop:
    the in-place loops read the operand through the output (see
    ``fastrelu._build._run1``), special values and a ragged tail included.
    A gradient's NaN has no specified sign or payload (only forwards return
    the NaN they are given): there NaN is compared as NaN."""
    n = 3 * CUT + 37  # above the lowered cut-over; a tail of no vector width
    args = _operands(name, n, dtype)
    kw = _params(name)
    want = getattr(fastrelu, name)(*args, **kw)
    if _spec.resolve(name)[1] != "forward":
        nan = np.isnan(want)
        want[nan] = np.nan
    for mod in (fastrelu, P):
        f = getattr(mod, name)
        for i in range(len(args)):
            ins = [v.copy() for v in args]
            assert f(*ins, out=ins[i], **kw) is ins[i]
            if _spec.resolve(name)[1] != "forward":
                assert_same(np.isnan(ins[i]), nan)
                ins[i][nan] = np.nan
            assert_same(ins[i], want)
            for j, v in enumerate(ins):
                if j != i:
                    assert_same(v, args[j])  # the other operand is untouched
    assert low_cut  # the prange path ran
