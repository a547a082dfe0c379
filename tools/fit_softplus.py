"""Fit the float64 softplus series (``fastrelu._approx._ATANH_P64``).

Usage:  python tools/fit_softplus.py [--terms 11]

float64 softplus computes log1p(e), e = exp(-|v|) in (0, 1], as
2 atanh(s) = 2 s (1 + z P(z)) with s = e / (2 + e) <= 1/3 and z = s**2 <= 1/9.
P(z) = (atanh(s)/s - 1)/z is fitted on [0, 1/9] by ``mpmath.chebyfit`` (a
near-minimax polynomial) at 200 bits.  The printed tuple (highest degree
first) is what ``_approx`` holds; the error is relative to P (z P(z) is at most
3.7 % of 1 + z P(z), so the result sees about 1/27 of it).
"""

from __future__ import annotations

import argparse

import mpmath


def target(z):
    if z == 0:
        return mpmath.mpf(1) / 3
    s = mpmath.sqrt(z)
    return (mpmath.atanh(s) / s - 1) / z


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terms", type=int, default=11)
    args = ap.parse_args(argv)
    mpmath.mp.prec = 200
    coeffs, err = mpmath.chebyfit(target, [0, mpmath.mpf(1) / 9], args.terms, error=True)
    rel = err / target(mpmath.mpf(0))  # P is smallest (1/3) at z = 0
    print(f"# {args.terms} terms, max relative error of P: {mpmath.nstr(rel, 3)}")
    print("_ATANH_P64 = (")
    for c in coeffs:
        print(f"    {float(c)!r},")
    print(")")


if __name__ == "__main__":
    main()
