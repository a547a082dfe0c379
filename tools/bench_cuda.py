"""GPU benchmark of the CUDA target (run on a machine with a GPU).

    python tools/bench_cuda.py [--n 100000000] [--small 1000] [--names relu,gelu]

Prints markdown tables:

1. every forward/grad in float32 at N elements: fastrelu.cuda time, effective
   bandwidth, fraction of device-to-device copy bandwidth, and the matching
   torch function's time where one exists;
2. per-call latency at ``--small`` elements with CuPy and torch inputs (the
   launch path's overhead), next to torch's own op.
"""

from __future__ import annotations

import argparse
import time

from fastrelu._spec import public_names, resolve


def _timeit(fn, sync, reps):
    fn()
    sync()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def _params(name):
    spec, kind = resolve(name)
    d = spec.defaults()
    plist = spec.params if kind == "forward" else spec.grad_param_list
    return [d[p.name] for p in plist]


def _torch_fn(name):
    import torch
    import torch.nn.functional as F

    spec, kind = resolve(name)
    if kind != "forward" or not spec.torch:
        return None
    fname = spec.torch.split("(")[0]
    f = getattr(F, fname, None)
    if f is None:
        return None
    if name == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "prelu":
        w = torch.tensor([0.25], device="cuda")
        return lambda x: F.prelu(x, w)
    if name == "threshold":
        return lambda x: F.threshold(x, *_params(name))
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**8)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--names", default="")
    a = ap.parse_args()

    import torch

    import fastrelu.cuda as fc

    names = a.names.split(",") if a.names else public_names()
    sync = torch.cuda.synchronize
    n = a.n
    x = torch.linspace(-5, 5, n, device="cuda")
    g = torch.ones_like(x)
    y = torch.empty_like(x)
    t_copy = _timeit(lambda: y.copy_(x), sync, 20)
    bw_copy = 2 * 4 * n / t_copy / 1e9
    print(f"device: {torch.cuda.get_device_name()}; N = {n:.0e} float32; d2d copy {bw_copy:.0f} GB/s\n")
    print("| function | fastrelu.cuda ms | GB/s | vs copy | torch ms |")
    print("|---|---|---|---|---|")
    for name in names:
        _spec, kind = resolve(name)
        data = [x] if kind == "forward" else [x, g]
        p = _params(name)
        f = getattr(fc, name)
        t = _timeit(lambda f=f, data=data, p=p: f(*data, *p, out=y), sync, 10)
        nbytes = 4 * n * (len(data) + 1)
        tf = _torch_fn(name)
        tt = f"{_timeit(lambda tf=tf: tf(x), sync, 10) * 1e3:.3f}" if tf else "—"
        print(
            f"| {name} | {t * 1e3:.3f} | {nbytes / t / 1e9:.0f} | {nbytes / t / 1e9 / bw_copy:.2f} | {tt} |"
        )

    print(
        f"\nper-call latency, N = {a.small} float32 "
        "(µs per call, host time of back-to-back asynchronous calls)\n"
    )
    print("| function | cupy in | torch in | torch op |")
    print("|---|---|---|---|")
    xs = torch.linspace(-5, 5, a.small, device="cuda")
    try:
        import cupy as cp

        xc = cp.linspace(-5, 5, a.small, dtype=cp.float32)
    except ImportError:
        xc = None
    for name in ("relu", "leaky_relu", "gelu", "silu_grad", "hardtanh_grad"):
        _spec, kind = resolve(name)
        p = _params(name)
        f = getattr(fc, name)
        td = [xs] if kind == "forward" else [xs, xs]
        tt = _timeit(lambda f=f, td=td, p=p: f(*td, *p), lambda: None, 2000)
        if xc is not None:
            cd = [xc] if kind == "forward" else [xc, xc]
            tc = f"{_timeit(lambda f=f, cd=cd, p=p: f(*cd, *p), lambda: None, 2000) * 1e6:.1f}"
        else:
            tc = "—"
        tf = _torch_fn(name)
        to = f"{_timeit(lambda tf=tf: tf(xs), lambda: None, 2000) * 1e6:.1f}" if tf else "—"
        print(f"| {name} | {tc} | {tt * 1e6:.1f} | {to} |")
    sync()


if __name__ == "__main__":
    main()
