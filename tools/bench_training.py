"""Benchmark fastrelu.training: diagnostics overhead and 1-bit-mask fwd/bwd.

Measured in one run, on the same arrays (float32 by default):

* bandwidth references: a 2-array pass (``np.copyto``) and a 3-array pass
  (``np.add(a, b, out=c)``);
* forward alone (``bias_act``) vs forward + diagnostics (target <= 1.2x);
* mask backward (``relu_grad_mask``) vs the x-reading backward
  (``fastrelu.relu_grad`` serial, ``fastrelu.parallel.relu_grad``), fresh
  ``out`` and in place (``out=g``);
* forward-with-mask + mask backward vs forward + x-reading backward;
* torch ``relu`` + ``threshold_backward`` alongside, when torch is installed.

Times are the minimum of ``--repeat`` runs (ms).  Usage::

    python tools/bench_training.py [--rows 8192 --cols 1024 --dtype float32]
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

import fastrelu
import fastrelu.training as tr


def timeit(f, repeat):
    f()
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--cols", type=int, default=1024)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeat", type=int, default=30)
    a = ap.parse_args(argv)
    dt = np.dtype(a.dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.rows, a.cols)).astype(dt)
    g = rng.standard_normal(x.shape).astype(dt)
    b = rng.standard_normal(a.cols).astype(dt)
    o = np.empty_like(x)
    gi = g.copy()
    r = a.repeat
    nbytes = x.nbytes
    print(
        f"shape {x.shape} {dt}, {nbytes / 2**20:.0f} MiB per array, numba threads "
        f"{numba.get_num_threads()}, "
        f"cpus {os.cpu_count()}  [min of {r} runs, ms]"
    )
    rows = []

    def rec(name, ms, ref=None):
        rows.append((name, ms, ref))

    t2 = timeit(lambda: np.copyto(o, x), r)
    t3 = timeit(lambda: np.add(x, g, out=o), r)
    rec("2-array pass (np.copyto)", t2)
    rec("3-array pass (np.add)", t3)
    _, m = tr.relu_mask(x, b)
    pgrad = getattr(getattr(fastrelu, "parallel", None), "relu_grad", None)

    def run_target(par):
        tag = "parallel" if par else "serial"
        tf = timeit(lambda: tr.bias_act(x, b, out=o, parallel=par), r)
        ts = timeit(lambda: tr.bias_act(x, b, out=o, diagnostics=True, parallel=par), r)
        rec(f"[{tag}] bias_act relu", tf)
        rec(f"[{tag}] bias_act relu + diagnostics", ts, ("fwd+diag / fwd", ts / tf))
        xg = fastrelu.relu_grad if not par else pgrad
        if xg is not None:
            txf = timeit(lambda: xg(x, g, out=o), r)
            np.copyto(gi, g)
            txi = timeit(lambda: xg(x, gi, out=gi), r)
        else:
            txf = txi = np.nan
        tmf = timeit(lambda: tr.relu_grad_mask(m, g, out=o, parallel=par), r)
        tmi = timeit(lambda: tr.relu_grad_mask(m, gi, out=gi, parallel=par), r)
        rec(f"[{tag}] x-reading relu_grad, fresh out", txf)
        rec(f"[{tag}] x-reading relu_grad, in place", txi)
        rec(f"[{tag}] relu_grad_mask, fresh out", tmf, ("x-reading / mask", txf / tmf))
        rec(f"[{tag}] relu_grad_mask, in place", tmi, ("x-reading / mask", txi / tmi))
        tfm = timeit(lambda: tr.relu_mask(x, b, out=o, parallel=par), r)
        rec(f"[{tag}] relu_mask (fwd + mask)", tfm, ("/ bias_act", tfm / tf))
        fwdbwd_mask = tfm + tmi
        fwdbwd_x = tf + txi
        rec(
            f"[{tag}] fwd+mask + mask bwd (in place)",
            fwdbwd_mask,
            ("x-path / mask-path", fwdbwd_x / fwdbwd_mask),
        )
        rec(f"[{tag}] fwd + x-reading bwd (in place)", fwdbwd_x)

    for par in (False, True):
        run_target(par)

    # bytes moved per element: x-reading bwd reads x and g, writes out (3 arrays);
    # mask bwd reads 1/8 byte and g, writes out
    isz = dt.itemsize
    print(
        f"bytes/element: x-reading bwd {3 * isz}, mask bwd {2 * isz + 0.125:.3f} "
        f"(ratio {3 * isz / (2 * isz + 0.125):.2f}); saved state {isz} vs 0.125 bytes"
    )
    try:
        import torch

        torch.set_num_threads(numba.get_num_threads())
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)
        tt = timeit(lambda: torch.relu(xt), r)
        ttb = timeit(lambda: torch.ops.aten.threshold_backward(gt, xt, 0.0), r)
        rec("torch relu", tt)
        rec("torch threshold_backward", ttb)
        rec("torch relu + threshold_backward", tt + ttb)
    except ImportError:
        print("(torch not installed)")
    for name, ms, ref in rows:
        extra = f"   {ref[0]} = {ref[1]:.2f}x" if ref else ""
        print(f"{name:45s} {ms:8.3f}{extra}")


if __name__ == "__main__":
    main()
