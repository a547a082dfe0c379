"""Benchmark fastrelu.training: diagnostics overhead and 1-bit-mask fwd/bwd.

Measured in one run, on the same arrays (float32 by default), every timing
the minimum of ``--repeat`` rounds in which all benchmarks run in turn (so a
noisy minute affects them alike; ratios are taken within the run):

* bandwidth references: a 2-array pass (``np.negative(x, out=o)``: the ufunc machinery, as
  np.add; np.copyto took another path, 1.5x slower than np.add here) and a 3-array pass
  (``np.add(a, b, out=c)``), and the same in place (``np.negative(g,
  out=g)``, ``np.add(x, g, out=g)``);
* forward alone (``bias_act``) vs forward + diagnostics (goal <= 1.2x);
* mask backward (``relu_grad_mask``) vs the x-reading backward
  (``fastrelu.relu_grad`` serial, ``fastrelu.parallel.relu_grad``), fresh
  ``out`` and in place (``out=g``).  "allowed" is the speed-up the byte count
  allows, measured as (3-array pass / 2-array pass) of the matching kind;
  "efficiency" = (x-reading / mask) / allowed (goal >= 0.9).  The NumPy
  passes store normally and run NumPy's loops, while fastrelu's x-reading
  gradient runs fastrelu's (streamed stores for a large fresh ``out`` on the
  parallel target), so a second reference is taken from fastrelu's own loops
  of the same target: the 2-array pass ``relu(x, out=o)`` against the 3-array
  pass ``relu_grad(x, g, out=o)`` (the x-reading backward itself).  With it,
  efficiency = 2-array pass / mask backward: the mask backward against the
  time of moving its two arrays;
* forward-with-mask + mask backward vs forward + x-reading backward (goal > 1);
* torch ``relu`` + ``threshold_backward`` alongside, when torch is installed.

Usage::

    python tools/bench_training.py [--rows 8192 --cols 1024 --dtype float32 --repeat 30]
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

import fastrelu
import fastrelu.training as tr


def timings(fns: dict, repeat: int) -> dict:
    """Best time (ms) of each callable over *repeat* interleaved rounds."""
    for f in fns.values():
        f()
    best = dict.fromkeys(fns, np.inf)
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t)
    return {k: v * 1e3 for k, v in best.items()}


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
    _, m = tr.relu_mask(x, b)
    pgrad = fastrelu.parallel.relu_grad
    fns = {
        "2-array pass (np.negative)": lambda: np.negative(x, out=o),
        "3-array pass (np.add)": lambda: np.add(x, g, out=o),
        "2-array pass in place (np.negative)": lambda: np.negative(gi, out=gi),
        "3-array pass in place (np.add)": lambda: np.add(x, gi, out=gi),
    }
    for par in (False, True):
        tag = "[parallel]" if par else "[serial]"
        xg = pgrad if par else fastrelu.relu_grad
        xf = fastrelu.parallel.relu if par else fastrelu.relu
        fns.update(
            {
                f"{tag} bias_act relu": lambda par=par: tr.bias_act(x, b, out=o, parallel=par),
                f"{tag} bias_act relu + diagnostics": lambda par=par: tr.bias_act(
                    x, b, out=o, diagnostics=True, parallel=par
                ),
                f"{tag} relu_mask (fwd + mask)": lambda par=par: tr.relu_mask(x, b, out=o, parallel=par),
                f"{tag} 2-array pass relu, fresh out": lambda xf=xf: xf(x, out=o),
                f"{tag} 2-array pass relu, in place": lambda xf=xf: xf(gi, out=gi),
                f"{tag} x-reading relu_grad, fresh out": lambda xg=xg: xg(x, g, out=o),
                f"{tag} x-reading relu_grad, in place": lambda xg=xg: xg(x, gi, out=gi),
                f"{tag} relu_grad_mask, fresh out": lambda par=par: tr.relu_grad_mask(
                    m, g, out=o, parallel=par
                ),
                f"{tag} relu_grad_mask, in place": lambda par=par: tr.relu_grad_mask(
                    m, gi, out=gi, parallel=par
                ),
            }
        )
    try:
        import torch

        torch.set_num_threads(numba.get_num_threads())
        xt, gt, ot = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(o)
        aten = torch.ops.aten
        # like fastrelu's rows, torch writes into a preallocated output
        # (relu.out, threshold_backward.grad_input): a fresh 32 MiB tensor
        # per call costs more than the kernel on this machine
        tfns = {
            "torch relu": lambda: aten.relu.out(xt, out=ot),
            "torch threshold_backward": lambda: aten.threshold_backward.grad_input(
                gt, xt, 0.0, grad_input=ot
            ),
        }
    except ImportError:
        torch = None
    t = timings(fns, a.repeat)
    if torch is not None:
        # in their own rounds (torch's thread pool beside Numba's)
        t.update(timings(tfns, a.repeat))
    print(
        f"shape {x.shape} {dt}, {x.nbytes / 2**20:.0f} MiB per array, numba threads "
        f"{numba.get_num_threads()}, cpus {os.cpu_count()}  [best of {a.repeat} interleaved rounds, ms]"
    )
    isz = dt.itemsize
    print(
        f"bytes/element: x-reading bwd {3 * isz}, mask bwd {2 * isz + 0.125:.3f} "
        f"(ratio {3 * isz / (2 * isz + 0.125):.2f}); saved state {isz} vs 0.125 bytes"
    )
    allowed = {
        "fresh out": t["3-array pass (np.add)"] / t["2-array pass (np.negative)"],
        "in place": t["3-array pass in place (np.add)"] / t["2-array pass in place (np.negative)"],
    }
    rows = [(k, t[k], "") for k in list(fns)[:4]]
    for kind, al in allowed.items():
        rows.append((f"allowed mask-bwd speed-up, {kind} (3-pass / 2-pass)", np.nan, f"{al:.2f}x"))
    for tag in ("[serial]", "[parallel]"):
        tf = t[f"{tag} bias_act relu"]
        ts = t[f"{tag} bias_act relu + diagnostics"]
        tfm = t[f"{tag} relu_mask (fwd + mask)"]
        rows.append((f"{tag} bias_act relu", tf, ""))
        rows.append(
            (f"{tag} bias_act relu + diagnostics", ts, f"fwd+diag / fwd = {ts / tf:.2f}x (goal <= 1.2)")
        )
        rows.append((f"{tag} relu_mask (fwd + mask)", tfm, f"/ bias_act = {tfm / tf:.2f}x"))
        for kind in ("fresh out", "in place"):
            tx = t[f"{tag} x-reading relu_grad, {kind}"]
            tm = t[f"{tag} relu_grad_mask, {kind}"]
            t2 = t[f"{tag} 2-array pass relu, {kind}"]
            rows.append((f"{tag} 2-array pass relu, {kind}", t2, f"allowed (fastrelu loops) {tx / t2:.2f}x"))
            rows.append((f"{tag} x-reading relu_grad, {kind}", tx, ""))
            rows.append(
                (
                    f"{tag} relu_grad_mask, {kind}",
                    tm,
                    f"x-reading / mask = {tx / tm:.2f}x, "
                    f"efficiency {tx / tm / allowed[kind]:.2f} (NumPy ref), "
                    f"{t2 / tm:.2f} (fastrelu ref) (goal >= 0.9)",
                )
            )
        mask_path = tfm + t[f"{tag} relu_grad_mask, in place"]
        x_path = tf + t[f"{tag} x-reading relu_grad, in place"]
        rows.append(
            (
                f"{tag} fwd+mask + mask bwd (in place)",
                mask_path,
                f"x-path / mask-path = {x_path / mask_path:.2f}x (goal > 1)",
            )
        )
        rows.append((f"{tag} fwd + x-reading bwd (in place)", x_path, ""))
    if torch is not None:
        tt, ttb = t["torch relu"], t["torch threshold_backward"]
        rows += [
            ("torch relu", tt, ""),
            ("torch threshold_backward", ttb, ""),
            ("torch relu + threshold_backward", tt + ttb, ""),
        ]
    else:
        print("(torch not installed)")
    for name, ms, extra in rows:
        val = "" if np.isnan(ms) else f"{ms:8.3f}"
        print(f"{name:52s} {val:>8s}   {extra}".rstrip() if val else f"{name:52s}            {extra}")


if __name__ == "__main__":
    main()
