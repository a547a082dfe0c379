"""Fit the polynomials of fastrelu's gelu cores (``_approx.gauss_parts`` and
the float32 ``gauss_fwd_parts`` / ``gauss_grad_parts``).

Usage:  python tools/fit_gauss.py            (prints the coefficient tuples)

float64 (``gauss_parts``) writes the normal tail as

    Phi(-a) = exp(-a*a/2) * (1 + p(q)) / (2 (1 + a)),   q = (a - m) / (a + m),

so p(q) = erfcx(a/sqrt2) (1 + a) - 1 is small (|p| < 0.16 for a in [0, inf)):
its rounding errors are small next to 1, and the quotient (1 + p) / (1 + a)
is formed with a residual correction (one rounding), the exponential with an
exact square.  q maps a in [0, AMAX] onto [-1, (AMAX - m) / (AMAX + m)],
where p is smooth enough for one polynomial: m = 6, AMAX = 38.75, degree 22,
Chebyshev interpolation at 23 nodes in mpmath (50 digits), converted to
powers of q: 9.4e-18.

float32 uses one division:

    Phi(-a) = exp(-a*a/2) * t * P(q),   t = 1/(a + m),   q = 2 a t - 1,

P(q) = erfcx(a/sqrt2) (a + m) / 2 in [0.40, m/2], AMAX = 15.5 (every gelu /
gelu_grad result beyond has underflowed), float32 coefficients fitted one at
a time from the top (each rounded, the rest refitted; Lawson iterations for
the minimax of the relative error of P, reference ``scipy.special.erfcx``):

* the forward (``gauss_fwd_parts``, ``_GF32``): m = 4, degree 9, 3.4e-8;
* the gradient (``gauss_grad_parts``, ``_GD32``; its bound, 4 ulp of the
  gradient plus 4 eps times the sum of its terms' magnitudes, is looser):
  m = 3, degree 8, 7.9e-8.

The printed tuples are pasted into ``fastrelu/_approx.py`` (``_GF32``,
``_GD32``, ``_GQ64``; highest degree first).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import scipy.special as sc

FWD32 = dict(m=4.0, amax=15.5, degree=9)
G32 = dict(m=3.0, amax=15.5, degree=8)
F64 = dict(m=6.0, amax=38.75, degree=22)


def _a_of_q(q, m):
    return m * (1 + q) / (1 - q)


def _lawson(x, y, w, degree, fixed_top):
    """Weighted minimax fit of sum(c_k x**k) with the top coefficients fixed."""
    nf = len(fixed_top)
    v = np.vander(x, degree + 1, increasing=True)
    rhs = y - (v[:, degree + 1 - nf :] @ np.array(fixed_top[::-1]) if nf else 0.0)
    vf = v[:, : degree + 1 - nf]
    lw = np.full(x.size, 1.0 / x.size)
    for _ in range(150):
        sw = np.sqrt(lw) * w
        c, *_ = np.linalg.lstsq(vf * sw[:, None], rhs * sw, rcond=None)
        err = np.abs(vf @ c - rhs) * w
        lw = lw * err + 1e-30
        lw /= lw.sum()
    return list(c) + list(fixed_top[::-1])


def _fit_f32_coeffs(m, amax, degree, target):
    """float32 coefficients (lowest degree first) of the relative minimax fit
    of y = target(a) in q, y and the weight 1/(1 + y) or 1/y (the quantity
    whose relative error counts), and the max relative error."""
    qmax = (amax - m) / (amax + m)
    x = np.cos(np.linspace(0.0, np.pi, 30001)) * (qmax + 1) / 2 + (qmax - 1) / 2
    y, w = target(_a_of_q(x, m))
    fixed: list[float] = []
    c = _lawson(x, y, w, degree, fixed)
    for k in range(degree, 0, -1):
        fixed.append(float(np.float32(c[k])))
        c = _lawson(x, y, w, degree, fixed)
    c[0] = float(np.float32(c[0]))
    err = np.max(np.abs(np.vander(x, degree + 1, increasing=True) @ np.array(c) - y) * w)
    return c, float(err)


def fit32_tp(m, amax, degree):
    """float32 coefficients of P (lowest degree first), max relative error of P."""

    def target(a):
        y = sc.erfcx(a / np.sqrt(2.0)) * (a + m) / 2
        return y, 1.0 / y

    return _fit_f32_coeffs(m, amax, degree, target)


def fit64(m, amax, degree, dps=50):
    """float64 coefficients (lowest degree first) and the max relative error
    (approximation and coefficient rounding, at 4000 points)."""
    mp.mp.dps = dps
    m, amax = mp.mpf(m), mp.mpf(amax)

    def p_exact(q):
        a = m * (1 + q) / (1 - q)
        return mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2) * (1 + a) - 1

    lo, hi = mp.mpf(-1), (amax - m) / (amax + m)
    n = degree + 1
    nodes = [mp.cos(mp.pi * (k + mp.mpf(0.5)) / n) for k in range(n)]
    vals = [p_exact((t * (hi - lo) + (hi + lo)) / 2) for t in nodes]
    cheb = [
        (1 if j == 0 else 2)
        * mp.fsum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(0.5)) / n) for k in range(n))
        / n
        for j in range(n)
    ]
    # Chebyshev basis -> powers of t -> powers of q (t = alpha q + beta)
    tp = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for j in range(2, n):
        up = [mp.mpf(0)] + [2 * v for v in tp[j - 1]]
        down = tp[j - 2] + [mp.mpf(0)] * (len(up) - len(tp[j - 2]))
        tp.append([u - d for u, d in zip(up, down, strict=True)])
    mono_t = [mp.fsum(cheb[j] * (tp[j][k] if k < len(tp[j]) else 0) for j in range(n)) for k in range(n)]
    alpha, beta = 2 / (hi - lo), -(hi + lo) / (hi - lo)
    mono_q = [mp.mpf(0)] * n
    for k in range(n):
        for i in range(k + 1):
            mono_q[i] += mono_t[k] * mp.binomial(k, i) * alpha**i * beta ** (k - i)
    c = [float(v) for v in mono_q]
    rng = np.random.default_rng(0)
    err = mp.mpf(0)
    for qf in rng.uniform(float(lo), float(hi), 4000):
        q = mp.mpf(float(qf))
        ref = p_exact(q)
        err = max(err, abs(mp.fsum(mp.mpf(ck) * q**k for k, ck in enumerate(c)) - ref) / (1 + ref))
    return c, float(err)


def main() -> None:
    cf, ef = fit32_tp(**FWD32)
    print(f"# float32 forward ({FWD32}): max relative error of P: {ef:.2e}")
    print("_GF32 = (" + ", ".join(repr(float(np.float32(v))) for v in cf[::-1]) + ")")
    cg, eg = fit32_tp(**G32)
    print(f"# float32 gradient ({G32}): max relative error of P: {eg:.2e}")
    print("_GD32 = (" + ", ".join(repr(float(np.float32(v))) for v in cg[::-1]) + ")")
    c64, e64 = fit64(**F64)
    print(f"# float64 ({F64}): max relative error of 1 + p: {e64:.2e}")
    print("_GQ64 = (" + ", ".join(repr(v) for v in c64[::-1]) + ")")


if __name__ == "__main__":
    main()
