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
import math
import operator
import os
import sys
import warnings
from collections.abc import Iterator
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


_F32 = np.dtype(np.float32)

#: values that can never be an ``out=`` array (a parameter passed where there is none)
_NOT_OUT = (Number, str, bytes, np.generic)

#: every public attribute and method of :class:`numpy.ufunc` (forwarded, see ``Ufunc.__getattr__``)
UFUNC_ATTRS = frozenset(a for a in dir(np.ufunc) if not a.startswith("__"))

# frames in these files are fastrelu's own (warnings point past them)
_OWN_FILES = (os.path.dirname(os.path.abspath(__file__)) + os.sep, "<fastrelu ")


def _is_bf16(dt) -> bool:
    """*dt* is ml_dtypes' bfloat16 (a NumPy user dtype of kind 'V'; ml_dtypes is not imported)."""
    return getattr(dt, "kind", None) == "V" and dt.name == "bfloat16"


def _caller_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called by the caller of this
    function that names the first frame outside fastrelu (the user's line)."""
    f = sys._getframe(1)
    level = 1
    while f.f_back is not None and f.f_code.co_filename.startswith(_OWN_FILES):
        f = f.f_back
        level += 1
    return level


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _describe(a) -> str:
    """A short description of an operand for error messages (never raises)."""
    if a is None:
        return "None"
    if isinstance(a, (np.ndarray, np.generic)):
        return f"{_article(type(a).__name__)} of dtype {a.dtype}"
    r = repr(a)
    if len(r) > 40:
        r = r[:37] + "..."
    mod = type(a).__module__
    return f"{r} ({_article((mod + '.' if mod != 'builtins' else '') + type(a).__name__)})"


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' or noun.startswith('nd') else 'a'} {noun}"


def _type_of(a) -> str:
    """The dtype NumPy gives *a* (type name for Python scalars; never raises)."""
    if isinstance(a, Number) and not isinstance(a, np.generic):
        return type(a).__name__
    dt = getattr(a, "dtype", None)
    if dt is None:
        try:
            dt = np.asarray(a).dtype
        except Exception:  # a description must not fail
            return type(a).__name__
    return str(dt)


def _int_param(fn: str, name: str, p, dt: np.dtype):
    """Parameter *p* of an integer-exact function cast to x's integer dtype
    *dt*, as PyTorch casts its scalar (floats truncate toward zero); a value
    outside *dt*'s range raises OverflowError, NaN ValueError (PyTorch raises
    for both).  Anything but numbers and numeric arrays is returned as is (the
    failure path names it)."""
    info = np.iinfo(dt)
    if isinstance(p, (Number, np.generic)) and not isinstance(p, (complex, np.complexfloating)):
        if isinstance(p, (bool, np.bool_)):
            return dt.type(p)
        v = float(p) if isinstance(p, (float, np.floating)) else int(p)
        if v != v:
            raise ValueError(f"{fn}: {name}=nan cannot be cast to the integer dtype {dt} of x")
        t = math.trunc(v) if v not in (math.inf, -math.inf) else v
        if not info.min <= t <= info.max:
            raise OverflowError(
                f"{fn}: {name}={p!r} is out of bounds for {dt}: parameters are cast to the integer "
                f"dtype of x, as PyTorch does (valid: {info.min} to {info.max})"
            )
        return dt.type(t)
    if type(p) in (list, tuple):
        p = np.asarray(p)
    if type(p) is np.ndarray and p.dtype.kind in "biuf":
        if p.dtype.kind == "f" and p.size:
            if np.isnan(p).any():
                raise ValueError(f"{fn}: {name} has NaN, which cannot be cast to the integer dtype {dt} of x")
            lo, hi = np.trunc(p.min()), np.trunc(p.max())
        elif p.dtype.kind in "iu" and p.size:
            lo, hi = p.min(), p.max()
        else:
            lo = hi = 0
        if not (info.min <= lo and hi <= info.max):
            bad = (lo if lo < info.min else hi).item()
            raise OverflowError(
                f"{fn}: {name} has {bad!r}, out of bounds for {dt}: parameters are cast to the "
                f"integer dtype of x, as PyTorch does (valid: {info.min} to {info.max})"
            )
        return p.astype(dt)
    return p


def _prelu_weight(x, weight, axis):
    """Reshape a PReLU weight (1 or C elements) to broadcast along *axis*."""
    w = weight
    if type(w) in (list, tuple):
        w = np.asarray(w)
    wndim = getattr(w, "ndim", 0)
    if wndim > 1:
        # PyTorch: "prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"
        raise ValueError(
            f"prelu: Expected `weight` to be a scalar or 1D array, but got: ndim = {wndim} "
            f"(shape {w.shape}); pass one slope or C = x.shape[axis] slopes"
        )
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
        #: the parameter is per channel along this axis of x (PReLU's weight)
        self._axis = spec.channel_axis
        self._is_prelu = spec.channel_axis is not None
        self._check = spec.check if kind == "forward" or spec.grad_params is None else None
        if kind == "grad_from_output" and spec.grad_from_output_check is not None:
            self._check = spec.grad_from_output_check
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

    #: as the underlying ufunc's (none of these ufuncs has an identity or is a gufunc)
    identity = None
    signature = None

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: the rest of numpy.ufunc's
        # attributes (``resolve_dtypes``, private ones) come from the ufunc
        if name in UFUNC_ATTRS:
            return getattr(self.ufunc, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def supported_dtypes(self) -> tuple[np.dtype, ...]:
        return self.spec.dtypes("forward" if self.kind == "forward" else "grad")

    # -- NumPy ufunc methods ------------------------------------------------
    # The object's nin counts x (and g) and the parameters, as the underlying
    # ufunc's does: the binary methods exist where nin == 2 (relu_grad(x, g),
    # leaky_relu(x, negative_slope) ...) and raise NumPy's ValueError elsewhere.
    def _binary_only(self, method: str, args) -> None:
        if self._nargs != 2:
            what = "outer product" if method == "outer" else method
            raise ValueError(f"{what} only supported for binary functions")
        for a in args:
            if type(a) not in _HOST_TYPES and hasattr(a, "__cuda_array_interface__"):
                raise TypeError(
                    f"{self.__name__}.{method}: device arrays are not supported by the ufunc methods; "
                    f"copy to the host, or call {self.__name__}(...) with broadcast shapes"
                )

    def _bf16_method(self, method: str, args, kwargs):
        """``getattr(self.ufunc, method)(*args)`` with bfloat16 operands computed in
        float32 and the result rounded once to bfloat16 (without ``out=``/``dtype=``)."""
        fn = getattr(self.ufunc, method)
        n = 2 if method == "outer" else 1
        dts = [getattr(a, "dtype", None) for a in args[:n]]
        if (
            _is_bf16(dts[0])
            and all(d == dts[0] for d in dts)
            and "out" not in kwargs
            and "dtype" not in kwargs
        ):
            conv = [a.astype(_F32) for a in args[:n]]
            return fn(*conv, *args[n:], **kwargs).astype(dts[0])
        return fn(*args, **kwargs)

    def reduce(self, array, *args, **kwargs):
        """As :meth:`numpy.ufunc.reduce` (binary functions only; e.g.
        ``relu_grad.reduce`` folds the gradient over an axis)."""
        self._binary_only("reduce", (array,))
        return self._bf16_method("reduce", (array, *args), kwargs)

    def accumulate(self, array, *args, **kwargs):
        """As :meth:`numpy.ufunc.accumulate` (binary functions only)."""
        self._binary_only("accumulate", (array,))
        return self._bf16_method("accumulate", (array, *args), kwargs)

    def reduceat(self, array, indices, *args, **kwargs):
        """As :meth:`numpy.ufunc.reduceat` (binary functions only)."""
        self._binary_only("reduceat", (array,))
        return self._bf16_method("reduceat", (array, indices, *args), kwargs)

    def outer(self, A, B, /, **kwargs):
        """As :meth:`numpy.ufunc.outer`: ``f(A[..., None, ...], B)`` for binary
        functions (``leaky_relu.outer(x, slopes)``: one column per slope).
        A parameter operand is validated as in a call."""
        if self._nargs == 2 and any(
            type(a) not in _HOST_TYPES and hasattr(a, "__cuda_array_interface__") for a in (A, B)
        ):
            # device arrays (cuda target): the same broadcast, run by the call itself
            return self(A.reshape(tuple(A.shape) + (1,) * getattr(B, "ndim", 0)), B, **kwargs)
        self._binary_only("outer", (A, B))
        if self.kind == "forward" and self._check is not None:
            self._check(B)
        return self._bf16_method("outer", (A, B), kwargs)

    def at(self, a, indices, /, *operands, **params) -> None:
        """As :meth:`numpy.ufunc.at`: apply in place, unbuffered, at *indices*
        (an element listed k times is transformed k times, in order).

        *operands* are the data inputs after the first (``g`` of a gradient)
        and then the parameters, positionally or by keyword; omitted
        parameters take their defaults (``leaky_relu.at(x, idx)`` uses slope
        0.01).  Binary ufuncs run NumPy's own ``ufunc.at``; with more inputs
        (which ``numpy.ufunc.at`` does not support) the operands broadcast
        against ``a[indices]`` and each pass applies the function once to
        every index not yet done.  Returns None.
        """
        nd = self._ndata
        if 1 + len(operands) > self._nargs:
            if self._nargs == 1:
                raise ValueError("second operand provided when ufunc is unary")
            raise TypeError(
                f"{self.__name__}.at() takes at most {self._nargs - 1} operands after the indices "
                f"({', '.join((*self._data_names()[1:], *self._pnames))}), got {len(operands)}"
            )
        if len(operands) < nd - 1:
            raise ValueError("second operand needed for ufunc")
        bad = [k for k in params if k not in self._pnames]
        if bad:
            raise TypeError(f"{self.__name__}.at() got an unexpected keyword argument '{bad[0]}'")
        if type(a) not in _HOST_TYPES and hasattr(a, "__cuda_array_interface__"):
            self._binary_only("at", (a,))  # raises the device-array TypeError
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{self.__name__}.at: the first operand must be an ndarray, got {_describe(a)}")
        full = (a, *operands)
        if len(full) < self._nargs or params:
            args, _ = self._bind(full, params)
        else:
            args, _ = self._prepare(full, {}, False)
        if self._is_prelu and np.size(args[nd]) != 1:
            raise ValueError(
                f"{self.__name__}.at: a per-channel weight cannot follow the indices; pass one weight, "
                f"or call {self.__name__}(x, weight, out=x, where=mask)"
            )
        ops = args[1:]
        if self._nargs <= 2 and not _is_bf16(a.dtype):
            self.ufunc.at(a, indices, *ops)
            return
        lin = np.arange(a.size).reshape(a.shape)[indices]
        shape = lin.shape
        lin = lin.ravel()
        ops = [np.broadcast_to(o, shape).ravel() if np.ndim(o) else o for o in ops]
        todo = np.arange(lin.size)
        while todo.size:  # pass k applies the k-th occurrence of each index, in order
            first = np.unique(lin[todo], return_index=True)[1]
            take = todo[first]
            where = np.unravel_index(lin[take], a.shape)
            a[where] = self(a[where], *[o[take] if np.ndim(o) else o for o in ops])
            todo = np.delete(todo, first)

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
        if type(x) not in _HOST_TYPES:
            if getattr(x, "requires_grad", False) is True:
                raise self._autograd_error(0)
            if hasattr(x, "__cuda_array_interface__"):
                return self._to_cuda(args, kwargs)
        if kwargs:
            kwargs = self._check_kwargs(kwargs)
        if _is_bf16(getattr(x, "dtype", None)):
            res = self._bfloat16(uf, args, kwargs)
            if res is not None:
                return res
        try:
            return self._invoke(uf, args, kwargs)
        except (TypeError, ValueError, OverflowError, RuntimeError) as e:
            err = self._diagnose(args, kwargs, e)
            if err is None:
                raise
            raise err from None

    # -- the failure path: every check below runs only when a call fails,
    # -- or off the fast path (keywords other than out=, bfloat16)
    def _check_kwargs(self, kwargs):
        """Refuse a non-array ``out`` and warn (at the caller's line) about
        ``where=`` without ``out=``, as NumPy does."""
        out = kwargs.get("out")
        if out is not None:
            o = out[0] if type(out) is tuple and len(out) == 1 else out
            if isinstance(o, _NOT_OUT):
                raise self._out_error(o)
        if "out" not in kwargs and "where" in kwargs and kwargs["where"] is not True:
            warnings.warn(
                "'where' used without 'out', expect uninitialized memory in the output where the "
                "mask is False. If this is intentional, use out=(None,).",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )
            kwargs = dict(kwargs)
            kwargs["out"] = (None,)  # NumPy's own warning would point at this file
        return kwargs

    def _data_names(self) -> tuple:
        return {"forward": ("x",), "grad": ("x", "g"), "grad_from_output": ("y", "g")}[self.kind]

    def _out_error(self, o) -> TypeError:
        nd = self._ndata
        data = " and ".join(self._data_names())
        pn = self._pnames
        takes = (
            f"takes {len(pn)} parameter{'s' if len(pn) > 1 else ''} ({', '.join(pn)}) after {data}"
            if pn
            else f"takes no parameters after {data}"
        )
        msg = (
            f"{self.__name__}() got out={_describe(o)}, which must be an array (or None): "
            f"{self.__name__} {takes}, so its {_ordinal(nd + len(pn) + 1)} positional argument is out="
        )
        if self._variants and isinstance(o, str) and o in self._variants:
            msg += f" (did you mean approximate={o!r}?)"
        return TypeError(msg)

    def _autograd_error(self, i: int) -> TypeError:
        name = (self._data_names() + self._pnames)[i]
        return TypeError(
            f"{self.__name__}: {name} is a torch.Tensor that requires grad, and a NumPy ufunc cannot "
            "record autograd: use fastrelu.torch (autograd-aware functions and nn modules) for "
            f"tensors that require grad, or pass {name}.detach() if no gradient is needed"
        )

    def _accepted(self, i: int) -> str:
        if i < self._ndata:
            return "supported dtypes: " + ", ".join(str(d) for d in self.supported_dtypes)
        return "a parameter is a real number or an array of them, cast to the dtype of x"

    def _diagnose(self, args, kwargs, exc):
        """A NumPy-style exception naming the operand at fault, or None
        (the original exception stands).  Runs only after a call failed."""
        names = self._data_names() + self._pnames
        for i, a in enumerate(args[: len(names)]):
            err = self._operand_error(names[i], i, a)
            if err is not None:
                return err
        if isinstance(exc, TypeError) and "No loop matching the specified signature" in str(exc):
            given = ", ".join(f"{k}={kwargs[k]!r}" for k in ("dtype", "signature") if k in kwargs)
            return TypeError(f"ufunc '{self.__name__}' has no loop for {given}; {self._accepted(0)}")
        if isinstance(exc, TypeError) and (
            type(exc).__name__ == "_UFuncNoLoopError" or "not supported for the input types" in str(exc)
        ):
            got = ", ".join(_type_of(a) for a in args)
            extra = "".join(f" with {k}={kwargs[k]!r}" for k in ("dtype", "signature") if k in kwargs)
            return TypeError(
                f"ufunc '{self.__name__}' does not support the input types ({got}){extra}; "
                f"{self._accepted(0)}"
            )
        return None

    def _operand_error(self, name: str, i: int, a):
        """The error operand *a* (named *name*, position *i*) causes, or None."""
        fn = self.__name__
        if a is None or isinstance(a, (str, bytes)):
            hint = ""
            if isinstance(a, str) and i < self._ndata:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # NumPy deprecates some aliases
                    try:
                        np.dtype(a)
                        hint = f" ({a!r} names a dtype: pass an array, and dtype={a!r} to choose the loop)"
                    except Exception:  # not a dtype name
                        pass
            return TypeError(
                f"{fn}: {name} is {_describe(a)}, not a number or an array of numbers{hint}; "
                f"{self._accepted(i)}"
            )
        if type(a) is int:
            if not -(2**63) <= a < 2**64:
                return OverflowError(
                    f"{fn}: Python integer {name}={a} is out of bounds for int64 and uint64, the "
                    f"widest integer dtypes; pass a float ({name}={float(a)!r}) to compute in float64"
                )
            return None
        if type(a) in (float, bool, complex):
            return None if type(a) is not complex else self._dtype_error(name, i, a, np.dtype(complex))
        if getattr(a, "requires_grad", False) is True:
            return self._autograd_error(i)
        if isinstance(a, Iterator) and not hasattr(a, "__array__"):
            return TypeError(
                f"{fn}: {name} is {_describe(a)}, an iterator, which NumPy does not consume (it "
                f"would be one object); pass a list or np.fromiter(it, dtype); {self._accepted(i)}"
            )
        dt = getattr(a, "dtype", None)
        if not isinstance(dt, np.dtype):
            try:
                dt = np.asarray(a).dtype
            except ValueError as e:
                return ValueError(f"{fn}: {name} is not a rectangular array of numbers: {e}")
            except Exception:  # anything NumPy cannot make an array of
                return TypeError(f"{fn}: {name} is {_describe(a)}, not an array; {self._accepted(i)}")
        if dt.kind in "biuf" or _is_bf16(dt):
            return None
        return self._dtype_error(name, i, a, dt)

    def _dtype_error(self, name, i, a, dt) -> TypeError:
        if isinstance(a, (np.ndarray, np.generic)):
            what = f"{_describe(a)}"
        elif dt.kind == "O":
            what = f"{_describe(a)}, whose elements are not all numbers (NumPy makes it an object array)"
        else:
            what = f"{_describe(a)}, which NumPy makes an array of dtype {dt}"
        return TypeError(f"ufunc '{self.__name__}' does not support {name}: {what}; {self._accepted(i)}")

    def _bfloat16(self, uf, args, kwargs):
        """A bfloat16 call computed in float32 and rounded once to bfloat16,
        as ``np.maximum`` keeps bfloat16; None when NumPy's own rules apply
        (another data dtype, ``dtype=``/``signature=``, a non-bfloat16 out)."""
        nd = self._ndata
        if "dtype" in kwargs or "signature" in kwargs:
            return None
        bf = args[0].dtype
        for a in args[:nd]:
            if type(a) not in _PYNUM and getattr(a, "dtype", None) != bf:
                return None
        out = kwargs.get("out")
        o = out[0] if type(out) is tuple and len(out) == 1 else out
        if o is not None and not (type(o) is np.ndarray and o.dtype == bf):
            return None  # a float32 loop writes float32/float64 out directly
        conv = tuple(a.astype(_F32) if getattr(a, "dtype", None) == bf else a for a in args)
        conv, kw = self._prepare(conv, dict(kwargs), False)
        if o is None:
            kw.pop("out", None)
            if "where" in kw:
                kw["out"] = (None,)
            return self._invoke(uf, conv, kw).astype(bf)
        tmp = o.astype(_F32) if "where" in kw else np.empty(o.shape, _F32)
        kw["out"] = tmp
        self._invoke(uf, conv, kw)
        np.copyto(o, tmp, casting="unsafe")  # the one rounding; nothing is written on error
        return o

    def _round_result(self, data, r):
        """From the fast path, when the result dtype is not x's: a bfloat16
        call's float32 result rounded once to bfloat16; else *r* as it is."""
        bf = data[0].dtype
        if _is_bf16(bf) and all(type(a) in _PYNUM or getattr(a, "dtype", None) == bf for a in data):
            return r.astype(bf)
        return r

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
        axis = self._axis
        if self._is_prelu and "axis" in kwargs:
            kwargs = dict(kwargs)
            axis = kwargs.pop("axis")
        if self.spec.training_kwarg and "training" in kwargs:
            kwargs = dict(kwargs)
            if kwargs.pop("training"):
                raise NotImplementedError(
                    f"{self.spec.name}(training=True) draws random slopes: "
                    f"use fastrelu.training.{self.spec.name}_train"
                )
        params = list(args[nd : self._nargs])
        extra = args[self._nargs :]
        if len(extra) > 1:
            raise TypeError(f"{self.__name__}() takes at most {self._nargs + 1} positional arguments")
        if extra:
            if isinstance(extra[0], _NOT_OUT):
                raise self._out_error(extra[0])
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
        NumPy's promotion with a Python float (float64).  The integer-exact
        functions (threshold, hardtanh) keep an integer x's dtype and cast the
        parameters to it, as PyTorch does (see :func:`_int_param`); bool x
        keeps NumPy's rules.
        """
        nd = self._ndata
        if self._check is not None:
            self._check(*args[nd:])
        if positional and self._is_prelu:
            w = args[nd]
            wn = getattr(w, "ndim", 0)
            if type(w) in (list, tuple) or wn > 1 or (wn == 1 and w.size != 1):
                # positional call: still apply the channel layout (axis 1) and its checks
                args = args[:nd] + (_prelu_weight(args[0], w, self._axis),)
        dt = getattr(args[0], "dtype", None)
        kind = getattr(dt, "kind", None)
        if kind != "f":
            if (
                kind in ("i", "u")
                and len(args) > nd
                and self.kind == "forward"
                and self.spec.int_exact
                and "dtype" not in kwargs
                and "signature" not in kwargs
                and isinstance(dt, np.dtype)
            ):
                # integer-exact functions keep an integer x's dtype and cast the
                # parameters to it, as PyTorch does (threshold(int8, 0.15, -9) -> int8)
                fn = self.__name__
                args = args[:nd] + tuple(
                    _int_param(fn, n, p, dt) for n, p in zip(self._pnames, args[nd:], strict=False)
                )
            elif (
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
        # only float dtypes are ever cached (``_remember``): bfloat16 never gets here
        checks = " and ".join(f"type({n}) in _pyn" for n in pn)
        consts = ", ".join(f"c[{i}]" for i in range(len(pn)))
        body = (
            f"            if {checks}:\n"
            f"                c = self._consts.get(({x}.dtype, {', '.join(pn)},))\n"
            f"                if c is not None:\n"
            f"                    try:\n"
            f"                        return uf({', '.join(data)}, {consts}, out=out)\n"
            f"                    except Exception:\n"
            f"                        pass  # the general path words the error"
        )
    else:
        # Without out=, NumPy's loop search takes bfloat16 (ml_dtypes) to the
        # float32 loop: a result dtype other than x's is checked (off the
        # float path) and a bfloat16 x gets its float32 result rounded once.
        body = (
            f"            try:\n"
            f"                r = uf({', '.join(data)}, out=out)\n"
            f"            except Exception:\n"
            f"                pass  # the general path runs it again and words the error\n"
            f"            else:\n"
            f"                if out is not None or r.dtype is {x}.dtype:\n"
            f"                    return r\n"
            f"                return self._round_result(({', '.join(data)},), r)"
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
