"""Benchmark fastrelu.torch against torch eager: forward + backward of one module.

For each module, one training-loop step on a tensor of ``--shape`` (float32 by
default)::

    y = module(x); y.backward(g); x.grad = None

timed for ``torch.nn.X()`` (torch eager), ``fastrelu.torch.X()`` and the raw
parallel ufuncs doing the same work (``y = fastrelu.parallel.f(x)``,
``dx = fastrelu.parallel.f_grad(x, g)``: fresh outputs, no autograd).

Timing method (2 cores: torch's OpenMP threads and Numba's TBB threads spin
for a while after their last task and steal cores from the other pool):

* ``--method blocks`` (default): each (module, library) is timed in its own
  block of ``--repeat`` steps after ``--warmup`` steps, with a ``--pause``
  (default 0.2 s) between blocks; the time is the median of the block (and
  its minimum);
* ``--method pause``: the libraries alternate step by step, with a
  ``--pause`` (default 0.02 s) before every timed step.

Usage::

    python tools/bench_torch.py [--threads 2 --shape 4096 4096 --modules ReLU GELU]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numba
import numpy as np
import torch

import fastrelu
import fastrelu.parallel as par
import fastrelu.torch as ft

#: module name -> (constructor kwargs, raw ufunc name, its forward params)
MODULES = {
    "ReLU": ({}, "relu", ()),
    "ReLU6": ({}, "relu6", ()),
    "LeakyReLU": ({"negative_slope": 0.01}, "leaky_relu", (0.01,)),
    "Hardtanh": ({}, "hardtanh", (-1.0, 1.0)),
    "Threshold": ({"threshold": 0.1, "value": 20.0}, "threshold", (0.1, 20.0)),
    "RReLU": ({}, "rrelu", (1 / 8, 1 / 3)),
    "PReLU": ({}, "prelu", (0.25,)),
    "ELU": ({}, "elu", (1.0,)),
    "SELU": ({}, "selu", ()),
    "CELU": ({}, "celu", (1.0,)),
    "GELU": ({}, "gelu", ()),
    "SiLU": ({}, "silu", ()),
    "Mish": ({}, "mish", ()),
    "Softplus": ({}, "softplus", (1.0, 20.0)),
    "Hardsigmoid": ({}, "hardsigmoid", ()),
    "Hardswish": ({}, "hardswish", ()),
}
GOAL_15 = {"GELU", "SiLU", "Mish"}


def step_fn(module, x, g):
    def step():
        y = module(x)
        y.backward(g)
        x.grad = None

    return step


def raw_fn(name, params, xn, gn):
    import fastrelu.training as tr
    from fastrelu._spec import BY_NAME

    if name == "rrelu":  # the module's default: training mode

        def step():
            tr.rrelu_train(xn, *params, seed=1)
            tr.rrelu_train_grad(xn, gn, *params, seed=1)

        return step
    if name == "prelu":  # dx and dw
        w = np.full(1, params[0], xn.dtype)

        def step():
            par.prelu(xn, w)
            tr.prelu_backward(xn, gn, w)

        return step
    spec = BY_NAME[name]
    f = getattr(par, name)
    fg = getattr(par, name + "_grad")
    gparams = [p for p, sp in zip(params, spec.params, strict=False) if sp in spec.grad_param_list]

    def step():
        f(xn, *params)
        fg(xn, gn, *gparams)

    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs="+", default=[4096, 4096])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--method", choices=("blocks", "pause"), default="blocks")
    ap.add_argument("--pause", type=float, default=None)
    ap.add_argument("--modules", nargs="+", default=list(MODULES))
    a = ap.parse_args(argv)
    pause = a.pause if a.pause is not None else (0.2 if a.method == "blocks" else 0.02)
    torch.set_num_threads(a.threads)
    numba.set_num_threads(min(a.threads, numba.config.NUMBA_NUM_THREADS))
    dt = getattr(torch, a.dtype)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(a.shape, generator=gen, dtype=dt).requires_grad_(True)
    g = torch.randn(a.shape, generator=gen, dtype=dt)
    xn, gn = x.detach().numpy(), g.numpy()

    layer = par.threading_info()["threading_layer"]
    print(
        f"shape {tuple(a.shape)} {a.dtype}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads, {layer}), "
        f"fastrelu {fastrelu.__version__}, cpus {os.cpu_count()}"
    )
    print(
        f"method: {a.method} ({'own block per library' if a.method == 'blocks' else 'alternating steps'}, "
        f"{pause * 1e3:.0f} ms pause {'between blocks' if a.method == 'blocks' else 'before each step'}), "
        f"{a.repeat} timed steps; ms per forward+backward step, median (min)"
    )
    hdr = f"{'module':12s} {'torch eager':>16s} {'fastrelu.torch':>16s} {'raw parallel':>16s}"
    hdr += f" {'speed-up':>9s}  goal"
    print(hdr)
    print("-" * len(hdr))
    for name in a.modules:
        kw, fname, params = MODULES[name]
        tm = getattr(torch.nn, name)(**kw)
        fm = getattr(ft, name)(**kw)
        fns = {
            "torch": step_fn(tm, x, g),
            "fastrelu": step_fn(fm, x, g),
            "raw": raw_fn(fname, params, xn, gn),
        }
        times = {k: [] for k in fns}
        if a.method == "blocks":
            for k, f in fns.items():
                time.sleep(pause)
                for _ in range(a.warmup):
                    f()
                for _ in range(a.repeat):
                    t = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t)
        else:
            for f in fns.values():
                for _ in range(a.warmup):
                    f()
            for _ in range(a.repeat):
                for k, f in fns.items():
                    time.sleep(pause)
                    t = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        mn = {k: min(v) * 1e3 for k, v in times.items()}
        cells = [f"{med[k]:7.2f} ({mn[k]:6.2f})" for k in fns]
        goal = 1.5 if name in GOAL_15 else 1.0
        sp = med["torch"] / med["fastrelu"]
        print(f"{name:12s} {cells[0]:>16s} {cells[1]:>16s} {cells[2]:>16s} {sp:8.2f}x  >= {goal}")


if __name__ == "__main__":
    main()
