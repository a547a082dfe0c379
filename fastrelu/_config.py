"""Runtime configuration: ahead-of-time compilation and a configuration report."""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
from collections.abc import Iterable


def precompile(
    names: Iterable[str] | None = None,
    targets: Iterable[str] = ("cpu",),
    progress: bool | None = None,
) -> list[str]:
    """Compile (or load from the on-disk cache) functions ahead of first use.

    Without it every loop is compiled on its first call: one
    (function, dtype) loop at a time, so a first call pays for its own dtype
    only.  Use this where everything should be ready up front (dask workers,
    images, a wheel's post-install step).

    Parameters
    ----------
    names : iterable of str, optional
        Public function names (``"relu"``, ``"gelu_grad"`` ...); default: all.
    targets : iterable of {"cpu", "parallel", "cuda"}
        Targets to prepare: ``"cpu"`` compiles every dtype loop of each
        ufunc; ``"parallel"`` also the multi-threaded kernels; ``"cuda"``
        device kernels (needs a GPU).
    progress : bool, optional
        Show a progress bar (rich) on standard error; default: when standard
        error is a terminal and rich is installed.

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
    import sys

    from fastrelu import _build
    from fastrelu._spec import public_names

    all_names = public_names()
    chosen = list(all_names if names is None else names)
    for n in chosen:
        if n not in all_names:
            raise ValueError(f"precompile: unknown function {n!r}")
    targets = list(targets)
    for target in targets:
        if target not in ("cpu", "parallel", "cuda"):
            raise ValueError(f"precompile: unknown target {target!r}")
    if progress is None:
        progress = sys.stderr.isatty() and importlib.util.find_spec("rich") is not None
    work = [(t, n) for t in targets for n in chosen]
    steps: Iterable = work
    if progress:
        from rich.progress import track

        steps = track(work, description="fastrelu: compiling", console=_stderr_console(), transient=True)
    for target, n in steps:
        module = importlib.import_module("fastrelu" if target == "cpu" else f"fastrelu.{target}")
        obj = getattr(module, n)
        prepare = getattr(obj, "precompile", None)
        if prepare is not None:
            prepare()
        else:
            _build.compile_loops(obj.ufunc)
    return chosen


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def config() -> dict:
    """The configuration as a dict (versions, threads, cache, CUDA)."""
    import numba
    import numpy

    from fastrelu import _loops, _tuning
    from fastrelu._version import __version__

    host = _tuning.host()
    info = {
        "fastrelu": __version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_model": host["cpu_model"],
        "cpu_name": host["cpu_name"],
        "vector_isa": host["isa"],
        "llc_bytes": host["llc_bytes"],
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
