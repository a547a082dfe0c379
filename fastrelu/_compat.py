"""Every use of Numba's and NumPy's internals, in one place.

fastrelu relies on a few things neither project documents as public.  Each
is wrapped here, stated with the versions it was written against (Numba
0.68, numba-cuda 0.30, NumPy 2.4), and checked by ``tests/test_compat.py``,
which fails with the name of the internal that moved when a new release
breaks one:

* :func:`install_cache_lock` -- wraps ``numba.core.caching.IndexDataCacheFile``'s
  ``save``/``load``/``flush`` in a file lock (its private ``_cache_path``,
  ``_index_path``, ``_index_name`` attributes);
* :func:`ufunc_from_func_and_data` -- NumPy's ufunc C-API table through the
  ``numpy._core._multiarray_umath._UFUNC_API`` capsule;
* :func:`threading_layer_started` / :func:`start_threading_layer` -- Numba's
  ``numba.np.ufunc.parallel._is_initialized`` / ``_launch_threads``;
* :func:`uninline_jitables_for_cuda` -- iterates
  ``numba.core.typing.templates.builtin_registry.globals`` and reads a
  template's ``_inline`` option;
* :data:`ARRAY_ARG_FIELDS` / :func:`array_arg_fields` -- the order of the
  members of a Numba array argument, which ``fastrelu.cuda``'s fast launch
  path builds by hand (it falls back to Numba's public launch API when the
  order differs).
"""

from __future__ import annotations

import ctypes

__all__ = [
    "ARRAY_ARG_FIELDS",
    "array_arg_fields",
    "install_cache_lock",
    "start_threading_layer",
    "threading_layer_started",
    "ufunc_from_func_and_data",
    "uninline_jitables_for_cuda",
]


def install_cache_lock(source_hash: str) -> None:
    """Serialise Numba cache reads/writes of fastrelu's entries across processes.

    Numba's ``IndexDataCacheFile.save`` reads the index, picks the next free
    data-file number and writes both without a lock: two processes compiling
    different signatures of one function at the same time (pytest-xdist
    workers, dask workers on a cold cache) can both pick ``.1.nbc`` and leave
    an index that maps one signature to the other's machine code -- a
    segfault on the next load (seen with ``f32_to_f16``, which is compiled
    for float32 and float64 arguments).  We hold an advisory ``flock`` on a
    file beside the index for the duration of each save/load/flush of
    fastrelu's entries (cache paths under the package, or names carrying
    *source_hash*); other Numba users are not affected.  On platforms
    without ``fcntl`` nothing changes.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    import os
    from contextlib import contextmanager

    from numba.core.caching import IndexDataCacheFile

    if getattr(IndexDataCacheFile, "_fastrelu_locked", False):
        return

    @contextmanager
    def locked(self):
        if "fastrelu" not in self._cache_path and source_hash not in self._index_name:
            yield
            return
        try:
            os.makedirs(self._cache_path, exist_ok=True)
            fh = open(self._index_path + ".lock", "a")
        except OSError:  # read-only cache location: numba will not write either
            yield
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def wrap(method):
        def locked_method(self, *args):
            with locked(self):
                return method(self, *args)

        locked_method.__name__ = method.__name__
        return locked_method

    for name in ("save", "load", "flush"):
        setattr(IndexDataCacheFile, name, wrap(getattr(IndexDataCacheFile, name)))
    IndexDataCacheFile._fastrelu_locked = True


def ufunc_from_func_and_data():
    """NumPy's ``PyUFunc_FromFuncAndData`` (slot 1 of the ufunc C-API table,
    reached through the ``_UFUNC_API`` capsule of ``numpy._core``), callable
    from Python with ctypes."""
    from numpy._core import _multiarray_umath

    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    table = (ctypes.c_void_p * 2).from_address(get(_multiarray_umath._UFUNC_API, None))
    proto = ctypes.PYFUNCTYPE(
        ctypes.py_object,
        ctypes.c_void_p,  # PyUFuncGenericFunction *func
        ctypes.c_void_p,  # void **data
        ctypes.c_void_p,  # char *types
        ctypes.c_int,  # ntypes
        ctypes.c_int,  # nin
        ctypes.c_int,  # nout
        ctypes.c_int,  # identity
        ctypes.c_char_p,  # name
        ctypes.c_char_p,  # doc
        ctypes.c_int,  # unused
    )
    return proto(table[1])  # slot 1 of the ufunc C-API table


def threading_layer_started() -> bool:
    """Whether Numba has started its threading layer in this process."""
    from numba.np.ufunc import parallel as npp

    return bool(npp._is_initialized)


def start_threading_layer() -> None:
    """Start Numba's threading layer now (it is otherwise started by the
    first parallel launch)."""
    from numba.np.ufunc import parallel as npp

    npp._launch_threads()


def uninline_jitables_for_cuda(prefix: str, done: set) -> None:
    """Work around a numba-cuda (0.30.x) bug with ``register_jitable(inline="always")``.

    On the CUDA target, calling such a helper fails to type (the inlined body
    sees its arguments as ``omitted(default=Undefined)``: "No implementation
    of function add(omitted, omitted)").  Plain ``register_jitable`` helpers
    work.  So every inline-always jitable defined in a module whose name
    starts with *prefix* (and not in *done*, which collects them) gets a
    CUDA-target overload returning the same function without IR inlining
    (NVVM inlines small device functions anyway); the cpu target is not
    affected.  Target-specific overloads take precedence over the generic one.
    """
    from numba.core.typing.templates import builtin_registry
    from numba.extending import overload

    for func, fty in list(builtin_registry.globals):
        mod = getattr(func, "__module__", None) or ""
        if not mod.startswith(prefix) or func in done:
            continue
        templates = getattr(fty, "templates", ())
        inline = getattr(templates[0], "_inline", None) if templates else None
        if inline is None or inline.is_never_inline:
            continue
        done.add(func)

        def typer(*args, _f=func, **kwargs):
            return _f

        overload(func, target="cuda", strict=False)(typer)


#: the members of a Numba array argument, in order, as ``fastrelu.cuda``'s
#: fast launch path passes a 1-D array: (0, 0, n, itemsize, data, n, itemsize)
ARRAY_ARG_FIELDS = ("meminfo", "parent", "nitems", "itemsize", "data", "shape", "strides")


def array_arg_fields(manager=None) -> tuple[str, ...]:
    """The member names of a 1-D C-contiguous float32 array in Numba's data
    model (*manager*: a target's data model manager; default: Numba's)."""
    from numba.core import datamodel, types

    mgr = datamodel.default_manager if manager is None else manager
    return tuple(mgr.lookup(types.Array(types.float32, 1, "C"))._fields)
