"""Generate ``tests/data/torch_reference.npz``: PyTorch values for the parity tests.

Usage::

    .venv/bin/python tools/make_torch_reference.py

For every table row with a ``torch`` name and for float32 and float64, the
script evaluates ``torch.nn.functional`` (forward) and autograd (gradient for
an incoming ``g``) on an edge-case grid: the row's domain, its kinks and their
neighbours, tiny values, NaN, ±inf, ±0.0, subnormals and the largest finite
values, plus (x, g) pairs with g = NaN/±inf.  Every point is evaluated ONE
ELEMENT AT A TIME (1-element tensors): PyTorch's vectorised CPU path answers
differently for special values (see docs/semantics.md), and fastrelu follows the
scalar path.  The fixture records the torch version and this description.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fastrelu import _spec  # noqa: E402

OUT = ROOT / "tests" / "data" / "torch_reference.npz"
NAN, INF = float("nan"), float("inf")


def torch_call(row, x):
    name, _, variant = row.torch.partition(":")
    p = row.defaults()
    if name == "gelu":
        return F.gelu(x, approximate=variant or "none")
    if name == "prelu":
        return F.prelu(x, torch.tensor([p["weight"]], dtype=x.dtype))
    if name == "rrelu":
        return F.rrelu(x, p["lower"], p["upper"], training=False)
    if name == "threshold":
        return F.threshold(x, p["threshold"], p["value"])
    if name == "hardtanh":
        return F.hardtanh(x, p["min_val"], p["max_val"])
    fn = getattr(F, name)
    return fn(x, *p.values())


def grid(row, dtype):
    fi = np.finfo(dtype)
    lo, hi = row.domain
    pts = list(np.linspace(lo, hi, 201))
    for k in row.kinks:
        kx = np.asarray(k.x, dtype)
        pts += [k.x, float(np.nextafter(kx, dtype(INF))), float(np.nextafter(kx, dtype(-INF)))]
    pts += [1e-3, -1e-3, 1e-7, -1e-7, -5.0, -5.5, -6.0, -8.0, -20.0, -50.0, -89.5, -100.0, 25.0, 50.0]
    pts += [
        NAN,
        INF,
        -INF,
        0.0,
        -0.0,
        float(fi.smallest_subnormal),
        -float(fi.smallest_subnormal),
        float(fi.smallest_normal) / 4,
        float(fi.max),
        float(fi.min),
    ]
    x = np.array(pts, dtype=dtype)
    g = np.ones_like(x)
    # incoming NaN/inf gradients where the local gradient is 0 and where it is not
    xs = np.array([-5.0, -3.0, 0.0, 0.5, 2.0, 7.0, -INF, INF, NAN], dtype=dtype)
    for gv in (NAN, INF, -INF):
        x = np.concatenate([x, xs])
        g = np.concatenate([g, np.full_like(xs, gv)])
    return x, g


def evaluate(row, x, g):
    y = np.empty_like(x)
    dx = np.empty_like(x)
    for i in range(x.size):  # one element at a time: the scalar path
        t = torch.tensor([x[i]], requires_grad=True)
        out = torch_call(row, t)
        out.backward(torch.tensor([g[i]], dtype=t.dtype))
        y[i] = out.detach().numpy()[0]
        dx[i] = t.grad.numpy()[0]
    return y, dx


def main() -> None:
    data = {}
    for row in _spec.TABLE:
        if not row.torch:
            continue
        for dtype in (np.float32, np.float64):
            x, g = grid(row, dtype)
            y, dx = evaluate(row, x, g)
            key = f"{row.name}/{np.dtype(dtype).name}"
            data[key + "/x"], data[key + "/g"], data[key + "/y"], data[key + "/dx"] = x, g, y, dx
    script = Path(__file__).read_bytes()
    data["meta/torch_version"] = np.array(torch.__version__)
    data["meta/numpy_version"] = np.array(np.__version__)
    data["meta/how"] = np.array(
        "tools/make_torch_reference.py: torch.nn.functional forward + autograd backward(g), "
        "CPU, one element at a time (1-element tensors), default parameters of fastrelu._spec"
    )
    data["meta/script_sha256"] = np.array(hashlib.sha256(script).hexdigest())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
