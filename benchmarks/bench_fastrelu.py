"""The asv benchmarks, one class per concern; parameters come from ``common.py``.

Every time/track benchmark takes its inputs and the NumPy baseline from
``fastrelu/bench.py`` (see ``common.py``), warms up (JIT compile or cache load,
thread-pool start, first touch of ``out=``) in ``setup``, and times one call.
In ``Forward``/``Gradient``/``SmallCall``/``Memory`` the ``target`` parameter
``numpy`` is the best NumPy expression for the same function, so the ratio
fastrelu/NumPy is read off one run (``asv run``, ``asv show``); ``CopyCeiling``
gives the memory-bandwidth ceiling for the same dtypes and sizes.
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


def _prepare(name, dtype, size, target):
    case = BM.make_case(name, dtype, size)
    call = case.call(target)
    call()  # warm-up: compile or load from cache, start threads, touch out=
    call()
    return case, call


class Forward:
    """Forward call ``f(x, *params, out=o)``; target ``numpy``: the best NumPy expression."""

    param_names = ["function", "dtype", "size", "target"]
    params = [C.FORWARD, C.DTYPES, C.SIZES, C.TARGETS_AND_NUMPY]
    timeout = 300
    repeat = (3, 10, 10.0)

    def setup(self, name, dtype, size, target):
        self.case, self.call = _prepare(name, dtype, size, target)

    def time_forward(self, name, dtype, size, target):
        self.call()

    def teardown(self, *params):
        del self.case, self.call


class Gradient:
    """Gradient call ``f_grad(x, g, *params, out=o)`` (``*_grad_from_output``: ``(y, g)``)."""

    param_names = ["function", "dtype", "size", "target"]
    params = [C.GRADIENT, C.DTYPES, C.SIZES, C.TARGETS_AND_NUMPY]
    timeout = 300
    repeat = (3, 10, 10.0)

    def setup(self, name, dtype, size, target):
        self.case, self.call = _prepare(name, dtype, size, target)

    def time_gradient(self, name, dtype, size, target):
        self.call()

    def teardown(self, *params):
        del self.case, self.call


class CopyCeiling:
    """``out[:] = x``: no elementwise function can move bytes faster than this."""

    param_names = ["dtype", "size", "method"]
    params = [C.DTYPES, C.SIZES, C.COPY_METHODS]
    timeout = 300

    def setup(self, dtype, size, method):
        self.x = np.ones(size, dtype)
        self.o = np.empty_like(self.x)
        self.call = BM.copy_ceiling(method, self.x, self.o)
        self.call()
        self.call()

    def time_copy(self, dtype, size, method):
        self.call()


_SMALL_INPUTS = ["python float", "n=1", "n=64"]


class SmallCall:
    """Per-call overhead: the user-facing call (defaults bound, result allocated)."""

    param_names = ["function", "input", "target"]
    params = [C.SMALL_NAMES, _SMALL_INPUTS, C.TARGETS_AND_NUMPY]

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
        elif target == "cuda":
            raise NotImplementedError("small calls are not a CUDA use case")
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
    params = [C.MEMORY_NAMES, [t for t in C.TARGETS_AND_NUMPY if t != "cuda"], ["out=", "allocating"]]
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
    """Numba's thread count and threading layer (after the pool has started)."""

    def setup(self, *params):
        self.info = BM.environment()

    def track_num_threads(self):
        return self.info["numba_threads"]

    track_num_threads.unit = "threads"

    def track_cpu_count(self):
        return os.cpu_count() or 0

    track_cpu_count.unit = "cpus"

    def track_threading_layer(self, layer):
        return int(self.info["numba_threading_layer"] == layer)

    track_threading_layer.params = [["tbb", "omp", "workqueue"]]
    track_threading_layer.param_names = ["layer"]
    track_threading_layer.unit = "in use (1) or not (0)"
