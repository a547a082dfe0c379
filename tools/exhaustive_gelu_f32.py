"""Exhaustive float32 accuracy of gelu and gelu_grad (every float32 with |x| <= 16).

Usage:  python tools/exhaustive_gelu_f32.py [gelu] [gelu_grad]

The float32 gelu cores (``_approx.gauss_fwd_parts`` and the gradient's
``gauss_grad_parts``: exp of the exact square times t P(q), t = 1/(a + m);
see ``tools/fit_gauss.py``) are checked against fastrelu's float64 kernels
(1.3 ulp of float64: exact at float32 resolution) on all 2.2e9 float32 values
with |x| <= 16 (beyond, every result is x, 1, or has underflowed; the
reference-table tests cover those).  Prints the largest error in float32 ulps
(gelu) and the largest ratio to the bound 4 ulp(f') + 4 eps S,
S = |Phi(x)| + |x phi(x)| (gelu_grad), with the x where it occurs.  Takes
about 4 minutes on 2 cores.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fastrelu.parallel as fp
from fastrelu.accuracy import ulp_of

HI_BITS = 0x41800000  # 16.0
CHUNK = 1 << 24


def main(names: list[str]) -> None:
    worst: dict[str, tuple[float, float]] = {}
    t0 = time.time()
    for sign in (0, 0x80000000):
        for b in range(0, HI_BITS, CHUNK):
            bits = np.arange(b, min(b + CHUNK, HI_BITS), dtype=np.uint32) | np.uint32(sign)
            x = bits.view(np.float32)
            xd = x.astype(np.float64)
            for name in names:
                if name == "gelu_grad":
                    g = np.ones_like(x)
                    y = fp.gelu_grad(x, g)
                    ref = fp.gelu_grad(xd, np.ones_like(xd))
                    phi_x = xd * np.exp(-0.5 * xd * xd) * 0.3989422804014327
                    s = np.abs(ref - phi_x) + np.abs(phi_x)
                    r = np.abs(y - ref) / (4 * ulp_of(ref, np.float32) + 4 * 2.0**-24 * s)
                else:
                    r = np.abs(fp.gelu(x) - fp.gelu(xd)) / ulp_of(fp.gelu(xd), np.float32)
                i = int(np.nanargmax(r))
                if r[i] > worst.get(name, (-1.0, 0.0))[0]:
                    worst[name] = (float(r[i]), float(x[i]))
    for name, (r, at) in worst.items():
        what = "ulp" if name == "gelu" else "x the bound"
        print(f"{name} float32: max {r:.2f} {what} at x = {at!r}")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["gelu", "gelu_grad"])
