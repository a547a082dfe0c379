"""``python -m fastrelu`` (console script ``fastrelu``): bench, config, accuracy.

* ``python -m fastrelu bench [--names relu,gelu] [--sizes 1e3,1e5] [--dtypes float32]
  [--targets cpu,parallel] [--quick] [--json PATH] [--markdown PATH] [--plot PATH]``
  -- see :mod:`fastrelu.bench`;
* ``python -m fastrelu config`` -- :func:`fastrelu.show_config`;
* ``python -m fastrelu precompile [--names relu,gelu] [--targets cpu,parallel]``
  -- :func:`fastrelu.precompile` with a progress bar;
* ``python -m fastrelu accuracy ...`` -- forwards to :mod:`fastrelu.accuracy`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

_USAGE = """\
usage: python -m fastrelu {bench,config,precompile,accuracy} [options]

  bench     time fastrelu against NumPy and the memory-copy ceiling (--help for options)
  config    print versions, threading layer and thread count, cache and CUDA status
  precompile  compile every loop ahead of first use into Numba's cache (--help for options)
  accuracy  measure accuracy against high-precision references (fastrelu.accuracy)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_USAGE, end="")
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    if cmd == "bench":
        from fastrelu.bench import bench_main

        return bench_main(rest)
    if cmd == "config":
        if rest:
            print("usage: python -m fastrelu config", file=sys.stderr)
            return 2
        from fastrelu import show_config

        show_config()
        return 0
    if cmd == "precompile":
        return _precompile(rest)
    if cmd == "accuracy":
        try:
            accuracy = importlib.import_module("fastrelu.accuracy")
        except ModuleNotFoundError as e:
            if e.name != "fastrelu.accuracy":
                raise
            print("fastrelu.accuracy is not available in this version", file=sys.stderr)
            return 2
        rc = accuracy.main(rest)
        return int(rc or 0)
    print(f"python -m fastrelu: unknown command {cmd!r}\n\n{_USAGE}", end="", file=sys.stderr)
    return 2


def _precompile(argv: Sequence[str]) -> int:
    import argparse
    import time

    from fastrelu import precompile

    p = argparse.ArgumentParser(
        prog="python -m fastrelu precompile",
        description="Compile (or load from Numba's cache) every loop ahead of first use.",
    )
    p.add_argument("--names", default=None, help="comma-separated public names (default: all)")
    p.add_argument("--targets", default="cpu", help="comma-separated: cpu, parallel, cuda (default: cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(list(argv))
    names = None if a.names is None else [n for n in a.names.split(",") if n]
    t0 = time.perf_counter()
    try:
        done = precompile(names, a.targets.split(","), progress=None if not a.no_progress else False)
    except ValueError as e:
        p.error(str(e))
    print(f"compiled {len(done)} functions for {a.targets} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
