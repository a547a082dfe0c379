"""Measure the settings of the tuning table (``fastrelu/_tuning.py``) on this host.

Usage::

    python tools/tune.py interleave [--names silu,mish] [--repeat 200]

``interleave``: every smooth kernel's serial loop compiled with LLVM's
interleave count forced to 0 (LLVM's choice), 1, 2 and 4, timed single
threaded in cache (n = 4096, best of --repeat calls, the counts of one
kernel timed in turn, round after round, so that noise reaches them alike).
Prints ns/element per count and the best count, and the entry to paste under
this host's ``isa`` key (printed first) in ``_tuning.TABLE["interleave"]``:
the family's most common best count, plus the kernels whose best count beats
it by more than --margin.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from fastrelu import _build, _spec, _tuning

COUNTS = (0, 1, 2, 4)


def _kernels(names):
    for row in _spec.TABLE:
        if row.family != "smooth":
            continue
        for kind in ("forward", "grad"):
            k = row.kernel(kind)
            if names and k.__name__ not in names:
                continue
            yield row, kind, k


def interleave(args) -> None:
    names = set(args.names.split(",")) if args.names else None
    n = 4096
    rng = np.random.default_rng(0)
    print(f"host: {_tuning.host()}")
    print("| kernel | dtype | " + " | ".join(f"ic={c} ns/el" for c in COUNTS) + " | best |")
    print("|---|---|" + "---|" * (len(COUNTS) + 1))
    best: dict = {}
    for row, kind, k in _kernels(names):
        nin = row.nin(kind)
        for dt in (np.float32, np.float64):
            ufs = [
                _build.build_ufunc(k, f"tune_{k.__name__}", nin, [dt], lazy=False, interleave=c)
                for c in COUNTS
            ]
            x = (rng.standard_normal(n) * 4).astype(dt)
            ops = [x] if kind == "forward" else [x, np.ones(n, dt)]
            params = [
                np.asarray(v, dt)
                for v in (p.default if p.default is not None else 0.25 for p in row.params_for(kind))
            ]
            o = np.empty(n, dt)
            t = [float("inf")] * len(COUNTS)
            for _ in range(args.repeat):
                for i, uf in enumerate(ufs):
                    t0 = time.perf_counter_ns()
                    uf(*ops, *params, out=o)
                    t[i] = min(t[i], time.perf_counter_ns() - t0)
            ns = [v / n for v in t]
            b = COUNTS[int(np.argmin(ns))]
            best[(k.__name__, np.dtype(dt).name)] = (b, ns)
            print(
                f"| {k.__name__} | {np.dtype(dt).name} | " + " | ".join(f"{v:.3f}" for v in ns) + f" | {b} |"
            )
    # one count per kernel: the best summed over both dtypes
    per_kernel = {}
    for name in {k for k, _ in best}:
        tot = [sum(best[(name, d)][1][i] for d in ("float32", "float64")) for i in range(len(COUNTS))]
        per_kernel[name] = (COUNTS[int(np.argmin(tot))], tot)
    family = collections.Counter(c for c, _ in per_kernel.values()).most_common(1)[0][0]
    fi = COUNTS.index(family)
    entry = {"smooth": family}
    for name, (c, tot) in sorted(per_kernel.items()):
        if c != family and tot[COUNTS.index(c)] < tot[fi] * (1 - args.margin):
            entry[name] = c
    print(f"\nentry for {_tuning.host()['isa']!r}: {entry}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("interleave")
    p.add_argument("--names", default="")
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--margin", type=float, default=0.05)
    a = ap.parse_args()
    if a.cmd == "interleave":
        interleave(a)


if __name__ == "__main__":
    main()
