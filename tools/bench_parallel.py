"""Benchmark of the parallel CPU target against the memory ceiling, NumPy and torch.

Prints a markdown table (one run; ratios are taken within the same run):

* forward piecewise functions vs the **copy ceiling** -- the faster of
  ``np.copyto(o, x)`` and a prange copy -- and vs NumPy's
  ``np.maximum(x, 0, out=o)``;
* gradients vs a **3-array pass** -- the faster of ``np.add(a, b, out=o)``
  and a prange add;
* torch CPU (``torch.clamp_min(x, 0, out=o)``, i.e. relu with ``out=``), when
  importable, with the same number of threads;
* the small-call overhead: ``fastrelu.parallel.relu(x, out=o)`` at N=1e3 vs
  ``np.maximum(x, 0, out=o)``.

Usage::

    python tools/bench_parallel.py                 # N = 1e3, 1e7, 1e8
    python tools/bench_parallel.py --sizes 1e3 1e7 --dtypes float32
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit, prange

import fastrelu
from fastrelu import parallel
from fastrelu._spec import resolve

FORWARD = ["relu", "leaky_relu", "relu6", "hardtanh", "threshold"]
GRADS = ["relu_grad", "leaky_relu_grad", "relu6_grad", "hardtanh_grad", "threshold_grad"]


@njit(parallel=True)
def _pcopy(x, o):
    for i in prange(x.shape[0]):
        o[i] = x[i]


@njit(parallel=True)
def _padd(a, b, o):
    for i in prange(a.shape[0]):
        o[i] = a[i] + b[i]


def _best(fn, n: int, budget: float = 0.25) -> float:
    """Best time per call (s): repeats sized so that one batch takes ~budget/5."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, min(20000, int(budget / 5 / one)))
    best = np.inf
    for _ in range(5 if n < 10**8 else 3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def _params(name: str) -> dict:
    spec, kind = resolve(name)
    d = spec.defaults()
    if kind != "forward":
        keep = {p.name for p in spec.grad_param_list}
        d = {k: v for k, v in d.items() if k in keep}
    return d


def _fmt_t(t: float) -> str:
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms"


def _rows(dt: np.dtype, n: int, rng, torch) -> None:
    """Print the table rows of one dtype and size."""
    x = rng.standard_normal(n, dtype=np.float32).astype(dt, copy=False) * 4
    g = rng.standard_normal(n, dtype=np.float32).astype(dt, copy=False)
    o = np.zeros_like(x)
    torch_t = None
    if torch is not None:
        xt, ot = torch.from_numpy(x), torch.from_numpy(o)
        torch_t = _best(lambda: torch.clamp_min(xt, 0, out=ot), n)
    for name in FORWARD + GRADS:
        par, cpu = getattr(parallel, name), getattr(fastrelu, name)
        kw = _params(name)
        a = (x,) if name in FORWARD else (x, g)
        # the references are timed next to each row: the machine's bandwidth
        # drifts over a run, the ratios are taken within seconds
        if name in FORWARD:
            ceil_t = min(_best(lambda: np.copyto(o, x), n), _best(lambda: _pcopy(x, o), n))
            npmax_t = _best(lambda: np.maximum(x, 0, out=o), n)
        else:
            ceil_t = min(_best(lambda: np.add(x, g, out=o), n), _best(lambda: _padd(x, g, o), n))
        t = _best(lambda: par(*a, out=o, **kw), n)  # noqa: B023
        tc = _best(lambda: cpu(*a, out=o, **kw), n)  # noqa: B023
        nbytes = (len(a) + 1) * n * dt.itemsize
        vs_np = f"{npmax_t / t:.2f}x" if name in FORWARD else "—"
        tor = _fmt_t(torch_t) if (torch_t is not None and name == "relu") else "—"
        print(
            f"| {name} | {dt.name} | {n:.0e} | {_fmt_t(t)} | {nbytes / t / 1e9:.1f} "
            f"| {nbytes / ceil_t / 1e9:.1f} | {ceil_t / t:.2f} | {vs_np} | {_fmt_t(tc)} | {tor} |",
            flush=True,
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", default=["1e3", "1e7", "1e8"])
    ap.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes]
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(numba.get_num_threads())
        except ImportError:
            torch = None

    info = parallel.threading_info()
    print(
        f"threading layer: {info['threading_layer']}, threads: {info['num_threads']}, "
        f"cut-over: {info['parallel_cutover']}, streaming stores from {info['stream_min_bytes']} B, "
        f"numba {numba.__version__}, numpy {np.__version__}"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "")
    )
    print()
    print(
        "| function | dtype | N | fastrelu.parallel | GB/s | ceiling GB/s | vs ceiling "
        "| vs np.maximum | cpu target | torch |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for dts in args.dtypes:
        for n in sizes:
            _rows(np.dtype(dts), n, rng, torch)
    print()
    print(
        "ceiling: faster of np.copyto and a prange copy (forward), of np.add(a, b, out=o) and a "
        "prange add (gradients), timed just before each row; vs np.maximum: time of "
        "np.maximum(x, 0, out=o) / time of fastrelu (at N=1e3 this is the call-overhead "
        "ratio; >= 0.8 meets <= 1.25x)."
    )


if __name__ == "__main__":
    main()
