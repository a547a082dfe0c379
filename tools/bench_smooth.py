# ruff: noqa: B023, E501  (timing lambdas are called inside the loop iteration that defines them)
"""Throughput of the smooth activations (markdown table).

Usage:  python tools/bench_smooth.py [--n 10000000] [--repeat 5] [--only gelu,silu] [--markdown PATH]

For each smooth forward and gradient, float32 and float64, N elements:
fastrelu's single-thread ufunc (``_build.build_ufunc``), the parallel target
``fastrelu.parallel.<name>`` (all cores; its prange loop above the cut-over), PyTorch CPU (if importable), a
NumPy/SciPy expression and a naive Numba kernel using ``math`` (libm calls,
no vectorisation).  Times are the best of --repeat rounds, each round timing
every column once in turn (machine noise then reaches a row's columns alike);
GB/s counts bytes read + written.  Ratios: parallel vs torch (both writing into a preallocated
output) and vs naive (likewise), single vs NumPy (both allocating their result),
and parallel vs the copy ceiling (a Numba ``prange`` copy of the same dtype and
N, all cores, timed next to each row: ``fastrelu.bench.copy_ceiling``) -- where
10x the naive kernel is above the ceiling, no kernel can reach it.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np
import scipy.special as sc

import fastrelu.parallel
from fastrelu import _build, _kernels
from fastrelu.bench import copy_ceiling

SQ2 = math.sqrt(2.0)
S2P = math.sqrt(2.0 / math.pi)

# name -> (extra params, numpy expression of x (and g), naive math scalar function)
CASES = {
    "elu": ((1.0,), lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: x if x > 0 else math.expm1(x)),
    "elu_grad": (
        (1.0,),
        lambda x, g: np.where(x > 0, g, g * np.exp(x)),
        lambda x, g: g if x > 0 else g * math.exp(x),
    ),
    "selu": (
        (),
        lambda x: 1.0507 * np.where(x > 0, x, 1.6733 * np.expm1(x)),
        lambda x: 1.0507 * (x if x > 0 else 1.6733 * math.expm1(x)),
    ),
    "selu_grad": (
        (),
        lambda x, g: g * np.where(x > 0, 1.0507, 1.7581 * np.exp(x)),
        lambda x, g: g * (1.0507 if x > 0 else 1.7581 * math.exp(x)),
    ),
    "celu": ((1.0,), lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: x if x > 0 else math.expm1(x)),
    "celu_grad": (
        (1.0,),
        lambda x, g: np.where(x > 0, g, g * np.exp(x)),
        lambda x, g: g if x > 0 else g * math.exp(x),
    ),
    "softplus": (
        (1.0, 20.0),
        lambda x: np.where(x > 20, x, np.logaddexp(x, 0)),
        lambda x: x if x > 20 else max(x, 0.0) + math.log1p(math.exp(-abs(x))),
    ),
    "softplus_grad": ((1.0, 20.0), lambda x, g: g * sc.expit(x), lambda x, g: g / (1.0 + math.exp(-x))),
    "gelu": ((), lambda x: 0.5 * x * sc.erfc(-x / SQ2), lambda x: 0.5 * x * math.erfc(-x / SQ2)),
    "gelu_grad": (
        (),
        lambda x, g: g * (0.5 * sc.erfc(-x / SQ2) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)),
        lambda x, g: g * (0.5 * math.erfc(-x / SQ2) + x * math.exp(-0.5 * x * x) * 0.3989422804014327),
    ),
    "gelu_tanh": (
        (),
        lambda x: 0.5 * x * (1 + np.tanh(S2P * (x + 0.044715 * x**3))),
        lambda x: 0.5 * x * (1 + math.tanh(S2P * (x + 0.044715 * x * x * x))),
    ),
    "gelu_tanh_grad": (
        (),
        lambda x, g: (
            g
            * (
                0.5 * (1 + np.tanh(S2P * (x + 0.044715 * x**3)))
                + 0.5 * x * (1 - np.tanh(S2P * (x + 0.044715 * x**3)) ** 2) * S2P * (1 + 3 * 0.044715 * x * x)
            )
        ),
        lambda x, g: (
            g
            * (
                0.5 * (1 + math.tanh(S2P * (x + 0.044715 * x * x * x)))
                + 0.5
                * x
                * (1 - math.tanh(S2P * (x + 0.044715 * x * x * x)) ** 2)
                * S2P
                * (1 + 3 * 0.044715 * x * x)
            )
        ),
    ),
    "silu": ((), lambda x: x / (1 + np.exp(-x)), lambda x: x / (1.0 + math.exp(-x))),
    "silu_grad": (
        (),
        lambda x, g: g * sc.expit(x) * (1 + x * (1 - sc.expit(x))),
        lambda x, g: g * (1 / (1 + math.exp(-x))) * (1 + x * (1 - 1 / (1 + math.exp(-x)))),
    ),
    "mish": ((), lambda x: x * np.tanh(np.logaddexp(x, 0)), lambda x: x * math.tanh(math.log1p(math.exp(x)))),
    "mish_grad": (
        (),
        lambda x, g: (
            g * (np.tanh(np.logaddexp(x, 0)) + x * sc.expit(x) * (1 - np.tanh(np.logaddexp(x, 0)) ** 2))
        ),
        lambda x, g: (
            g
            * (
                math.tanh(math.log1p(math.exp(x)))
                + x / (1 + math.exp(-x)) * (1 - math.tanh(math.log1p(math.exp(x))) ** 2)
            )
        ),
    ),
    "squareplus": (
        (4.0,),
        lambda x: 0.5 * (x + np.sqrt(x * x + 4.0)),
        lambda x: 0.5 * (x + math.sqrt(x * x + 4.0)),
    ),
    "squareplus_grad": (
        (4.0,),
        lambda x, g: g * 0.5 * (1 + x / np.sqrt(x * x + 4.0)),
        lambda x, g: g * 0.5 * (1 + x / math.sqrt(x * x + 4.0)),
    ),
}


def best_of(fns, repeat):
    """The best time of each callable in *fns* (a dict name -> callable, or
    None: not timed), the callables taken in turn, *repeat* rounds: every
    column of a row sees the same spells of machine noise, so the ratios of
    one row compare like with like."""
    fns = {k: f for k, f in fns.items() if f is not None}
    for f in fns.values():
        f()  # warm-up (compilation, first touch)
    ts = {k: math.inf for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            ts[k] = min(ts[k], time.perf_counter() - t0)
    return ts


def torch_fn(name):
    """torch's CPU kernel for *name* writing into a preallocated output (the
    ``out=`` / ``grad_input=`` overloads: a fresh 40 MB tensor per call costs
    more than the kernel here, page faults included), or None.  mish_backward
    has no such overload: it allocates (marked in the table)."""
    try:
        import torch
    except ImportError:
        return None
    aten = torch.ops.aten
    fwd = {
        "elu": lambda x, o: aten.elu.out(x, 1.0, 1.0, 1.0, out=o),
        "selu": lambda x, o: aten.elu.out(x, 1.6732632423543772, 1.0507009873554805, 1.0, out=o),
        "celu": lambda x, o: aten.celu.out(x, 1.0, out=o),
        "softplus": lambda x, o: aten.softplus.out(x, 1.0, 20.0, out=o),
        "gelu": lambda x, o: aten.gelu.out(x, out=o),
        "gelu_tanh": lambda x, o: aten.gelu.out(x, approximate="tanh", out=o),
        "silu": lambda x, o: aten.silu.out(x, out=o),
        "mish": lambda x, o: aten.mish.out(x, out=o),
    }
    bwd = {
        "elu": lambda g, x, o: aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, False, x, grad_input=o),
        "selu": lambda g, x, o: aten.elu_backward.grad_input(
            g, 1.6732632423543772, 1.0507009873554805, 1.0, False, x, grad_input=o
        ),
        "celu": lambda g, x, o: aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, False, x, grad_input=o),
        "softplus": lambda g, x, o: aten.softplus_backward.grad_input(g, x, 1.0, 20.0, grad_input=o),
        "gelu": lambda g, x, o: aten.gelu_backward.grad_input(g, x, grad_input=o),
        "gelu_tanh": lambda g, x, o: aten.gelu_backward.grad_input(g, x, approximate="tanh", grad_input=o),
        "silu": lambda g, x, o: aten.silu_backward.grad_input(g, x, grad_input=o),
        "mish": lambda g, x, o: aten.mish_backward(g, x),  # no out overload: allocates
    }
    base = name.removesuffix("_grad")
    if base not in fwd:
        return None
    grad = name.endswith("_grad")
    f = bwd[base] if grad else fwd[base]

    def call(x, g, out):
        with torch.no_grad():
            return f(g, x, out) if grad else f(x, out)

    return call


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write the table into PATH between its <!-- fastrelu-smooth:start/end --> lines",
    )
    args = ap.parse_args(argv)
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    only = set(filter(None, args.only.split(",")))
    rng = np.random.default_rng(0)
    torch_v = "not installed"
    try:
        import torch

        torch.set_num_threads(numba.get_num_threads())
        torch_v = torch.__version__
    except ImportError:
        pass
    info = fastrelu.parallel.threading_info()  # starts the threading layer
    emit(
        f"*N = {args.n:.0e}, best of {args.repeat}; GB/s (bytes read + written). fastrelu {fastrelu.__version__}, "
        f"NumPy {np.__version__}, Numba {numba.__version__}, torch {torch_v}; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, threading layer {info['threading_layer']} ({info['num_threads']} threads).*\n"
    )
    emit(
        "| function | dtype | single | parallel | torch | numpy | naive | copy | par/torch | par/naive "
        "| single/numpy | par/copy |"
    )
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (params, npf, naive) in CASES.items():
        if only and name.removesuffix("_grad") not in only and name not in only:
            continue
        kernel = getattr(_kernels, name)
        nin = kernel.__code__.co_argcount
        grad = name.endswith("_grad")
        uf = _build.build_ufunc(kernel, name, nin, [np.float32, np.float64])
        par = getattr(fastrelu.parallel, name)
        naive_k = numba.njit(error_model="numpy")(naive)
        if grad:

            @numba.vectorize(["float32(float32, float32)", "float64(float64, float64)"])
            def naive_uf(x, g):
                return naive_k(x, g)
        else:

            @numba.vectorize(["float32(float32)", "float64(float64)"])
            def naive_uf(x):
                return naive_k(x)

        tf = torch_fn(name)
        for dt in (np.float32, np.float64):
            x = rng.standard_normal(args.n).astype(dt) * dt(3)
            g = np.ones_like(x)
            out = np.empty_like(x)
            extra = list(params)  # Python numbers, as users pass them
            ins = [x, g] if grad else [x]
            nbytes = x.nbytes * (len(ins) + 1)
            tx = tg = to = None
            if tf is not None:
                import torch

                tx, tg, to = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(out)
            copy = copy_ceiling("numba prange", x, out)

            def numpy_expr():
                with np.errstate(all="ignore"):
                    npf(*ins)

            # NumPy's expression allocates its result: compared with the
            # allocating call a user would swap it for
            ts = best_of(
                {
                    "single": lambda: uf(*ins, *extra, out=out),
                    "single_alloc": lambda: uf(*ins, *extra),
                    "par": lambda: par(*ins, *extra, out=out),
                    "numpy": numpy_expr,
                    "naive": lambda: naive_uf(*ins, out=out),
                    "copy": copy,
                    "torch": None if tf is None else (lambda: tf(tx, tg, to)),
                },
                args.repeat,
            )
            t_single, t_single_alloc, t_par = ts["single"], ts["single_alloc"], ts["par"]
            t_np, t_naive, t_torch = ts["numpy"], ts["naive"], ts.get("torch")
            # the copy ceiling in GB/s (bytes read + written by the copy)
            copy_gbs = 2 * x.nbytes / ts["copy"] / 1e9

            def gb(t):
                return "—" if t is None else f"{nbytes / t / 1e9:.1f}"

            def ratio(a, b):
                return "—" if a is None or b is None else f"{a / b:.2f}x"

            emit(
                f"| {name} | {np.dtype(dt).name} | {gb(t_single)} | {gb(t_par)} | {gb(t_torch)} | {gb(t_np)} | "
                f"{gb(t_naive)} | {copy_gbs:.1f} | {ratio(t_torch, t_par)} | {ratio(t_naive, t_par)} | "
                f"{ratio(t_np, t_single_alloc)} | {nbytes / t_par / 1e9 / copy_gbs:.2f} |"
            )
    if args.markdown is not None:
        from fastrelu.bench import write_markdown

        argv_s = " ".join(sys.argv[1:]) if argv is None else " ".join(argv)
        head = f"<!-- generated by `python tools/bench_smooth.py {argv_s}`: do not edit by hand -->\n"
        write_markdown(args.markdown, head + "\n".join(lines), "fastrelu-smooth")


if __name__ == "__main__":
    main()
