"""In place against out of place for every public function, dtype and CPU target.

Prints a markdown table of ``f(x, out=x)`` (forward; gradients: ``out=g``)
over ``f(x, out=o)``, the time ratio taken in one run: below 1.0 in place is
faster.  Before every timed call the operands are restored from a pristine
copy (untimed, the same for both modes), so both modes start from the same
cache state and in place computes on the same values each time.  Each mode is
timed in its own block (best of --repeat), with a 20 ms pause between blocks
so that the parallel target's spinning worker threads do not steal time from
the next block.

Usage::

    python tools/bench_inplace.py                      # n = 1e6, 1e7; float16/32/64
    python tools/bench_inplace.py --names relu,gelu --sizes 1e7 --dtypes float32
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastrelu
import fastrelu.parallel
from fastrelu import _spec, _tuning


def _operands(name, n, dt):
    kind = _spec.resolve(name)[1]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(dt)
    if kind == "forward":
        return [x]
    return [x, rng.standard_normal(n).astype(dt)]


def _best(call, restore, repeat):
    best = float("inf")
    for _ in range(repeat):
        restore()
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", default="all")
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--dtypes", default="float16,float32,float64")
    ap.add_argument("--targets", default="cpu,parallel")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    names = _spec.public_names() if a.names == "all" else a.names.split(",")
    sizes = [int(float(s)) for s in a.sizes.split(",")]
    dtypes = [np.dtype(d) for d in a.dtypes.split(",")]
    targets = a.targets.split(",")
    mods = {"cpu": fastrelu, "parallel": fastrelu.parallel}
    h = _tuning.host()
    print(
        f"*{h['cpu_model']} ({h['isa']}), {h['cpus']} CPUs; fastrelu {fastrelu.__version__}; "
        f"best of {a.repeat}, each mode in its own block; in place = out=x (gradients: out=g)*\n"
    )
    cols = [f"{t} {d.name} n={n:.0e}" for n in sizes for d in dtypes for t in targets]
    print("| function | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    worst = (0.0, "")
    for name in names:
        spec, _ = _spec.resolve(name)
        kw = {p.name: spec.defaults()[p.name] for p in spec.params_for(_spec.resolve(name)[1])}
        cells = []
        for n in sizes:
            for dt in dtypes:
                ops0 = _operands(name, n, dt)
                for t in targets:
                    f = getattr(mods[t], name)
                    work = [v.copy() for v in ops0]
                    o = np.empty_like(work[0])
                    last = len(work) - 1  # in place over x (forward) or g (gradients)

                    def restore(work=work, ops0=ops0):
                        for w, v in zip(work, ops0, strict=True):
                            np.copyto(w, v)

                    def call_out(f=f, work=work, o=o, kw=kw):
                        f(*work, out=o, **kw)

                    def call_in(f=f, work=work, last=last, kw=kw):
                        f(*work, out=work[last], **kw)

                    call_out()
                    call_in()
                    t_out = _best(call_out, restore, a.repeat)
                    time.sleep(0.02)
                    t_in = _best(call_in, restore, a.repeat)
                    time.sleep(0.02)
                    r = t_in / t_out
                    worst = max(worst, (r, f"{name} {t} {dt.name} n={n:.0e}"))
                    cells.append(f"{r:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nlargest in place / out of place: {worst[0]:.2f} ({worst[1]})")


if __name__ == "__main__":
    main()
