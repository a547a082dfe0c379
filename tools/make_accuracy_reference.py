"""Build fastrelu/data/accuracy_reference.npz: high-precision references for the
smooth activations and their gradients (default parameters).

Usage:  python tools/make_accuracy_reference.py [--points N]

For each function and each dtype (float32, float64) the grid holds dense
points near 0, magnitudes from the smallest subnormal to the largest finite
value (both signs), the function's tails and uniform random samples; every x
is exactly representable in the dtype.  The reference is computed with mpmath
(``mp.prec`` = 256 bits) on stable forms and stored as a double-word
``ref_hi + ref_lo`` (float64), so that float64 results can be measured in
ulps.  For gradients, ``S`` is the sum of the magnitudes of the terms the
gradient adds (the rounding scale of the bound |err| <= 4 ulp(f') + 4 eps S).

The table holds, for key ``<name>/<dtype>``: ``x``, ``ref_hi``, ``ref_lo``
and, for gradients, ``S``; ``meta`` is a JSON string with the mpmath version,
precision, grid description and date.  mpmath costs ~150 us per point, so
the default grid (~1,700 points per function and dtype) takes a few minutes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import mpmath as mp
import numpy as np

PREC = 256
OUT = Path(__file__).resolve().parents[1] / "fastrelu" / "data" / "accuracy_reference.npz"

SELU_SCALE = mp.mpf(1.0507009873554804934193349852946)  # the float64 parameters
SELU_ALPHA = mp.mpf(1.6732632423543772848170429916717)
# Constants parsed from decimal strings must be made at the working precision:
# at import, mpmath's default 53 bits would round 0.044715 to float64 (an
# error of ~3e-14 relative in gelu_tanh's float64 left tail, where |v| ~ 700).
with mp.workprec(PREC):
    GELU_TANH_C = mp.mpf("0.044715")
SQUAREPLUS_B = mp.mpf(4)
SOFTPLUS_THRESHOLD = 20


def _sig(v):
    return 1 / (1 + mp.exp(-v))


def _ncdf(x):
    # mpmath's erfc fails for astronomically large arguments; beyond |x| = 1e4
    # the values are 0 and 1 to any precision that matters (e^-5e7).
    if abs(x) > 10_000:
        return mp.mpf(1) if x > 0 else mp.mpf(0)
    return mp.ncdf(x)


def _npdf(x):
    return mp.mpf(0) if abs(x) > 10_000 else mp.npdf(x)


def _sq(x):
    return mp.sqrt(x * x + SQUAREPLUS_B)


def _gt_v(x):
    return 2 * mp.sqrt(2 / mp.pi) * (x + GELU_TANH_C * x**3)


def _gt_dv(x):
    return 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * GELU_TANH_C * x**2)


def _tsp(x):
    return mp.tanh(mp.log1p(mp.exp(x)))


# name -> (f(x) -> value, S(x) or None, tail interval per dtype)
# Gradients are d/dx (incoming g = 1).  S: sum of magnitudes of added terms.
FUNCS = {
    "elu": (lambda x: x if x > 0 else mp.expm1(x), None),
    "elu_grad": (lambda x: mp.mpf(1) if x > 0 else mp.exp(x), lambda x: 1 if x > 0 else mp.exp(x)),
    "selu": (lambda x: SELU_SCALE * x if x > 0 else SELU_SCALE * SELU_ALPHA * mp.expm1(x), None),
    "selu_grad": (
        lambda x: SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * mp.exp(x),
        lambda x: SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * mp.exp(x),
    ),
    "celu": (lambda x: x if x > 0 else mp.expm1(x), None),
    "celu_grad": (lambda x: mp.mpf(1) if x > 0 else mp.exp(x), lambda x: 1 if x > 0 else mp.exp(x)),
    # PyTorch's softplus: x where beta*x > threshold (strict)
    "softplus": (lambda x: x if x > SOFTPLUS_THRESHOLD else mp.log1p(mp.exp(x)), None),
    "softplus_grad": (
        lambda x: mp.mpf(1) if x > SOFTPLUS_THRESHOLD else _sig(x),
        lambda x: 1 if x > SOFTPLUS_THRESHOLD else _sig(x),
    ),
    "gelu": (lambda x: x * _ncdf(x), None),
    "gelu_grad": (lambda x: _ncdf(x) + x * _npdf(x), lambda x: _ncdf(x) + abs(x * _npdf(x))),
    "gelu_tanh": (lambda x: x * _sig(_gt_v(x)), None),
    "gelu_tanh_grad": (
        lambda x: _sig(_gt_v(x)) + x * _sig(_gt_v(x)) * _sig(-_gt_v(x)) * _gt_dv(x),
        lambda x: _sig(_gt_v(x)) + abs(x * _sig(_gt_v(x)) * _sig(-_gt_v(x)) * _gt_dv(x)),
    ),
    "silu": (lambda x: x * _sig(x), None),
    "silu_grad": (
        lambda x: _sig(x) + x * _sig(x) * _sig(-x),
        lambda x: _sig(x) + abs(x * _sig(x) * _sig(-x)),
    ),
    "mish": (lambda x: x * _tsp(x), None),
    "mish_grad": (
        lambda x: _tsp(x) + x * _sig(x) * (1 - _tsp(x) ** 2),
        lambda x: _tsp(x) + abs(x * _sig(x) * (1 - _tsp(x) ** 2)),
    ),
    # x < 0: the cancellation-free forms (x + s cancels to ~b/(4|x|))
    "squareplus": (
        lambda x: (x + _sq(x)) / 2 if x >= 0 else SQUAREPLUS_B / (2 * (_sq(x) - x)),
        None,
    ),
    "squareplus_grad": (
        lambda x: (1 + x / _sq(x)) / 2 if x >= 0 else SQUAREPLUS_B / (2 * _sq(x) * (_sq(x) - x)),
        lambda x: (1 + abs(x) / mp.sqrt(x * x + SQUAREPLUS_B)) / 2,
    ),
}

# left tail (where the result decays to 0 / underflows) per dtype
TAILS = {
    np.float32: {"gelu": -15.0, "gelu_tanh": -12.0, "default": -105.0},
    np.float64: {"gelu": -40.0, "gelu_tanh": -25.0, "default": -750.0},
}


def grid(name: str, dtype, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fi = np.finfo(dtype)
    base = name.removesuffix("_grad")
    tail = TAILS[dtype].get(base, TAILS[dtype]["default"])
    k = n // 6
    lo_exp = np.log10(float(fi.smallest_subnormal))
    hi_exp = np.log10(float(fi.max))
    parts = [
        np.linspace(-8.0, 8.0, 2 * k),  # dense around the bend
        np.linspace(-1.0, 1.0, k // 2) ** 3,  # near 0
        10.0 ** rng.uniform(lo_exp, hi_exp, k // 2),  # all magnitudes
        -(10.0 ** rng.uniform(lo_exp, hi_exp, k // 2)),
        rng.uniform(tail, 0.0, k),  # left tail
        rng.uniform(-30.0, 30.0, k // 2),  # random
        np.array([fi.smallest_subnormal, -fi.smallest_subnormal, fi.tiny, -fi.tiny, fi.max, -fi.max]),
    ]
    if base == "softplus":  # around the threshold
        parts.append(rng.uniform(15.0, 25.0, k // 4))
    x = np.concatenate(parts)
    with np.errstate(over="ignore", under="ignore"):
        x = x.astype(dtype)
    x = x[np.isfinite(x)]
    return np.unique(x)


def reference(name: str, x: np.ndarray):
    f, s = FUNCS[name]
    hi = np.empty(x.size)
    lo = np.empty(x.size)
    S = np.empty(x.size) if s is not None else None
    for i, xi in enumerate(x):
        v = f(mp.mpf(float(xi)))
        h = float(v)
        hi[i] = h
        lo[i] = float(v - h) if np.isfinite(h) else 0.0
        if S is not None:
            S[i] = float(s(mp.mpf(float(xi))))
    return hi, lo, S


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1800, help="approximate points per function and dtype")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    mp.mp.prec = PREC
    arrays = {}
    for j, name in enumerate(FUNCS):
        for dtype in (np.float32, np.float64):
            x = grid(name, dtype, args.points, seed=1000 + 2 * j + (dtype is np.float64))
            hi, lo, S = reference(name, x)
            key = f"{name}/{np.dtype(dtype).name}"
            arrays[f"{key}/x"] = x
            arrays[f"{key}/ref_hi"] = hi
            arrays[f"{key}/ref_lo"] = lo
            if S is not None:
                arrays[f"{key}/S"] = S
            print(f"{key}: {x.size} points", file=sys.stderr)
    meta = {
        "mpmath_version": mp.__version__,
        "mpmath_prec_bits": PREC,
        "numpy_version": np.__version__,
        "date": datetime.date.today().isoformat(),
        "params": "defaults: elu/celu alpha=1, selu float64 lambda/alpha, softplus beta=1 threshold=20, "
        "gelu_tanh c=0.044715 (exact decimal), squareplus b=4",
        "grid": "per function and dtype: linspace(-8, 8), linspace(-1, 1)**3, +-10**uniform(log10 "
        "smallest_subnormal, log10 max), uniform(left tail, 0), uniform(-30, 30), subnormal/tiny/max "
        "extremes (+ uniform(15, 25) for softplus); cast to the dtype, finite, unique",
        "points_per_function": args.points,
        "reference": "ref_hi + ref_lo (double-word float64) of the mpmath value; S = sum of magnitudes "
        "of the gradient's added terms",
    }
    arrays["meta"] = np.array(json.dumps(meta))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
