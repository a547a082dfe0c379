"""The compiled NumPy ufuncs, one per public function name, built on demand.

``get("relu")`` compiles (or loads from Numba's on-disk cache) the loops of
the ``relu`` row and returns the :class:`numpy.ufunc`; later calls return the
same object.  Each built ufunc is also an attribute of this module under its
own ``__name__``: NumPy pickles ufuncs by name, looking the name up in the
module that holds the object, so dask.distributed workers receive a
reference (``fastrelu._loops.relu``) and rebuild it from their own cache
through the module ``__getattr__`` below.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.RLock()
_built: dict = {}


def get(name: str):
    uf = _built.get(name)
    if uf is not None:
        return uf
    with _lock:
        uf = _built.get(name)
        if uf is None:
            from fastrelu import _build
            from fastrelu._doc import make_doc
            from fastrelu._spec import resolve

            spec, kind = resolve(name)
            uf = _build.build_ufunc(
                spec.kernel(kind), name, spec.nin(kind), spec.dtypes(kind), doc=make_doc(spec, kind, "cpu")
            )
            setattr(sys.modules[__name__], name, uf)
            _built[name] = uf
    return uf


def built() -> list[str]:
    """Names of the ufuncs built so far in this process."""
    return sorted(_built)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    from fastrelu._spec import public_names

    if name not in public_names():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return get(name)
