"""Parameters, helpers and the coverage guard of the asv suite.

Everything here is derived from the activation table (``fastrelu._spec``) and
from the public namespaces; nothing is listed per function.

Measurement definitions (inputs, the best-NumPy baselines, the copy ceiling)
come from ``fastrelu/bench.py`` *of this checkout*, loaded by path: when asv
measures an older commit, the baselines and inputs stay those of the suite, so
a change in the history is a change in fastrelu, never in what it is compared
with.  (It falls back to the installed ``fastrelu.bench`` if the file is not
beside the suite.)

Environment variables
---------------------
``FASTRELU_ASV_QUICK=1``
    reduced parameters for CI: relu and silu (+ their gradients), float32,
    sizes 1e3 and 1e5; fewer functions in SmallCall, Memory and FirstCall*.
``FASTRELU_ASV_TARGETS=cpu,parallel``
    override the targets (default: cpu, parallel, and cuda when a GPU is present).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

QUICK = os.environ.get("FASTRELU_ASV_QUICK", "").strip() not in ("", "0", "false", "no")

_HERE = Path(__file__).resolve().parent


@functools.cache
def bench_module():
    """``fastrelu/bench.py`` of this checkout (see the module docstring)."""
    path = _HERE.parent / "fastrelu" / "bench.py"
    if path.is_file():
        spec = importlib.util.spec_from_file_location("_fastrelu_suite_bench", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses and pickling look it up
        spec.loader.exec_module(mod)
        return mod
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

# one piecewise and one smooth function that compile quickly (CI time)
QUICK_FORWARD = [n for n in ("relu", "silu") if n in ALL_FORWARD]
QUICK_GRADIENT = [n for n in ("relu_grad", "silu_grad") if n in ALL_GRADIENT]

TARGETS = _targets()
if QUICK:
    FORWARD, GRADIENT = QUICK_FORWARD, QUICK_GRADIENT
    DTYPES = ["float32"]
    SIZES = [10**3, 10**5]
    COMPILE_NAMES = ["relu"]
    COMPILE_TARGETS = TARGETS[:1]
    SMALL_NAMES = ["relu", "relu_grad"]
    MEMORY_NAMES = ["relu", "silu_grad"]
else:
    FORWARD, GRADIENT = ALL_FORWARD, ALL_GRADIENT
    DTYPES = ["float32", "float64", "float16"]
    SIZES = [10**3, 10**5, 10**7]
    COMPILE_NAMES = ALL_NAMES
    COMPILE_TARGETS = TARGETS
    SMALL_NAMES = MEMORY_NAMES = ALL_NAMES
#: fastrelu targets plus the NumPy baseline, compared in one param table
TARGETS_AND_NUMPY = [*TARGETS, "numpy"]
NAMES = FORWARD + GRADIENT
COPY_METHODS = ["np.copyto", "numba prange"]

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
    }
