"""Parameters, helpers and the coverage guard of the asv suite.

Everything here is derived from the activation table (``fastrelu._spec``) and
from the public namespaces; nothing is listed per function.

Measurement definitions (inputs, the best-NumPy baselines, the copy ceiling,
the timing loop) are imported from ``fastrelu.bench`` -- the one module that
defines them, under its one name.  (The suite once loaded ``fastrelu/bench.py``
by file path under another module name; Numba's on-disk cache records the
module of each cached function, so ``python -m fastrelu bench`` then failed
to load its cache entries: ``ModuleNotFoundError``.)  When asv measures an old
commit, that commit's ``fastrelu.bench`` is used; benchmarks that need a
definition newer than the commit (the ratio and in-place rows) skip there.

Environment variables
---------------------
``FASTRELU_ASV_QUICK=1``
    the quick set (CI smoke, ``asv run`` over long histories, the gate):
    relu, relu_grad, silu, silu_grad; float32; size 1e5; fewer
    functions in SmallCall, Memory and FirstCall*.
``FASTRELU_ASV_BASELINES=1``
    also time the machine's references on their own (``Baseline``: the NumPy
    expressions; ``CopyCeiling``): they do not change with fastrelu's
    commits, so by default they are not re-measured per commit (the ratio
    rows time them next to fastrelu in the same process anyway).
``FASTRELU_ASV_TARGETS=cpu,parallel``
    override the targets (default: cpu, parallel, and cuda when a GPU is present).
"""

from __future__ import annotations

import importlib
import math
import os
import statistics
import time
import types


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0", "false", "no")


QUICK = _flag("FASTRELU_ASV_QUICK")
BASELINES = _flag("FASTRELU_ASV_BASELINES")


def bench_module():
    """``fastrelu.bench`` (see the module docstring)."""
    return importlib.import_module("fastrelu.bench")


def _gpu_present() -> bool:
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def _targets() -> list[str]:
    env = os.environ.get("FASTRELU_ASV_TARGETS", "").strip()
    if env:
        return [t.strip() for t in env.split(",") if t.strip()]
    targets = ["cpu", "parallel"]
    if _gpu_present():
        targets.append("cuda")
    return targets


def _table_names() -> tuple[list[str], list[str]]:
    from fastrelu._spec import public_names, resolve

    fwd, grad = [], []
    for n in public_names():
        (fwd if resolve(n)[1] == "forward" else grad).append(n)
    return fwd, grad


#: every name the suite benchmarks (full mode), from the table
ALL_FORWARD, ALL_GRADIENT = _table_names()
ALL_NAMES = ALL_FORWARD + ALL_GRADIENT

# the quick set: a piecewise forward and a smooth gradient (asv runs every
# parameter combination in a process of its own, ~1.3 s to start: the quick
# set keeps to a few dozen combinations, about a minute per commit)
QUICK_FORWARD = [n for n in ("relu",) if n in ALL_FORWARD]
QUICK_GRADIENT = [n for n in ("silu_grad",) if n in ALL_GRADIENT]

TARGETS = _targets()
#: where in-place rows are measured
INPLACE_TARGETS = [t for t in TARGETS if t in ("cpu", "parallel")]
MODES = ["out", "in place"]
if QUICK:
    FORWARD, GRADIENT = QUICK_FORWARD, QUICK_GRADIENT
    DTYPES = ["float32"]
    # one size: in cache (the kernel's speed shows, not the memory's) and above
    # the parallel target's cut-over (its threads run)
    SIZES = [10**5]
    COMPILE_NAMES = ["relu"]
    COMPILE_TARGETS = TARGETS[:1]
    SMALL_NAMES = ["relu"]
    MEMORY_NAMES = ["relu"]
    #: the time rows' modes (the ratio rows time both modes)
    TIME_MODES = ["out"]
else:
    FORWARD, GRADIENT = ALL_FORWARD, ALL_GRADIENT
    DTYPES = ["float32", "float64", "float16"]
    SIZES = [10**3, 10**5, 10**7]
    COMPILE_NAMES = ALL_NAMES
    COMPILE_TARGETS = TARGETS
    SMALL_NAMES = MEMORY_NAMES = ALL_NAMES
    TIME_MODES = MODES
NAMES = FORWARD + GRADIENT
#: asv runs every benchmark in this many processes (its default, 2, doubles the
#: quick set's run time: every benchmark process imports and loads anew)
PROCESSES = 1 if QUICK else 2
#: the ratio rows (the regression gate): float32 and float64 at most, sizes from 1e5
RATIO_DTYPES = [d for d in DTYPES if d != "float16"]
RATIO_SIZES = [s for s in SIZES if s >= 10**5]

# --------------------------------------------------------------------------
# same-process ratios (the regression gate)
# --------------------------------------------------------------------------

#: interleaved rounds per ratio; the ratio reported is their median
RATIO_ROUNDS = 7
#: seconds each side of a round runs for, in RATIO_BLOCKS blocks of calls
RATIO_MIN_TIME = 0.005
#: blocks per side and round; a side's time in a round is its fastest block
#: (load from other processes only ever adds time to a block)
RATIO_BLOCKS = 5
#: pause between the two sides of a round: Numba's worker threads spin for a
#: while after a parallel call and would slow whatever runs next
RATIO_PAUSE = 0.02


