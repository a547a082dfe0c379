"""The NumPy baselines compute the same function (else the ratios mean nothing),
and the asv suite's coverage guard works."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from fastrelu import bench as BM

ALL = BM.function_names()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ALL)
def test_numpy_baseline_matches(name, dtype):
    case = BM.make_case(name, dtype, 4099, seed=1)
    case.call("cpu")()
    got = case.out.copy()
    with np.errstate(all="ignore"):
        case.call("numpy")()
    want = case.out
    rtol = {"float32": 2e-5, "float64": 1e-9}[dtype]
    np.testing.assert_allclose(want, got, rtol=rtol, atol=rtol)


def test_every_function_has_a_baseline():
    for name in ALL:
        fn, how = BM.numpy_baseline(name)
        assert callable(fn) and how in ("best", "ref")


def test_guard_catches_a_missing_benchmark(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    from benchmarks import common as C

    C.check_coverage()  # the real namespaces are covered
    fake = types.ModuleType("fastrelu.fake")
    fake.__all__ = ["relu", "brand_new_activation", "CONSTANT"]
    fake.relu = lambda x: x
    fake.brand_new_activation = lambda x: x
    fake.CONSTANT = 3
    monkeypatch.setattr(C, "namespaces", lambda: {"cpu": fake})
    with pytest.raises(RuntimeError, match="brand_new_activation"):
        C.check_coverage()
