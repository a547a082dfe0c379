"""``python -m fastrelu`` (console script ``fastrelu``): bench, config, accuracy.

* ``python -m fastrelu bench [--names relu,gelu] [--sizes 1e3,1e5] [--dtypes float32]
  [--targets cpu,parallel] [--quick] [--json PATH] [--markdown PATH] [--plot PATH]``
  -- see :mod:`fastrelu.bench`;
* ``python -m fastrelu config`` -- :func:`fastrelu.show_config`;
* ``python -m fastrelu accuracy ...`` -- forwards to :mod:`fastrelu.accuracy`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

_USAGE = """\
usage: python -m fastrelu {bench,config,accuracy} [options]

  bench     time fastrelu against NumPy and the memory-copy ceiling (--help for options)
  config    print versions, threading layer and thread count, cache and CUDA status
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


if __name__ == "__main__":
    sys.exit(main())
