"""Lazy loops: a ufunc's dtype loop is compiled on its first call.

``_build.build_ufunc`` registers every dtype loop at once behind a stub that
compiles (or loads from the cache) the loop the call needs; ``precompile``
compiles them all ahead of time.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import fastrelu
from fastrelu import _build, _kernels

FLOAT_DTS = ["float16", "float32", "float64"]


def _fresh(name: str) -> np.ufunc:
    # a new ufunc object each time: none of its loops compiled yet
    return _build.build_ufunc(_kernels.relu6, name, 1, [np.float16, np.float32, np.float64])


def test_first_call_compiles_only_its_dtype():
    uf = _fresh("lazy_probe_a")
    assert _build.compiled_loops(uf) == []
    x = np.linspace(-8, 8, 101, dtype=np.float32)
    np.testing.assert_array_equal(uf(x), np.clip(x, 0, 6))
    assert _build.compiled_loops(uf) == ["float32"]
    # NumPy's type resolution is unchanged: int16 -> float32 (compiled), int8 -> float16
    assert uf(np.arange(-3, 9, dtype=np.int16)).dtype == np.float32
    assert _build.compiled_loops(uf) == ["float32"]
    np.testing.assert_array_equal(uf(np.arange(-3, 9, dtype=np.int8)), np.clip(np.arange(-3, 9), 0, 6))
    assert _build.compiled_loops(uf) == ["float16", "float32"]
    assert uf.types == ["e->e", "f->f", "d->d"]  # every loop registered from the start


@pytest.mark.parametrize("dt", FLOAT_DTS)
def test_first_call_through_every_path(dt):
    """The first call of a loop may come through the strided (element by
    element) path, a ``where=`` mask or ``out=`` given: same values."""
    x = np.linspace(-8, 8, 203).astype(dt)
    want = np.clip(x, 0, 6)
    uf = _fresh(f"lazy_strided_{dt}")
    o = np.full(406, -1, dt)
    uf(x, out=o[::2])  # strided output: the trampoline's per-element path
    np.testing.assert_array_equal(o[::2], want)
    assert (o[1::2] == -1).all()
    uf = _fresh(f"lazy_where_{dt}")
    o = np.full(203, -1, dt)
    uf(x, out=o, where=x > 0)
    np.testing.assert_array_equal(o, np.where(x > 0, want, -1).astype(dt))
    uf = _fresh(f"lazy_reversed_{dt}")
    np.testing.assert_array_equal(uf(x[::-1]), want[::-1])
    assert _build.compiled_loops(uf) == [dt]


def test_first_call_from_many_threads():
    """Threads making the first call at once all get the right values (the
    loop is compiled once, under a lock) and compile nothing else."""
    uf = _fresh("lazy_threads")
    x = np.linspace(-8, 8, 100_003)
    want = np.clip(x, 0, 6)
    results: list = [None] * 8
    barrier = threading.Barrier(len(results))

    def work(i):
        barrier.wait()
        results[i] = uf(x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)
    assert _build.compiled_loops(uf) == ["float64"]


def test_build_eagerly_and_compile_loops():
    uf = _build.build_ufunc(_kernels.relu6, "lazy_eager", 1, [np.float32, np.float64], lazy=False)
    assert _build.compiled_loops(uf) == ["float32", "float64"]
    uf = _fresh("lazy_some")
    assert _build.compile_loops(uf, [np.float64]) == 1
    assert _build.compiled_loops(uf) == ["float64"]
    assert _build.compile_loops(uf) == 2
    assert _build.compile_loops(uf) == 0
    assert _build.compiled_loops(uf) == FLOAT_DTS


def test_precompile_compiles_every_loop():
    assert fastrelu.precompile(["relu6_grad"], progress=False) == ["relu6_grad"]
    uf = fastrelu.relu6_grad.ufunc
    assert _build.compiled_loops(uf) == [np.dtype(c).name for c in (t[0] for t in uf.types)]
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        fastrelu.precompile(["nope"])
    with pytest.raises(ValueError, match="unknown target 'gpu'"):
        fastrelu.precompile(["relu"], targets=["gpu"])


def test_precompile_command(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "fastrelu", "precompile", "--names", "relu6", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "compiled 1 functions for cpu" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "fastrelu", "precompile", "--names", "nope"], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "unknown function 'nope'" in r.stderr


def test_first_call_in_a_fresh_process_compiles_one_loop():
    code = (
        "import numpy as np, fastrelu\n"
        "from fastrelu import _build\n"
        "fastrelu.gelu(np.ones(3, np.float32))\n"
        "print(_build.compiled_loops(fastrelu.gelu.ufunc))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['float32']"


def _not_compilable(x):
    return {}[x]  # a dict lookup: Numba cannot type it


def test_a_loop_that_fails_to_compile_is_reported(monkeypatch):
    """A compile error inside NumPy's loop cannot propagate as an exception;
    it goes to ``sys.unraisablehook`` (ctypes reports callback errors there)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    uf = _build.build_ufunc(_not_compilable, "lazy_broken", 1, [np.float64])
    uf(np.ones(4))
    assert len(seen) == 1
    assert (
        "Failed in nopython mode" in str(seen[0].exc_value)
        or "TypingError" in type(seen[0].exc_value).__name__
    )
    assert _build.compiled_loops(uf) == []
