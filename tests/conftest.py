"""Shared fixtures and helpers of the fastrelu test suite.

Every test that calls a public function takes the :func:`target` fixture, so a
new target (a module holding the same public names) re-runs the whole suite:
add it to :data:`TARGETS`.  Tests are parametrised from :data:`fastrelu._spec.TABLE`
and :func:`fastrelu._spec.public_names`, never from a hand-written list.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from fastrelu import _spec

# --------------------------------------------------------------------------
# Hypothesis profiles: ``HYPOTHESIS_PROFILE=nightly pytest`` for a longer run.
# Each property test is parametrised per function and target, so
# ``max_examples`` is the number of examples per function/target.
# --------------------------------------------------------------------------

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", deadline=None, max_examples=200, suppress_health_check=_HEALTH)
settings.register_profile("nightly", deadline=None, max_examples=5000, suppress_health_check=_HEALTH)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------

#: CPU targets: name -> module holding every public name.
TARGETS = {"cpu": "fastrelu", "parallel": "fastrelu.parallel"}

FLOATS = (np.float16, np.float32, np.float64)
FLOAT_IDS = ("f16", "f32", "f64")

ROWS = _spec.TABLE
NAMES = _spec.public_names()


@pytest.fixture(params=list(TARGETS), scope="session")
def target(request):
    """The module of one CPU target (``fastrelu`` or ``fastrelu.parallel``)."""
    return importlib.import_module(TARGETS[request.param])


def target_name(module) -> str:
    return {v: k for k, v in TARGETS.items()}[module.__name__]


def get(module, name: str):
    """The public object *name* of the target *module*."""
    return getattr(module, name)


def params(row: _spec.Activation, kind: str = "forward", dtype=None) -> tuple:
    """The test parameter values (defaults or ``test_params``) for *kind*.

    With *dtype*, the values are rounded to it and returned as float64: the
    library casts parameters to the dtype of ``x``, so a float64 reference
    must use the rounded values.
    """
    d = row.defaults()
    plist = row.params if kind in ("forward", "grad_from_output") else row.grad_param_list
    vals = tuple(d[p.name] for p in plist)
    if dtype is not None:
        vals = tuple(float(np.asarray(v, dtype=dtype)) for v in vals)
    return vals


def kernel_of(row: _spec.Activation, kind: str):
    return {"forward": row.forward, "grad": row.grad, "grad_from_output": row.grad_from_output}[kind]


def eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


def assert_ulps(got, want, ulps: float, dtype, atol: float = 0.0, msg: str = ""):
    """``|got - want| <= ulps * spacing(want in dtype) + atol`` elementwise.

    *want* is a float64 array (the reference); NaN must match NaN and
    infinities must match exactly.  The spacing of the result dtype at the
    reference value makes this a relative error in ulps of the result, with
    the subnormal spacing as the natural floor near 0.
    """
    got = np.asarray(got)
    want = np.asarray(want, dtype=np.float64)
    g64 = got.astype(np.float64)
    nan_w = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(g64), nan_w, err_msg=f"NaN mismatch {msg}")
    inf_w = np.isinf(want)
    np.testing.assert_array_equal(g64[inf_w], want[inf_w], err_msg=f"inf mismatch {msg}")
    fin = ~nan_w & ~inf_w
    with np.errstate(over="ignore"):
        w_dt = want[fin].astype(dtype)
        sp = np.spacing(np.abs(w_dt)).astype(np.float64)
    big = np.finfo(dtype).max - np.nextafter(np.finfo(dtype).max, 0, dtype=dtype)
    sp = np.where(np.isfinite(sp), sp, float(big))
    # the reference rounded to dtype is itself up to half an ulp away
    tol = (ulps + 0.5) * sp + atol if ulps else 0.5 * sp + atol
    err = np.abs(g64[fin] - want[fin])
    bad = err > tol
    if np.any(bad):
        i = np.flatnonzero(bad)[:5]
        raise AssertionError(
            f"{msg}: {bad.sum()} of {bad.size} beyond {ulps} ulps (+atol {np.max(atol):g}); "
            f"got {g64[fin][i]!r} want {want[fin][i]!r} err/spacing {(err / sp)[i]!r}"
        )


def ids(rows) -> list[str]:
    return [r.name for r in rows]


ROOT = Path(__file__).resolve().parent.parent


def load_script(relpath: str):
    """The repository script *relpath* (``tools/...``, ``examples/...``) as a module,
    registered in ``sys.modules`` under its file name (dataclasses need that)."""
    path = ROOT / relpath
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
