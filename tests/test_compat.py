"""Each use of a Numba or NumPy internal (``fastrelu/_compat.py``) still works.

A new Numba, numba-cuda or NumPy release that moves one of them fails here,
with the internal's name, before anything subtler breaks.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fastrelu import _build, _compat


def test_cache_file_internals_are_there():
    from numba.core.caching import IndexDataCacheFile

    for method in ("save", "load", "flush"):
        assert callable(getattr(IndexDataCacheFile, method)), f"IndexDataCacheFile.{method}"
    assert IndexDataCacheFile._fastrelu_locked  # installed at import of _build
    # the private attributes the lock reads
    f = IndexDataCacheFile.__new__(IndexDataCacheFile)
    f.__init__("/tmp/fastrelu-compat-probe", "probe_fn", "sourcestamp")
    for attr in ("_cache_path", "_index_path", "_index_name"):
        assert isinstance(getattr(f, attr), str), f"IndexDataCacheFile.{attr}"


def test_cache_lock_serialises_our_entries(tmp_path):
    """A locked save writes a ``.lock`` file beside fastrelu's index."""
    code = "import numpy as np, fastrelu\nfastrelu.relu6(np.ones(3, np.float32))\n"
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    locks = list(tmp_path.rglob("*.nbi.lock"))
    assert locks and all(_build.SOURCE_HASH in p.name for p in locks), sorted(
        p.name for p in tmp_path.rglob("*")
    )


def test_ufunc_c_api_builds_a_ufunc():
    from numpy._core import _multiarray_umath

    assert type(_multiarray_umath._UFUNC_API).__name__ == "PyCapsule", (
        "numpy._core._multiarray_umath._UFUNC_API"
    )
    make = _compat.ufunc_from_func_and_data()
    assert make is not None
    # a whole ufunc through it (the lazy-loop path of _build.build_ufunc)
    from fastrelu import _kernels

    uf = _build.build_ufunc(_kernels.relu, "compat_probe", 1, [np.float64])
    assert isinstance(uf, np.ufunc) and uf.__name__ == "compat_probe" and uf.types == ["d->d"]
    np.testing.assert_array_equal(uf(np.array([-1.0, 2.0])), [0.0, 2.0])


def test_threading_layer_internals_are_there():
    from numba.np.ufunc import parallel as npp

    assert isinstance(npp._is_initialized, bool), "numba.np.ufunc.parallel._is_initialized"
    assert callable(npp._launch_threads), "numba.np.ufunc.parallel._launch_threads"
    _compat.start_threading_layer()
    assert _compat.threading_layer_started()


def test_builtin_registry_shape():
    from numba.core.typing.templates import builtin_registry

    from fastrelu import _approx  # noqa: F401 (registers the jitables)

    entries = list(builtin_registry.globals)
    assert entries and all(len(e) == 2 for e in entries), "builtin_registry.globals: (func, type) pairs"
    ours = [fty for func, fty in entries if (getattr(func, "__module__", "") or "").startswith("fastrelu.")]
    assert ours, "fastrelu's register_jitable functions are in builtin_registry.globals"
    inlines = [getattr(t.templates[0], "_inline", None) for t in ours if getattr(t, "templates", ())]
    assert any(i is not None and not i.is_never_inline for i in inlines), "template._inline"


def test_array_argument_layout():
    """fastrelu.cuda's fast launch builds array arguments in this order."""
    assert _compat.array_arg_fields() == _compat.ARRAY_ARG_FIELDS
    cuda = pytest.importorskip("numba.cuda")
    ctx = cuda.descriptor.cuda_target.target_context
    assert _compat.array_arg_fields(ctx.data_model_manager) == _compat.ARRAY_ARG_FIELDS
