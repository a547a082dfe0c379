"""The asv benchmarks, one class per concern; parameters come from ``common.py``.

Every benchmark takes its inputs, NumPy baselines, copy ceilings and timing
protocol from ``fastrelu.bench`` (see ``common.py``) and warms up (JIT compile
or cache load, thread-pool start, first touch of ``out=``) in ``setup``.

* ``RatioNumpy`` / ``RatioCeiling`` (``track_``): fastrelu's time over the
  best NumPy expression's / over the copy ceiling's, timed alternately in one
  process, median of several rounds.  Machine drift cancels in these ratios:
  they are the regression gate (``benchmarks/gate.sh``).
* ``Forward`` / ``Gradient`` (``time_``): fastrelu's own times, for the history
  graphs; noisy on a shared machine, never gated.
* ``Baseline`` / ``CopyCeiling``: the references on their own; they do not
  change with fastrelu's commits, so they run only with ``FASTRELU_ASV_BASELINES=1``.
"""

# asv reads params/param_names as plain class (and method) attributes:
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc

import numpy as np

from . import common as C

# Importing the suite fails if a public function has no benchmark.
C.check_coverage()

BM = C.bench_module()
#: this commit's fastrelu.bench has the in-place calls and the ceiling passes
HAS_INPLACE = hasattr(BM, "INPLACE_MAX_NUMBER") and hasattr(BM, "ceiling_calls")


def _skip(why: str):
    # asv records a benchmark whose setup raises NotImplementedError as skipped (n/a)
    raise NotImplementedError(why)


def _case(name, dtype, size, mode):
    case = BM.make_case(name, dtype, size)
    if mode != "out" and not HAS_INPLACE:
        _skip("in-place rows need a newer fastrelu.bench")
    return case


def _fixed_point(case, call) -> bool:
    """True if a second in-place call leaves the operands as the first did."""
    case.reset()
    call()
    once = case.work[-1].copy()
    call()
    return np.array_equal(once, case.work[-1], equal_nan=True)


class _Sampled:
    """asv sampling of the time rows: 3-5 samples of >= 10 ms in one process."""

    rounds = 1
    repeat = (3, 5, 2.0)
    sample_time = 0.01


class _Time(_Sampled):
    """fastrelu's own time per call, ``f(..., out=o)`` or in place."""

    param_names = ["function", "dtype", "size", "target", "mode"]
    timeout = 300
    warmup_time = 0.05

    def setup(self, name, dtype, size, target, mode):
        self.case = case = _case(name, dtype, size, mode)
        if mode == "out":
            self.call = case.call(target)
        else:
            if target not in C.INPLACE_TARGETS:
                _skip("in-place rows: cpu and parallel targets")
            self.call = case.call(target, inplace=True)
            # a timed sample repeats the call on its own output: only where that
            # output is the call's fixed point (relu, ...) is every call alike;
            # the ratio rows time every function in place (operands restored)
            if not _fixed_point(case, self.call):
                _skip(f"{name}: repeated in-place calls change the operands (see RatioCeiling)")
        self.call()  # warm-up: compile or load from cache, start threads, touch out=
        self.call()

    def teardown(self, *params):
        self.__dict__.clear()


class Forward(_Time):
    """Forward call ``f(x, *params, out=o)``; mode "in place": ``f(x, out=x)``."""

    params = [C.FORWARD, C.DTYPES, C.SIZES, C.TARGETS, C.TIME_MODES]

    def time_forward(self, *params):
        self.call()


class Gradient(_Time):
    """Gradient call ``f_grad(x, g, *params, out=o)`` (``*_grad_from_output``: ``(y, g)``);
    mode "in place": ``out=g``."""

    params = [C.GRADIENT, C.DTYPES, C.SIZES, C.TARGETS, C.TIME_MODES]

    def time_gradient(self, *params):
        self.call()


# --------------------------------------------------------------------------
# same-process ratios: the regression gate
# --------------------------------------------------------------------------


class RatioNumpy:
    """fastrelu [cpu] time / the best NumPy expression's time (< 1: fastrelu is faster)."""

    param_names = ["function", "dtype", "size", "mode"]
    params = [C.NAMES, C.RATIO_DTYPES, C.RATIO_SIZES, C.MODES]
    unit = "ratio"
    rounds = 1
    timeout = 300

    def setup(self, name, dtype, size, mode):
        self.case = case = _case(name, dtype, size, mode)
        inplace = mode != "out"
        self.fast = case.call("cpu", inplace=inplace)
        self.fast_reset = case.reset if inplace else None
        # the NumPy side gets operands of its own (a second case, the same inputs)
        self.ref_case = ref = _case(name, dtype, size, mode)
        self.ref = ref.call("numpy", inplace=inplace)
        self.ref_reset = ref.reset if inplace else None

    def track_fastrelu_over_numpy(self, name, dtype, size, mode):
        with np.errstate(all="ignore"):
            return C.ratio(self.fast, self.ref, (self.fast_reset, self.ref_reset))

    def teardown(self, *params):
        self.__dict__.clear()


