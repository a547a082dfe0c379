"""Typed usage of fastrelu, checked by mypy in tests/test_typing.py (not collected by pytest).

Every line here must type-check against the stubs.  The lines marked
``# type: ignore[...]`` are *expected* errors: mypy runs with
``--warn-unused-ignores``, so if the stubs stopped catching the mistake (for
example because a name degraded to ``Any``) the ignore becomes unused and the
test fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

import fastrelu
import fastrelu.parallel

x: NDArray[np.float32] = np.linspace(-1, 1, 8, dtype=np.float32)
g = np.ones_like(x)
out = np.empty_like(x)

y1: NDArray[Any] | Any = fastrelu.relu(x)
y2 = fastrelu.leaky_relu(x, 0.2)
y3 = fastrelu.leaky_relu(x, negative_slope=0.2, out=out, where=x > 0)
y4 = fastrelu.gelu(x, approximate="tanh")
y5 = fastrelu.threshold(x, 0.5, -1.0)
y6 = fastrelu.prelu(x.reshape(2, 4), np.full(4, 0.25, np.float32), axis=1)
y7 = fastrelu.softplus(x, beta=2.0, threshold=10.0, dtype=np.float64, casting="same_kind")
d1 = fastrelu.relu_grad(x, g)
d2 = fastrelu.elu_grad_from_output(fastrelu.elu(x), g)
d3 = fastrelu.hardtanh_grad(x, g, min_val=-2, max_val=2)
p1 = fastrelu.parallel.silu(x, out=out)
p2 = fastrelu.parallel.relu6_grad(x, g)
uf: np.ufunc = fastrelu.relu.ufunc
types: list[str] = fastrelu.relu.types
ver: str = fastrelu.__version__
names: list[str] = fastrelu.precompile(["relu"])

# Expected errors (each must be reported, or --warn-unused-ignores fails the test).
fastrelu.relu(x, slope=0.1)  # type: ignore[call-arg]
fastrelu.leaky_relu(x, negative_slop=0.1)  # type: ignore[call-arg]
fastrelu.threshold(x)  # type: ignore[call-arg]
fastrelu.gelu(x, approximate="fast")  # type: ignore[arg-type]
fastrelu.relu(x, casting="sometimes")  # type: ignore[arg-type]
fastrelu.parallel.relu_grad(x)  # type: ignore[call-arg]
fastrelu.rleu(x)  # type: ignore[attr-defined]
