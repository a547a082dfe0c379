"""The public ufunc-compatible object.

A :class:`Ufunc` is what ``fastrelu.relu`` is.  It holds a row of the table
and a target, and on first call builds (or loads from Numba's on-disk cache)
a real :class:`numpy.ufunc` from the row's scalar kernel.  Calling it:

1. binds PyTorch-style parameters (``negative_slope=0.01`` ...) with their
   defaults, validates scalar parameters, and casts parameters to the dtype of
   ``x`` (a float64 slope must not turn float32 data into float64);
2. routes arrays that live on a GPU (anything exposing
   ``__cuda_array_interface__``: CuPy, PyTorch CUDA tensors, Numba device
   arrays) to :mod:`fastrelu.cuda` -- a type check costing tens of
   nanoseconds for NumPy input;
3. hands everything else to the NumPy ufunc, which provides broadcasting,
   ``out=``, ``where=``, ``dtype=``, ``casting=``, ``order=``, scalars and the
   ``__array_ufunc__`` protocol (dask and xarray inputs stay dask/xarray).

The underlying ufunc is shared by the cpu and parallel targets (the parallel
target only adds a multi-threaded path for large contiguous arrays) and is
reachable as ``.ufunc``; it pickles by reference (see :mod:`fastrelu._loops`).
"""

from __future__ import annotations

import importlib
import operator
from numbers import Number

import numpy as np

from fastrelu import _loops
from fastrelu._doc import make_doc
from fastrelu._spec import BY_NAME, Activation

__all__ = ["Ufunc", "UFUNC_KWARGS"]

#: keyword arguments passed through to the NumPy ufunc
UFUNC_KWARGS = frozenset({"out", "where", "casting", "order", "dtype", "subok", "signature"})

# Types that can never be GPU arrays: skip the __cuda_array_interface__ probe.
_HOST_TYPES = frozenset(
    {
        np.ndarray,
        float,
        int,
        bool,
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.bool_,
        list,
        tuple,
    }
)


_PYNUM = frozenset({float, int})

# float loops in NumPy's search order (int8/uint8/bool -> float16, int16 -> float32, ...)
_FLOAT_LOOPS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _prelu_weight(x, weight, axis):
    """Reshape a PReLU weight (1 or C elements) to broadcast along *axis*."""
    w = weight
    wndim = getattr(w, "ndim", 0)
    if wndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-d, got {wndim} dimensions")
    wsize = getattr(w, "size", 1)
    xndim = getattr(x, "ndim", 0)
    if wsize == 1:
        return w.reshape(()) if wndim else w
    channels = 1 if xndim < 2 else x.shape[operator.index(axis)]
    if wsize != channels:
        raise ValueError(
            "prelu: mismatch of parameter numbers and input channel size. "
            f"Found parameter numbers = {wsize} and channel size = {channels}."
        )
    ax = operator.index(axis) % xndim
    return w.reshape((channels,) + (1,) * (xndim - ax - 1))