class RatioCeiling:
    """fastrelu time / the copy ceiling's: the fastest pass that moves the same bytes
    (serial passes for ``cpu``, all of them for ``parallel``; in place: a
    read-modify-write).  1 is memory-bound; fastrelu cannot go below ~1."""

    param_names = ["function", "dtype", "size", "target", "mode"]
    params = [C.NAMES, C.RATIO_DTYPES, C.RATIO_SIZES, C.INPLACE_TARGETS, C.MODES]
    unit = "ratio"
    rounds = 1
    timeout = 300

    def setup(self, name, dtype, size, target, mode):
        if not HAS_INPLACE:
            _skip("the ceiling passes need a newer fastrelu.bench")
        self.case = case = _case(name, dtype, size, mode)
        inplace = mode != "out"
        self.fast = case.call(target, inplace=inplace)
        self.fast_reset = case.reset if inplace else None
        # every candidate pass is timed in each round (see common.ratio)
        self.ref, self.ref_reset = case.ceiling(target == "parallel", inplace)

    def track_fastrelu_over_ceiling(self, name, dtype, size, target, mode):
        return C.ratio(self.fast, self.ref, (self.fast_reset, self.ref_reset))

    def teardown(self, *params):
        self.__dict__.clear()


# --------------------------------------------------------------------------
# the references on their own (FASTRELU_ASV_BASELINES=1)
# --------------------------------------------------------------------------


class Baseline(_Sampled):
    """The best NumPy expression, ``f(*operands, *params, out)`` (not per commit by default)."""

    param_names = ["function", "dtype", "size"]
    params = [C.NAMES, C.DTYPES, C.SIZES]

    def setup(self, name, dtype, size):
        self.case = BM.make_case(name, dtype, size)
        self.call = self.case.call("numpy")
        with np.errstate(all="ignore"):
            self.call()

    def time_numpy(self, *params):
        with np.errstate(all="ignore"):
            self.call()


class CopyCeiling(_Sampled):
    """The copy passes of the ceiling, ``out[:] = x`` (not per commit by default)."""

    param_names = ["dtype", "size", "method"]
    params = [
        C.DTYPES,
        C.SIZES,
        ["numpy", "numba loop", "numba stream", "numba prange", "numba prange stream"],
    ]

    def setup(self, dtype, size, method):
        if not HAS_INPLACE:
            _skip("the ceiling passes need a newer fastrelu.bench")
        self.x = np.ones(size, dtype)
        self.o = np.empty_like(self.x)
        calls = BM.ceiling_calls((self.x,), self.o, parallel=True)
        if method not in calls:
            _skip(f"{method}: not on this machine")
        self.call = calls[method]
        self.call()

    def time_copy(self, *params):
        self.call()


_SMALL_INPUTS = ["n=64"] if C.QUICK else ["python float", "n=1", "n=64"]
#: fastrelu's targets, plus the NumPy expression with FASTRELU_ASV_BASELINES=1
_REF_TARGETS = [t for t in C.TARGETS if t != "cuda"] + (["numpy"] if C.BASELINES else [])


class SmallCall(_Sampled):
    """Per-call overhead: the user-facing call (defaults bound, result allocated)."""

    param_names = ["function", "input", "target"]
    params = [C.SMALL_NAMES, _SMALL_INPUTS, _REF_TARGETS]

    def setup(self, name, inp, target):
        case = BM.make_case(name, "float64", 1 if inp != "n=64" else 64)
        ops = case.operands
        if inp == "python float":
            ops = tuple(float(a[0]) for a in ops)
        if target == "numpy":
            fn, _ = BM.numpy_baseline(name)
            params = case.params
            if inp == "python float":
                ops = tuple(np.float64(a) for a in ops)
            self.call = lambda: fn(*ops, *params, np.empty(np.shape(ops[0])))
        else:
            f = BM.target_function(name, target)
            spec_params = case.params
            # required parameters (threshold, prelu's weight) must be given
            required = [p for p in case.spec.params if p.default is None]
            extra = spec_params if required else ()
            self.call = lambda: f(*ops, *extra)
        self.call()
        self.call()

    def time_call(self, name, inp, target):
        self.call()


class Memory:
    """Peak traced bytes of one call at n = 1e5 float32: with ``out=`` and allocating.

    With ``out=`` fastrelu allocates nothing; the NumPy expressions show their
    temporaries (masks, intermediate arrays).  NumPy reports its array buffers
    to :mod:`tracemalloc`.
    """

    param_names = ["function", "target", "mode"]
    params = [C.MEMORY_NAMES, _REF_TARGETS[:1] if C.QUICK else _REF_TARGETS, ["out=", "allocating"]]
    unit = "bytes"
    size = 10**5

    def setup(self, name, target, mode):
        self.case = case = BM.make_case(name, "float32", self.size)
        args = case.args()
        if target == "numpy":
            fn, _ = BM.numpy_baseline(name)
            if mode == "out=":
                self.call = lambda: fn(*args, case.out)
            else:
                self.call = lambda: fn(*args, np.empty_like(case.out))
        else:
            f = BM.target_function(name, target)
            if mode == "out=":
                self.call = lambda: f(*args, out=case.out)
            else:
                self.call = lambda: f(*args)
        self.call()
        self.call()

    def track_peak_bytes(self, name, target, mode):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            self.call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak - before