def ratio(fast, ref, resets=None, rounds: int = RATIO_ROUNDS) -> float:
    """Median over *rounds* of time(*fast*) / time(*ref*), timed alternately.

    *ref* is a callable, or a dict of callables (the ceiling's candidate
    passes): then the reference time of a round is the fastest candidate's in
    that round, so the ratio does not hinge on which pass won a calibration.
    Every side is warmed up and calibrated once.  Each round times fastrelu,
    pauses, times the reference side(s), pausing after each: drift of the
    machine (clock, load) over a run reaches both sides of a round alike and
    cancels in their ratio.  A side's time in a round is the fastest of its
    :data:`RATIO_BLOCKS` blocks (each about ``RATIO_MIN_TIME /
    RATIO_BLOCKS``): a preemption by another process lengthens one block, not
    the minimum.  *resets* (in-place calls: one callable per side, or None):
    a block is an untimed reset of the operands, then
    ``fastrelu.bench.INPLACE_MAX_NUMBER`` calls (``fastrelu.bench.measure``'s
    protocol).
    """
    BM = bench_module()
    resets = resets or (None, None)
    refs = list(ref.values()) if isinstance(ref, dict) else [ref]

    def calibrate(fn, rs):
        fn()
        best, _ = BM.measure(fn, RATIO_MIN_TIME / RATIO_BLOCKS, 3, reset=rs)
        if rs is None:
            return (fn, rs, RATIO_BLOCKS, max(1, math.ceil(RATIO_MIN_TIME / RATIO_BLOCKS / best)))
        block = BM.INPLACE_MAX_NUMBER
        return (fn, rs, max(RATIO_BLOCKS, math.ceil(RATIO_MIN_TIME / (best * block))), block)

    fast_side = calibrate(fast, resets[0])
    ref_sides = [calibrate(fn, resets[1]) for fn in refs]
    perf = time.perf_counter

    def timed(side) -> float:
        fn, rs, blocks, number = side
        fastest = math.inf
        for _ in range(blocks):
            if rs is not None:
                rs()
            t0 = perf()
            for _ in range(number):
                fn()
            fastest = min(fastest, perf() - t0)
        time.sleep(RATIO_PAUSE)
        return fastest / number

    ratios = []
    for _ in range(rounds):
        t_fast = timed(fast_side)
        t_ref = min(timed(side) for side in ref_sides)
        ratios.append(t_fast / t_ref)
    return statistics.median(ratios)


# --------------------------------------------------------------------------
# the guard: every public function of every namespace has a benchmark
# --------------------------------------------------------------------------

#: names in a namespace's ``__all__`` that are not activation functions
NOT_BENCHMARKED = {
    "Ufunc": "the class of the public objects",
    "ParallelUfunc": "the class of the parallel objects",
    "precompile": "ahead-of-time compilation helper (its cost is FirstCall*)",
    "show_config": "prints the configuration",
    "config": "returns the configuration",
    "threading_info": "reports the threading layer (recorded by Environment)",
    "status": "reports CUDA status",
    "is_available": "reports CUDA status",
    "CUTOVER": "a constant",
    "__version__": "a constant",
}

_MISSING = object()


def public_functions(module) -> list[str]:
    """Callable public objects of *module*'s ``__all__``, less :data:`NOT_BENCHMARKED`.

    Classes, modules and constants are skipped; a name listed in ``__all__``
    but missing from the module counts (its benchmark will then fail loudly).
    """
    out = []
    for name in getattr(module, "__all__", ()):
        if name in NOT_BENCHMARKED or name.startswith("_"):
            continue
        obj = getattr(module, name, _MISSING)
        if obj is not _MISSING and (not callable(obj) or isinstance(obj, (type, types.ModuleType))):
            continue
        out.append(name)
    return out


def namespaces() -> dict[str, object]:
    """``{target: module}`` for every target namespace that imports here."""
    import fastrelu

    found = {"cpu": fastrelu}
    for target in ("parallel", "cuda"):
        try:
            found[target] = importlib.import_module(f"fastrelu.{target}")
        except ImportError:
            pass  # not in this version (asv history) or no CUDA toolkit
    return found


def check_coverage() -> None:
    """Raise if a public function of any target namespace has no benchmark.

    The benchmarked names come from the table; the public names from each
    namespace's ``__all__`` (as NumPy's ``bench_ufunc.py`` does for ufuncs).
    """
    covered = set(ALL_NAMES)
    missing = []
    for target, module in namespaces().items():
        for name in public_functions(module):
            if name not in covered:
                missing.append(f"{module.__name__}.{name} [{target}]")
    if missing:
        raise RuntimeError(
            "public functions without a benchmark: "
            + ", ".join(missing)
            + ". Add a row to fastrelu/_spec.py TABLE (the suite is generated from it), or, for a "
            "helper that is not an activation, add it to benchmarks/common.py NOT_BENCHMARKED with "
            "the reason."
        )
    bm = bench_module()
    for name in ALL_NAMES:  # every function has a NumPy baseline
        bm.numpy_baseline(name)


def summary() -> dict:
    """The parameters this run uses."""
    return {
        "quick": QUICK,
        "targets": ",".join(TARGETS),
        "dtypes": ",".join(DTYPES),
        "sizes": ",".join(str(s) for s in SIZES),
        "functions": f"{len(FORWARD)} forward + {len(GRADIENT)} gradient",
        "baselines": BASELINES,
    }
