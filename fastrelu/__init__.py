"""fastrelu: the ReLU family and its gradients as fast, PyTorch-exact NumPy ufuncs.

The names here are the single-thread CPU target; :mod:`fastrelu.parallel` and
:mod:`fastrelu.cuda` hold the same names for the other targets.  Nothing is
compiled at import: each function compiles (or loads from the on-disk cache)
on first use; :func:`precompile` does it ahead of time.
"""

from __future__ import annotations

from fastrelu import _spec
from fastrelu._config import precompile as precompile
from fastrelu._config import show_config as show_config
from fastrelu._ufunc import Ufunc as Ufunc
from fastrelu._ufunc import make
from fastrelu._version import __version__ as __version__

_SUBMODULES = ("parallel", "cuda", "training", "bench", "accuracy")

# Every table function is exported, made on first access (fastrelu._spec.namespace).
__all__, _table_attr, __dir__ = _spec.namespace(
    __name__, make, ("Ufunc", "precompile", "show_config", "__version__")
)


def __getattr__(name: str):
    # The target namespaces load on first attribute access: `import fastrelu`
    # stays free of threading layers and CUDA.
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"fastrelu.{name}")
    return _table_attr(name)
