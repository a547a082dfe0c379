"""Runtime configuration: ahead-of-time compilation and a configuration report."""

from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Iterable


def precompile(names: Iterable[str] | None = None, targets: Iterable[str] = ("cpu",)) -> list[str]:
    """Compile (or load from the on-disk cache) functions ahead of first use.

    Parameters
    ----------
    names : iterable of str, optional
        Public function names (``"relu"``, ``"gelu_grad"`` ...); default: all.
    targets : iterable of {"cpu", "parallel", "cuda"}
        Targets to prepare.  ``"parallel"`` also compiles the multi-threaded
        kernels; ``"cuda"`` compiles device kernels (needs a GPU).

    Returns
    -------
    list of str
        The names prepared.

    Notes
    -----
    Compiled code is stored in Numba's cache (next to the package, or in
    ``NUMBA_CACHE_DIR`` when set -- use that for read-only installs and
    shared dask workers), so later processes load instead of compiling.
    """
    from fastrelu._spec import public_names

    all_names = public_names()
    chosen = list(all_names if names is None else names)
    for n in chosen:
        if n not in all_names:
            raise ValueError(f"precompile: unknown function {n!r}")
    for target in targets:
        if target not in ("cpu", "parallel", "cuda"):
            raise ValueError(f"precompile: unknown target {target!r}")
        module = importlib.import_module("fastrelu" if target == "cpu" else f"fastrelu.{target}")
        for n in chosen:
            obj = getattr(module, n)
            prepare = getattr(obj, "precompile", None)
            if prepare is not None:
                prepare()
            else:
                obj.ufunc  # noqa: B018 (builds)
    return chosen


def config() -> dict:
    """The configuration as a dict (versions, threads, cache, CUDA)."""
    import numba
    import numpy

    from fastrelu import _loops
    from fastrelu._version import __version__

    info = {
        "fastrelu": __version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_cache_dir": numba.config.CACHE_DIR or "(next to the package)",
        "built_ufuncs": len(_loops.built()),
    }
    try:
        from fastrelu import parallel

        info.update(parallel.threading_info())
    except Exception as e:  # pragma: no cover - reported, not fatal
        info["threading_layer"] = f"unavailable ({e})"
    try:
        from fastrelu import cuda

        info["cuda"] = cuda.status()
    except Exception as e:  # pragma: no cover
        info["cuda"] = f"unavailable ({e})"
    return info


def show_config() -> None:
    """Print versions, the threading layer and thread count, cache and CUDA status."""
    for k, v in config().items():
        print(f"{k:>20}: {v}")
