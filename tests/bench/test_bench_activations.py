"""pytest-benchmark suite: one group per function, fastrelu [cpu] / [parallel] vs NumPy and torch.

Not part of the default test run (``--ignore=tests/bench`` in pyproject)::

    pytest tests/bench --benchmark-autosave                 # save a run
    pytest tests/bench --benchmark-compare                  # compare with the last saved run
    pytest tests/bench --benchmark-compare --benchmark-compare-fail=min:15%   # noise: docs/benchmarks.md

Environment variables select what is measured (defaults in brackets):
``FASTRELU_BENCH_NAMES`` [all; or e.g. ``relu,gelu`` / ``forward`` / ``grad`` / ``smooth``],
``FASTRELU_BENCH_SIZE`` [1e6], ``FASTRELU_BENCH_DTYPE`` [float32],
``FASTRELU_BENCH_BASELINES`` [0; 1: also the references -- NumPy, torch, the copy
ceiling -- which are not fastrelu's and so are not in a run that a
``--benchmark-compare-fail`` gate compares].

Groups are named ``<function> <dtype> n=<size>``; in each, ``numpy`` is the best NumPy
expression (``fastrelu.bench.NUMPY_BASELINES``, or the table's float64 reference).

Every benchmark writes into a preallocated ``out=`` array (torch: ``out=`` where the
function has it, else allocates, and says so in its name).  Warm-up (JIT
compile or cache load, thread start) happens before timing.
"""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np
import pytest

from fastrelu import bench as BM

NAMES = BM._expand_names(os.environ.get("FASTRELU_BENCH_NAMES", "all"))
SIZE = int(float(os.environ.get("FASTRELU_BENCH_SIZE", "1e6")))
DTYPE = str(np.dtype(os.environ.get("FASTRELU_BENCH_DTYPE", "float32")))

BASELINES = os.environ.get("FASTRELU_BENCH_BASELINES", "").strip() not in ("", "0", "false", "no")
IMPLS = ["fastrelu-cpu", "fastrelu-parallel"] + (["numpy"] if BASELINES else [])
needs_baselines = pytest.mark.skipif(not BASELINES, reason="a reference row: FASTRELU_BENCH_BASELINES=1")


def _torch():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module("torch")
    except ImportError:
        return None


TORCH = _torch()


def _group(name: str) -> str:
    return f"{name} {DTYPE} n={SIZE:.0e}"


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    return BM.make_case(request.param, DTYPE, SIZE)


@pytest.mark.parametrize("impl", IMPLS)
def test_bench(benchmark, case, impl):
    target = {"fastrelu-cpu": "cpu", "fastrelu-parallel": "parallel", "numpy": "numpy"}[impl]
    fn = case.call(target)
    fn()  # warm-up
    benchmark.group = _group(case.name)
    benchmark.extra_info.update(
        function=case.name,
        impl=impl,
        dtype=DTYPE,
        size=SIZE,
        bytes=case.nbytes,
        numpy_baseline=BM.numpy_baseline(case.name)[1] if impl == "numpy" else "",
    )
    benchmark(fn)


def _torch_call(case):
    """torch.nn.functional equivalent of a forward row, or None."""
    spec = case.spec
    if TORCH is None or case.kind != "forward" or not spec.torch:
        return None
    import torch.nn.functional as F

    fname, _, approx = spec.torch.partition(":")
    f = getattr(F, fname, None)
    if f is None:
        return None
    x = TORCH.from_numpy(case.operands[0])
    kwargs = dict(zip((p.name for p in spec.params), case.params, strict=True))
    if fname == "prelu":
        args = (x, TORCH.tensor([kwargs["weight"]], dtype=x.dtype))
        kwargs = {}
    elif fname == "threshold":
        args = (x, kwargs.pop("threshold"), kwargs.pop("value"))
    else:
        args = (x,)
    if approx:
        kwargs["approximate"] = approx
    if fname == "rrelu":
        kwargs["training"] = False
    return lambda: f(*args, **kwargs)


@needs_baselines
@pytest.mark.skipif(TORCH is None, reason="torch is not installed")
def test_bench_torch(benchmark, case):
    fn = _torch_call(case)
    if fn is None:
        pytest.skip(f"no torch.nn.functional equivalent for {case.name}")
    fn()
    benchmark.group = _group(case.name)
    benchmark.extra_info.update(
        function=case.name,
        impl=f"torch {TORCH.__version__} ({TORCH.get_num_threads()} threads, allocates)",
        dtype=DTYPE,
        size=SIZE,
    )
    benchmark(fn)


@needs_baselines
@pytest.mark.parametrize("method", BM.CEILING_METHODS)
def test_copy_ceiling(benchmark, method):
    """The copy-ceiling passes at the same size and dtype (their own group)."""
    x = np.ones(SIZE, DTYPE)
    o = np.empty_like(x)
    calls = BM.ceiling_calls((x,), o, parallel=True)
    if method not in calls:
        pytest.skip(f"{method}: not on this machine")
    fn = calls[method]
    fn()
    benchmark.group = f"copy ceiling {DTYPE} n={SIZE:.0e}"
    benchmark(fn)