# --------------------------------------------------------------------------
# import and first-call (compile) time: fresh processes (timeraw_)
# --------------------------------------------------------------------------


def _first_call_code(name: str, target: str, cache_dir_expr: str) -> tuple[str, str]:
    """(stmt, setup) for a fresh interpreter whose NUMBA_CACHE_DIR is *cache_dir_expr*."""
    case = BM.make_case(name, "float32", 8)
    nops = len(case.operands)
    module = "fastrelu" if target == "cpu" else f"fastrelu.{target}"
    setup = textwrap.dedent(
        f"""
        import os, tempfile
        os.environ["NUMBA_CACHE_DIR"] = {cache_dir_expr}
        import importlib
        import numpy as np
        f = getattr(importlib.import_module({module!r}), {name!r})
        args = (np.linspace(-3, 3, 8, dtype=np.float32),) * {nops} + {case.params!r}
        """
    )
    stmt = "f(*args)"
    if target == "cuda":
        setup += (
            "from numba import cuda\n"
            "args = tuple(cuda.to_device(a) if hasattr(a, 'dtype') else a for a in args)\n"
        )
        stmt = "f(*args); cuda.synchronize()"
    return stmt, setup


class Import:
    """``import fastrelu`` in a fresh interpreter (must compile nothing)."""

    repeat = 5
    number = 1
    warmup_time = 0

    def timeraw_import(self):
        return "import fastrelu"


class FirstCallCold:
    """First call in a fresh process with an empty ``NUMBA_CACHE_DIR``: full JIT compile."""

    param_names = ["function", "target"]
    params = [C.COMPILE_NAMES, C.COMPILE_TARGETS]
    repeat = 3
    number = 1
    warmup_time = 0
    timeout = 600

    def setup(self, name, target):
        self.root = tempfile.mkdtemp(prefix="fastrelu-asv-cold-")

    def teardown(self, name, target):
        shutil.rmtree(self.root, ignore_errors=True)

    def timeraw_first_call(self, name, target):
        # a new empty cache directory for every sample
        return _first_call_code(name, target, f"tempfile.mkdtemp(dir={self.root!r})")


class FirstCallWarm:
    """First call in a fresh process whose ``NUMBA_CACHE_DIR`` is populated: cache load."""

    param_names = ["function", "target"]
    params = [C.COMPILE_NAMES, C.COMPILE_TARGETS]
    repeat = 5
    number = 1
    warmup_time = 0
    timeout = 600

    def setup(self, name, target):
        self.cache = tempfile.mkdtemp(prefix="fastrelu-asv-warm-")
        stmt, setup = _first_call_code(name, target, repr(self.cache))
        subprocess.run([sys.executable, "-c", setup + stmt + "\n"], check=True, env=dict(os.environ))

    def teardown(self, name, target):
        shutil.rmtree(self.cache, ignore_errors=True)

    def timeraw_first_call(self, name, target):
        return _first_call_code(name, target, repr(self.cache))


# --------------------------------------------------------------------------
# the environment, recorded with every commit's results
# --------------------------------------------------------------------------


class Environment:
    """Numba's thread count and threading layer (after the pool has started), and
    the vector ISA that keys the tuning table."""

    def setup(self, *params):
        self.info = BM.environment()

    def track_num_threads(self):
        return self.info["numba_threads"]

    track_num_threads.unit = "threads"

    def track_cpu_count(self):
        return os.cpu_count() or 0

    track_cpu_count.unit = "cpus"

    def track_threading_layer(self):
        layer = self.info["numba_threading_layer"]
        return _LAYERS.index(layer) if layer in _LAYERS else -1

    track_threading_layer.unit = "0 tbb, 1 omp, 2 workqueue, -1 other"

    def track_vector_isa(self):
        # the key of fastrelu's tuning table (asv's machine.json has the CPU model)
        isa = self.info.get("vector_isa")
        return _ISAS.index(isa) if isa in _ISAS else -1

    track_vector_isa.unit = "0 x86-64, 1 avx2, 2 avx512, 3 aarch64, 4 aarch64-sve, -1 other"


_LAYERS = ["tbb", "omp", "workqueue"]
_ISAS = ["x86-64", "x86-64-avx2", "x86-64-avx512", "aarch64", "aarch64-sve"]

# the references exist only when asked for: no process is spent on a skipped benchmark
if not C.BASELINES:
    del Baseline, CopyCeiling


# every benchmark class: PROCESSES (1 in the quick set)
for _cls in [v for v in list(globals().values()) if isinstance(v, type) and v.__module__ == __name__]:
    _cls.processes = C.PROCESSES