class Ufunc:
    """A NumPy-compatible activation ufunc (see the module docstring)."""

    #: give each object a generated ``__call__`` with its real signature
    _fast_call = True
    #: family -> element count from which ``_invoke`` may leave the plain ufunc
    _cutover: dict | None = None

    def __init__(self, spec: Activation, kind: str = "forward", target: str = "cpu"):
        self.spec = spec
        self.kind = kind
        self.target = target
        params = spec.params_for(kind)
        self._ndata = 1 if kind == "forward" else 2
        self._params = params
        self._pnames = tuple(p.name for p in params)
        self._defaults = tuple(p.default for p in params)
        self._nargs = spec.nin(kind)
        self.__name__ = spec.name if kind == "forward" else f"{spec.name}_{kind}"
        self.__qualname__ = self.__name__
        self.__module__ = "fastrelu" if target == "cpu" else f"fastrelu.{target}"
        self.__doc__ = make_doc(spec, kind, target)
        self._uf = None
        self._is_prelu = spec.name == "prelu"
        self._check = spec.check if kind == "forward" or spec.grad_params is None else None
        self._variants = dict(spec.variants)
        self._consts: dict = {}
        if self._fast_call:
            self.__class__ = _fast_class(type(self), self)

    # -- NumPy ufunc attributes -------------------------------------------
    @property
    def ufunc(self) -> np.ufunc:
        """The underlying :class:`numpy.ufunc` (built on first access)."""
        uf = self._uf
        if uf is None:
            uf = self._uf = _loops.get(self.__name__)
        return uf

    nout = 1

    @property
    def nin(self) -> int:
        return self._nargs

    @property
    def nargs(self) -> int:
        return self._nargs + 1

    @property
    def types(self) -> list[str]:
        return self.ufunc.types

    @property
    def ntypes(self) -> int:
        return self.ufunc.ntypes

    @property
    def identity(self):
        return None

    @property
    def signature(self):
        return None

    @property
    def supported_dtypes(self) -> tuple[np.dtype, ...]:
        return self.spec.dtypes("forward" if self.kind == "forward" else "grad")

    def __repr__(self) -> str:
        return f"<fastrelu ufunc {self.__name__} [{self.target}]>"

    def __reduce__(self):
        # Pickle by reference: workers import the same object (and reuse the
        # on-disk cache) instead of receiving compiled code.
        return (_restore, (self.__module__, self.__name__))

    # -- calling -----------------------------------------------------------
    def __call__(self, *args, **kwargs):
        uf = self._uf
        if uf is None:
            uf = self.ufunc
        if len(args) != self._nargs or (kwargs and not UFUNC_KWARGS.issuperset(kwargs)):
            args, kwargs = self._bind(args, kwargs)
            if args is None:  # a variant handled the call
                return kwargs
        elif self._nargs > self._ndata:
            args, kwargs = self._prepare(args, kwargs, True)
        x = args[0]
        if type(x) not in _HOST_TYPES and hasattr(x, "__cuda_array_interface__"):
            return self._to_cuda(args, kwargs)
        try:
            return self._invoke(uf, args, kwargs)
        except TypeError as e:
            if type(e).__name__ == "_UFuncNoLoopError" or "not supported for the input types" in str(e):
                raise self._no_loop_error(args) from None
            raise

    def _general(self, data, params, out, kwargs):
        """The call path behind the generated ``__call__`` (see :func:`_fast_class`)."""
        args = data + params
        if out is not None:
            kwargs["out"] = out
        res = Ufunc.__call__(self, *args, **kwargs)
        x = data[0]
        if params and type(x) is np.ndarray and x.dtype.kind == "f" and len(args) == self._nargs:
            self._remember(x.dtype, params)
        return res

    def _remember(self, dt, params) -> None:
        """Cache *params* (validated, Python numbers) as 0-d arrays of dtype *dt*.

        NumPy converts a Python scalar argument on every call (~1 µs, as much
        as the whole loop over 1e3 elements); a ready 0-d array of the data's
        dtype costs nothing.  The key is the values: equal numbers cast to the
        same value, and only Python ``float``/``int`` reach the lookup.
        """
        fmax = float(np.finfo(dt).max)
        for p in params:
            if type(p) not in _PYNUM or (p == p and abs(p) > fmax and abs(p) != np.inf):
                return  # overflowing casts keep NumPy's own handling
        consts = self._consts
        if len(consts) >= 256:  # e.g. a new slope on every call
            consts.clear()
        arrs = []
        for p in params:
            a = np.array(p, dt)
            a.flags.writeable = False
            arrs.append(a)
        consts[(dt, *params)] = tuple(arrs)

    def _invoke(self, uf, args, kwargs):
        """Run the ufunc; the parallel target overrides this."""
        return uf(*args, **kwargs)

    def _bind(self, args, kwargs):
        if self._variants and "approximate" in kwargs:
            kwargs = dict(kwargs)
            approx = kwargs.pop("approximate")
            if approx not in self._variants:
                raise ValueError(
                    f"{self.__name__}: approximate must be one of {sorted(self._variants)}, got {approx!r}"
                )
            row = self._variants[approx]
            if row != self.spec.name:
                other = _target_object(self.target, row, self.kind)
                return None, other(*args, **kwargs)
        nd = self._ndata
        if len(args) < nd:
            data_names = {"forward": ("x",), "grad": ("x", "g"), "grad_from_output": ("y", "g")}[self.kind]
            missing = data_names[len(args)]
            raise TypeError(f"{self.__name__}() missing required positional argument: '{missing}'")
        axis = 1
        if self._is_prelu and "axis" in kwargs:
            kwargs = dict(kwargs)
            axis = kwargs.pop("axis")
        if self.spec.name == "rrelu" and "training" in kwargs:
            kwargs = dict(kwargs)
            if kwargs.pop("training"):
                raise NotImplementedError(
                    "rrelu(training=True) draws random slopes: use fastrelu.training.rrelu_train"
                )
        params = list(args[nd : self._nargs])
        extra = args[self._nargs :]
        if len(extra) > 1:
            raise TypeError(f"{self.__name__}() takes at most {self._nargs + 1} positional arguments")
        if extra:
            if "out" in kwargs:
                raise TypeError("cannot specify 'out' as both a positional and keyword argument")
            kwargs = dict(kwargs)
            kwargs["out"] = extra[0]
        unknown = [k for k in kwargs if k not in UFUNC_KWARGS and k not in self._pnames]
        if unknown:
            raise TypeError(f"{self.__name__}() got an unexpected keyword argument '{unknown[0]}'")
        for i in range(len(params), len(self._pnames)):
            name = self._pnames[i]
            if name in kwargs:
                kwargs = dict(kwargs)
                params.append(kwargs.pop(name))
            elif self._defaults[i] is not None:
                params.append(self._defaults[i])
            else:
                raise TypeError(f"{self.__name__}() missing required argument '{name}' (pos {i + nd + 1})")
        for name in self._pnames[: len(args[nd : self._nargs])]:
            if name in kwargs:
                raise TypeError(f"{self.__name__}() got multiple values for argument '{name}'")
        full = tuple(args[:nd]) + tuple(params)
        if self._is_prelu:
            full = full[:nd] + (_prelu_weight(full[0], full[nd], axis),)
        return self._prepare(full, kwargs, False)

    def _prepare(self, args, kwargs, positional):
        """Validate scalar parameters and cast parameters to x's dtype.

        Integer/bool data with parameters resolves as if the parameters were
        absent -- as ``np.exp`` / ``np.arctan2`` would (int8/uint8/bool ->
        float16, int16/uint16 -> float32, wider -> float64) -- instead of
        NumPy's promotion with a Python float (float64); the integer-exact
        functions keep NumPy's rules.
        """
        nd = self._ndata
        if self._check is not None:
            self._check(*args[nd:])
        if positional and self._is_prelu and getattr(args[nd], "ndim", 0) == 1 and args[nd].size != 1:
            # positional call: still apply the channel layout (axis 1)
            args = args[:nd] + (_prelu_weight(args[0], args[nd], 1),)
        dt = getattr(args[0], "dtype", None)
        kind = getattr(dt, "kind", None)
        if kind != "f":
            if (
                kind in ("b", "i", "u")
                and len(args) > nd
                and not (self.kind == "forward" and self.spec.int_exact)
                and "dtype" not in kwargs
                and "signature" not in kwargs
                and isinstance(dt, np.dtype)
            ):
                # the first float loop every data input casts to safely, as NumPy's
                # own loop search would pick without the (weak) parameters
                dts = [a.dtype if hasattr(a, "dtype") else np.min_scalar_type(a) for a in args[:nd]]
                kwargs = dict(kwargs)
                kwargs["dtype"] = next(
                    (f for f in _FLOAT_LOOPS if all(np.can_cast(d, f) for d in dts)), _FLOAT_LOOPS[-1]
                )
            return args, kwargs
        out = None
        for i in range(nd, len(args)):
            p = args[i]
            pdt = getattr(p, "dtype", None)
            if pdt is not None and pdt != dt:
                if out is None:
                    out = list(args)
                out[i] = p.astype(dt)
        return (args if out is None else tuple(out)), kwargs

    def _no_loop_error(self, args) -> TypeError:
        got = ", ".join(
            str(np.result_type(a) if not isinstance(a, Number) else type(a).__name__) for a in args
        )
        supported = ", ".join(str(d) for d in self.supported_dtypes)
        return TypeError(
            f"ufunc '{self.__name__}' does not support the input types ({got}); supported dtypes: {supported}"
        )

    def _to_cuda(self, args, kwargs):
        if self.target == "cuda":
            raise TypeError("internal: cuda routing loop")
        from fastrelu import cuda

        return getattr(cuda, self.__name__)(*args, **kwargs)


_fast_classes: dict = {}

_FAST_SRC = """
def {name}(self, {data}, /, {sig}out=None, **kwargs):
    if not kwargs and type({x}) is _nd:
        uf = self._uf
        if uf is not None{small}:
{body}
    return self._general(({data},), ({params}), out, kwargs)
"""


def _fast_class(base: type, obj: Ufunc) -> type:
    """A subclass of *base* whose ``__call__`` has *obj*'s signature.

    The common call -- a float ndarray, parameters as Python numbers (given or
    defaulted), at most ``out=`` -- then costs one Python frame: CPython binds
    the arguments in C, the parameters come from a cache of 0-d arrays (see
    :meth:`Ufunc._remember`) and the NumPy ufunc runs directly (the parallel
    target only below its cut-over).  Everything else goes through
    :meth:`Ufunc._general`.  At N = 1e3 the generic ``*args, **kwargs`` path
    cost 3-5 µs against 1.5 µs for ``np.maximum(x, 0, out=o)``.
    """
    data = {"forward": ("x",), "grad": ("x", "g"), "grad_from_output": ("y", "g")}[obj.kind]
    key = (base, obj.__name__, data, obj._pnames, obj._defaults, obj.spec.family)
    cls = _fast_classes.get(key)
    if cls is not None:
        return cls
    pn = obj._pnames
    # required parameters (prelu's weight, threshold's two) come first and get
    # no default: CPython itself reports them missing
    sig = "".join(
        f"{n}, " if d is None else f"{n}=_d[{i}], " for i, (n, d) in enumerate(zip(pn, obj._defaults))
    )
    x = data[0]
    if pn:
        checks = " and ".join(f"type({n}) in _pyn" for n in pn)
        consts = ", ".join(f"c[{i}]" for i in range(len(pn)))
        body = (
            f"            if {checks}:\n"
            f"                c = self._consts.get(({x}.dtype, {', '.join(pn)},))\n"
            f"                if c is not None:\n"
            f"                    return uf({', '.join(data)}, {consts}, out=out)"
        )
    else:
        body = (
            f"            try:\n"
            f"                return uf({', '.join(data)}, out=out)\n"
            f"            except TypeError:\n"
            f"                pass  # no loop: the general path words the error"
        )
    small = "" if base._cutover is None else f" and {x}.size < _cut[{obj.spec.family!r}]"
    src = _FAST_SRC.format(
        name=obj.__name__,
        data=", ".join(data),
        sig=sig,
        x=x,
        small=small,
        body=body,
        params="".join(f"{n}, " for n in pn),
    )
    ns = {
        "_nd": np.ndarray,
        "_pyn": _PYNUM,
        "_cut": base._cutover,
        "_d": obj._defaults,
    }
    exec(compile(src, f"<fastrelu {obj.__name__}>", "exec"), ns)
    call = ns[obj.__name__]
    call.__qualname__ = obj.__name__
    cls = type(base.__name__, (base,), {"__call__": call, "__module__": base.__module__, "_fast_call": False})
    cls.__qualname__ = base.__qualname__
    _fast_classes[key] = cls
    return cls


def _target_object(target: str, row: str, kind: str) -> Ufunc:
    module = "fastrelu" if target == "cpu" else f"fastrelu.{target}"
    return _restore(module, row if kind == "forward" else f"{row}_{kind}")


def _restore(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def make(name: str, kind: str = "forward", target: str = "cpu") -> Ufunc:
    """The public object for table row *name* (used by the namespaces)."""
    return Ufunc(BY_NAME[name], kind, target)
