"""Training-time building blocks: fused bias + activation, 1-bit masks,
PReLU/RReLU training kernels and dying-ReLU diagnostics.

Everything here is built from the scalar kernels of the table
(:mod:`fastrelu._kernels` via :mod:`fastrelu._training_kernels`), compiled on
first use (and cached on disk), and runs serial for small arrays and
multi-threaded (``prange``) for arrays of at least :data:`PARALLEL_MIN`
elements; ``parallel=True``/``False`` forces either.

Layout conventions
------------------
* **bias** is per feature, along the **last** axis (a linear layer's epilogue:
  ``act(x @ W + b)``).
* **masks** hold one bit per element, exactly ``np.packbits(m, axis=-1,
  bitorder="little")``: shape ``x.shape[:-1] + (ceil(F / 8),)``, each row
  padded to whole bytes (padding bits are 0).  ``m`` is the gradient's
  pass-through set: ``x > 0`` (relu, leaky_relu, prelu), ``0 < x < 6``
  (relu6), ``lo < x < hi`` (hardtanh).  NaN inputs follow the x-reading
  gradient kernels (relu's gradient passes ``g`` at NaN, so relu's bit is set
  there), so ``*_grad_mask`` equals ``*_grad`` bit for bit on every input.
* **diagnostics** count a unit as *active* on a sample where its
  pre-activation ``x (+ b) > 0`` (NaN: inactive).  Units are the last axis of
  a 2-D ``(batch, features)`` input and axis 1 (channels) of an N-D input.
* **prelu weights** follow PyTorch: 1 element or ``C = x.shape[1]``
  (per feature of a 2-D input, per channel of an N-D input such as
  ``(N, C, H, W)``), in :func:`bias_act`, the prelu mask functions and
  :func:`prelu_backward`.
* dtypes: float32 and float64 (other dtypes raise ``TypeError``).  Parameters
  and bias are cast to ``x``'s dtype, as the ufuncs do.  Non-contiguous inputs
  are copied once; ``out`` must be C-contiguous (``out=x`` is allowed in
  :func:`bias_act` and the ``*_mask`` forwards, ``out=g`` in the backward
  functions).
* masks are returned as :class:`BitMask` (a uint8 ndarray that records the
  row length, so a ``g`` of another row length is refused).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import numpy as np

from fastrelu import _parallel
from fastrelu import _training_kernels as T
from fastrelu._spec import BY_NAME, Activation

__all__ = [
    "PARALLEL_MIN",
    "ActivationStats",
    "BitMask",
    "DeadUnitTracker",
    "bias_act",
    "hardtanh_grad_mask",
    "hardtanh_mask",
    "leaky_relu_grad_mask",
    "leaky_relu_mask",
    "mask_nbytes",
    "prelu_backward",
    "prelu_grad_mask",
    "prelu_mask",
    "relu6_grad_mask",
    "relu6_mask",
    "relu_grad_mask",
    "relu_mask",
    "relu_stats",
    "rrelu_slopes",
    "rrelu_train",
    "rrelu_train_grad",
    "unpack_mask",
]

#: arrays with at least this many elements use the multi-threaded loops
PARALLEL_MIN = 1 << 16
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _use_parallel(n: int, parallel: bool | None) -> bool:
    if parallel is not None:
        return bool(parallel)
    if n < PARALLEL_MIN:
        return False
    import numba

    return numba.get_num_threads() > 1


def _num_threads() -> int:
    import numba

    return numba.get_num_threads()


def _float_array(a, what: str = "x") -> np.ndarray:
    a = np.asarray(a)
    if a.dtype not in _FLOATS:
        raise TypeError(f"fastrelu.training: {what} must be float32 or float64, got {a.dtype}")
    return a


def _rows(x: np.ndarray) -> np.ndarray:
    """C-contiguous 2-D (rows, last axis) view (a copy only if needed)."""
    if x.ndim == 0:
        raise ValueError("fastrelu.training: x must have at least one dimension")
    return np.ascontiguousarray(x).reshape(math.prod(x.shape[:-1]), x.shape[-1])


def _out(out, shape, dtype, name: str = "out") -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array")
    if out.shape != tuple(shape) or out.dtype != dtype:
        raise ValueError(
            f"{name} must have shape {tuple(shape)} and dtype {dtype}, got {out.shape} {out.dtype}"
        )
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    return out


def _bias(b, x: np.ndarray) -> np.ndarray:
    """The bias row (``x.shape[-1]`` elements of ``x``'s dtype); no bias is
    ``-0.0``, which the templates add as an exact identity."""
    F = x.shape[-1]
    if b is None:
        return np.full(F, -0.0, x.dtype)
    b = np.asarray(b)
    if b.dtype.kind not in "fiub":
        raise TypeError(f"bias must be real, got {b.dtype}")
    if b.ndim > 1 or b.size not in (1, F):
        raise ValueError(f"bias must be a scalar or have x.shape[-1] = {F} elements, got shape {b.shape}")
    return np.ascontiguousarray(np.broadcast_to(b.astype(x.dtype, copy=False).reshape(-1), (F,)))


def _classes(shape: tuple, axis: int = 1) -> tuple[int, int]:
    """``(inner, C)`` of the templates' row classes for channel *axis*.

    Rows of the ``(R, F)`` view belong to one index of *axis* when *axis* is
    not the last one: class of row ``i`` = ``(i // inner) % C``.  The last
    axis (and a 1-D or 0-sized case) is per column: ``(1, 1)``.
    """
    nd = len(shape)
    ax = operator.index(axis) % nd
    if nd < 2 or ax == nd - 1:
        return 1, 1
    return max(1, math.prod(shape[ax + 1 : -1])), shape[ax]


def _channel_weight(w: np.ndarray, shape: tuple, axis: int = 1) -> tuple[np.ndarray, int, int]:
    """PyTorch's prelu weight rules: 1 element, or ``C = shape[axis]`` (x with
    at least 2 dimensions).  Returns the flat weight and ``(inner, C)`` of its
    row classes (``C = 1``: one weight for every row, per column if the weight
    axis is the last)."""
    if w.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-d, got {w.ndim} dimensions")
    if w.size == 1:
        return w.reshape(-1), 1, 1
    if len(shape) < 2:
        raise ValueError(f"prelu: weight of size {w.size} needs an input with at least 2 dimensions")
    C = shape[operator.index(axis) % len(shape)]
    if w.size != C:
        raise ValueError(
            "prelu: mismatch of parameter numbers and input channel size. "
            f"Found parameter numbers = {w.size} and channel size = {C}."
        )
    return w.reshape(-1), *_classes(shape, axis)


def _param_block(spec: Activation, values: dict, x: np.ndarray) -> np.ndarray:
    """Parameter block ``P`` of shape ``(nparams, K, F)`` for the templates.

    Scalars fill their row (``K = 1``).  prelu's weight follows PyTorch (1 or
    ``C = x.shape[1]`` elements): per feature for 2-D input (the channel axis
    is the last one, ``K = 1``), one row per channel for N-D input (``K = C``,
    broadcast along the last axis; rows of class ``c`` use row ``c``).
    """
    F = x.shape[-1]
    rows = []
    for p in spec.params:
        v = np.asarray(values[p.name])
        if spec.name == "prelu":
            v = _channel_weight(v, x.shape)[0]
        elif v.size != 1:
            raise ValueError(f"{spec.name}: {p.name} must be a scalar")
        rows.append(v.astype(x.dtype))
    per_channel = x.ndim > 2 and any(r.size > 1 for r in rows)
    P = np.empty((max(len(rows), 1), x.shape[1] if per_channel else 1, F), x.dtype)
    for i, r in enumerate(rows):
        P[i] = r.reshape(-1, 1) if per_channel else r
    return P


def _bind(spec: Activation, args: tuple, kwargs: dict) -> dict:
    """Parameter values by name, with defaults; validated."""
    names = [p.name for p in spec.params]
    if len(args) > len(names):
        raise TypeError(f"{spec.name} takes at most {len(names)} parameters, got {len(args)}")
    values = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{spec.name}() got an unexpected keyword argument {k!r}")
        if k in values:
            raise TypeError(f"{spec.name}() got multiple values for argument {k!r}")
        values[k] = v
    for p in spec.params:
        if p.name not in values:
            if p.default is None:
                raise TypeError(f"{spec.name}() missing required argument {p.name!r}")
            values[p.name] = p.default
    if spec.check is not None:
        spec.check(*(values[n] for n in names))
    return values


def _resolve(name: str, kwargs: dict) -> Activation:
    if name not in BY_NAME:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(BY_NAME)}")
    spec = BY_NAME[name]
    if "approximate" in kwargs:
        approx = kwargs.pop("approximate")
        if approx not in spec.variants:
            raise ValueError(f"{name}: approximate must be one of {sorted(spec.variants)}, got {approx!r}")
        spec = BY_NAME[spec.variants[approx]]
    return spec


# --------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------


@dataclass
class ActivationStats:
    """Activity of each unit over one batch (see the module docstring).

    ``active_counts[u]`` is the number of outputs of unit ``u`` whose
    pre-activation was ``> 0``; every unit has ``samples`` outputs.
    """

    active_counts: np.ndarray
    samples: int
    axis: int

    @property
    def n_units(self) -> int:
        return int(self.active_counts.size)

    @property
    def inactive_fraction(self) -> np.ndarray:
        """Per unit: fraction of its outputs that were inactive."""
        if self.samples == 0:
            return np.zeros(self.active_counts.shape)
        return 1.0 - self.active_counts / self.samples

    @property
    def dead_units(self) -> int:
        """Units never active over the whole batch."""
        return int(np.count_nonzero(self.active_counts == 0)) if self.samples else 0

    @property
    def dead_fraction(self) -> float:
        return self.dead_units / self.n_units if self.n_units else 0.0

    @property
    def sparsity(self) -> float:
        """Fraction of all outputs that were inactive."""
        total = self.samples * self.n_units
        return 1.0 - float(self.active_counts.sum()) / total if total else 0.0


@dataclass
class DeadUnitTracker:
    """Accumulates :class:`ActivationStats` over batches; one record per epoch.

    >>> tracker = DeadUnitTracker()
    >>> for xb in batches:                       # doctest: +SKIP
    ...     y, stats = bias_act(xb @ W, b, diagnostics=True)
    ...     tracker.update(stats)
    >>> tracker.end_epoch()                      # doctest: +SKIP
    >>> tracker.history                          # dead fraction per epoch  # doctest: +SKIP
    """

    active_counts: np.ndarray | None = None
    samples: int = 0
    #: dead-unit fraction (never active during the epoch), one per epoch
    history: list = field(default_factory=list)
    #: overall fraction of inactive outputs, one per epoch
    sparsity_history: list = field(default_factory=list)

    def update(self, stats: ActivationStats) -> None:
        c = np.asarray(stats.active_counts, dtype=np.int64)
        if self.active_counts is None:
            self.active_counts = c.copy()
        elif self.active_counts.shape != c.shape:
            raise ValueError(f"stats for {c.size} units, tracker has {self.active_counts.size}")
        else:
            self.active_counts += c
        self.samples += stats.samples

    @property
    def stats(self) -> ActivationStats:
        """The current epoch's accumulated statistics."""
        counts = self.active_counts if self.active_counts is not None else np.zeros(0, np.int64)
        return ActivationStats(counts, self.samples, -1)

    @property
    def dead_units(self) -> int:
        return self.stats.dead_units

    @property
    def dead_fraction(self) -> float:
        return self.stats.dead_fraction

    def end_epoch(self) -> float:
        """Close the epoch: record and return its dead fraction, then reset."""
        s = self.stats
        self.history.append(s.dead_fraction)
        self.sparsity_history.append(s.sparsity)
        self.active_counts = None
        self.samples = 0
        return self.history[-1]


# --------------------------------------------------------------------------
# fused forward
# --------------------------------------------------------------------------


#: elements of the per-block accumulator rows (counts, dw partial sums) at most
_ACC_BUDGET = 1 << 22


def _blocks(nu: int, rows: int, want: int) -> int:
    """Number of accumulator blocks: *want*, at most one per unit and within
    :data:`_ACC_BUDGET` for accumulator rows of *rows* elements."""
    return max(1, min(want, nu, _ACC_BUDGET // max(rows, 1)))


def _forward(spec: Activation, x, b, values: dict, out, diagnostics: bool, parallel):
    x = _float_array(x)
    x2 = _rows(x)
    bb = _bias(b, x)
    P = _param_block(spec, values, x)
    y = _out(out, x.shape, x.dtype)
    y2 = y.reshape(x2.shape)
    R, F = x2.shape
    inner, C = _classes(x.shape)
    par = _use_parallel(x2.size, parallel)
    if not diagnostics:
        T.get("fwd", spec.forward, None, par)(x2, bb, P, inner, C, y2)
        return y
    # units: the last axis of 1-D/2-D input (one count row), axis 1 of N-D
    # input (a count row per channel, summed over the last axis below)
    K = C if x.ndim > 2 else 1
    # 16 blocks per thread: a thread that loses its core (a loaded machine)
    # holds back at most 1/16 of its share, as the forward's per-unit prange
    nb = _blocks(T._units(R, F)[2], K * F, 16 * _num_threads() if par else 1)
    cnt = np.zeros((nb, K, F), np.int32 if R < 2**31 else np.int64)
    T.get("fwd_stats", spec.forward, None, par)(x2, bb, P, inner, C, y2, cnt)
    if x.ndim > 2:
        counts = cnt.sum(axis=(0, 2), dtype=np.int64)
        return y, ActivationStats(counts, x.size // C if C else 0, 1)
    return y, ActivationStats(cnt.sum(axis=(0, 1), dtype=np.int64), R, x.ndim - 1)


def bias_act(
    x, bias, /, name: str = "relu", *args, out=None, diagnostics: bool = False, parallel=None, **params
):
    """``act(x + b)`` in one pass, ``b`` per feature (last axis).

    Parameters
    ----------
    x : array_like, float32 or float64, at least 1-D
    bias : array_like or None
        Bias with ``x.shape[-1]`` elements (or a scalar); ``None``: no bias.
    name : str
        Any activation of the table (``"relu"``, ``"gelu"``, ``"leaky_relu"``
        ...); ``approximate="tanh"`` selects ``gelu_tanh`` for ``"gelu"``.
    *args, **params
        The activation's parameters (``negative_slope=0.2``, ``weight=w`` for
        prelu: a scalar or ``C = x.shape[1]`` weights, per feature of a 2-D
        input, per channel of an N-D input).
    out : ndarray, optional
        C-contiguous output of ``x``'s shape and dtype (may be ``x`` itself).
    diagnostics : bool
        Also return an :class:`ActivationStats` computed in the same pass.
    parallel : bool or None
        Force the multi-threaded / serial loop; ``None``: by size.

    Returns
    -------
    y, or (y, stats) with ``diagnostics=True``.

    Examples
    --------
    >>> import numpy as np, fastrelu.training as tr
    >>> tr.bias_act(np.array([[-1.0, 2.0]]), np.array([0.5, -3.0]))
    array([[0., 0.]])
    """
    params = dict(params)
    spec = _resolve(name, params)
    values = _bind(spec, args, params)
    return _forward(spec, x, bias, values, out, diagnostics, parallel)


def relu_stats(x, bias=None, *, out=None, parallel=None):
    """``(relu(x + bias), ActivationStats)`` from one pass (dying-ReLU check)."""
    return _forward(BY_NAME["relu"], x, bias, {}, out, True, parallel)


# --------------------------------------------------------------------------
# forward + 1-bit mask, and the mask backward
# --------------------------------------------------------------------------


def mask_nbytes(n_features: int) -> int:
    """Bytes per row of a mask for rows of *n_features* elements."""
    return (operator.index(n_features) + 7) // 8


class BitMask(np.ndarray):
    """A packed mask (uint8 ndarray, ``np.packbits(m, axis=-1, bitorder="little")``)
    that remembers the row length it packs: :attr:`n_features`.

    The ``*_mask`` functions return one; the ``*_grad_mask`` functions check
    ``g.shape[-1]`` against :attr:`n_features` (a mask of rows of 10 and a
    ``g`` of rows of 9 have the same number of bytes per row).  Views and
    copies keep :attr:`n_features` while they keep the mask's last axis and
    dtype; it is ``None`` otherwise, and for a plain uint8 array used as a
    mask, whose set padding bits are then the only detectable mismatch.
    """

    n_features: int | None

    def __array_finalize__(self, obj):
        nf = getattr(obj, "n_features", None)
        if nf is not None and (self.dtype != np.uint8 or self.ndim == 0 or self.shape[-1] != mask_nbytes(nf)):
            nf = None
        self.n_features = nf

    def __reduce__(self):
        fn, args, state = super().__reduce__()
        return fn, args, (state, self.n_features)

    def __setstate__(self, state):
        base, self.n_features = state
        super().__setstate__(base)


def _bitmask(m: np.ndarray, n_features: int) -> BitMask:
    bm = m.view(BitMask)
    bm.n_features = n_features
    return bm


def unpack_mask(mask, n_features: int) -> np.ndarray:
    """The boolean mask back from its bits (for inspection and tests)."""
    return np.unpackbits(np.asarray(mask), axis=-1, count=n_features, bitorder="little").astype(bool)


def _row_mask(spec: Activation, values: dict) -> tuple:
    """The row's mask, ``(predicate variant, lo, hi)``: its bounds as numbers, or
    parameter names resolved from *values* (hardtanh's min_val/max_val)."""
    pred, lo, hi = spec.mask
    lo, hi = (float(values[v]) if isinstance(v, str) else v for v in (lo, hi))
    return pred, lo, hi


def _mask_of_row(spec: Activation, x, bias, values: dict, out, parallel):
    return _forward_mask(spec, x, bias, values, *_row_mask(spec, values), out, parallel)


def _forward_mask(spec: Activation, x, bias, values: dict, pred: str, lo, hi, out, parallel, mask_out=None):
    # the mask of a row is taken before the row is written: out may be x
    x = _float_array(x)
    x2 = _rows(x)
    bb = _bias(bias, x)
    P = _param_block(spec, values, x)
    y = _out(out, x.shape, x.dtype)
    R, F = x2.shape
    mshape = (*x.shape[:-1], mask_nbytes(F))
    m = np.empty(mshape, np.uint8) if mask_out is None else _out(mask_out, mshape, np.dtype(np.uint8))
    par = _use_parallel(x2.size, parallel)
    lo, hi = x.dtype.type(lo), x.dtype.type(hi)  # compare in x's dtype
    T.get("fwd_mask", spec.forward, pred, par)(
        x2, bb, P, *_classes(x.shape), y.reshape(x2.shape), m.reshape(R, -1), lo, hi
    )
    return y, _bitmask(m, F)


def relu_mask(x, bias=None, *, out=None, parallel=None):
    """``(relu(x + bias), mask)``, mask = packed bits of ``x + bias > 0``."""
    return _mask_of_row(BY_NAME["relu"], x, bias, {}, out, parallel)


def leaky_relu_mask(x, negative_slope=0.01, bias=None, *, out=None, parallel=None):
    """``(leaky_relu(x + bias, negative_slope), mask)``, mask of ``x + bias > 0``."""
    spec = BY_NAME["leaky_relu"]
    values = _bind(spec, (negative_slope,), {})
    return _mask_of_row(spec, x, bias, values, out, parallel)


def prelu_mask(x, weight, bias=None, *, out=None, parallel=None):
    """``(prelu(x + bias, weight), mask)``; weight scalar or ``x.shape[1]`` (per channel) elements."""
    spec = BY_NAME["prelu"]
    return _mask_of_row(spec, x, bias, {"weight": weight}, out, parallel)


def relu6_mask(x, bias=None, *, out=None, parallel=None):
    """``(relu6(x + bias), mask)``, mask of ``0 < x + bias < 6``."""
    return _mask_of_row(BY_NAME["relu6"], x, bias, {}, out, parallel)


def hardtanh_mask(x, min_val=-1.0, max_val=1.0, bias=None, *, out=None, parallel=None):
    """``(hardtanh(x + bias, min_val, max_val), mask)``, mask of ``lo < x + bias < hi``."""
    spec = BY_NAME["hardtanh"]
    values = _bind(spec, (min_val, max_val), {})
    return _mask_of_row(spec, x, bias, values, out, parallel)


def _check_mask(mask, g) -> tuple[np.ndarray, np.ndarray]:
    g = _float_array(g, "g")
    if g.ndim == 0:
        raise ValueError("g must have at least one dimension")
    F = g.shape[-1]
    nf = getattr(mask, "n_features", None)
    mask = np.asarray(mask)
    want = (*g.shape[:-1], mask_nbytes(F))
    if mask.dtype != np.uint8 or mask.shape != want:
        raise ValueError(
            f"mask must be uint8 of shape {want} for g of shape {g.shape}, got {mask.dtype} {mask.shape}"
        )
    if nf is not None and nf != F:
        raise ValueError(
            f"mask was built for rows of {nf} elements, g has rows of {F} (g.shape = {g.shape}); "
            "the mask and g must come from arrays of the same shape"
        )
    m2 = np.ascontiguousarray(mask).reshape(math.prod(want[:-1]), want[-1])
    if nf is None and F % 8 and m2.size and np.any(m2[:, -1] >> (F % 8)):
        # padding bits are 0 in a mask of rows of F elements: a set one means longer rows
        raise ValueError(
            f"mask has bits set beyond the {F} elements of g's rows (g.shape = {g.shape}): "
            "it was built for longer rows"
        )
    return m2, g


def _grad_mask(mask, g, slope, out, parallel):
    m2, g = _check_mask(mask, g)
    return _grad_mask_rows(m2, g, slope, out, parallel)


def _grad_mask_rows(m2, g, slope, out, parallel):
    """The mask backward of a checked ``(rows, bytes)`` mask *m2*."""
    res = _out(out, g.shape, g.dtype)
    g2 = _rows(g)  # no copy when g is contiguous; out=g works in place
    r2 = res.reshape(g2.shape)
    if np.shares_memory(r2, g2) and r2.ctypes.data != g2.ctypes.data:
        raise ValueError("out overlaps g without being g")
    par = _use_parallel(g2.size, parallel)
    P = slope if slope is not None else np.zeros((1, 1, g2.shape[1]), g.dtype)
    variant = "select" if slope is None else "slope"
    if par and r2.ctypes.data != g2.ctypes.data and _parallel.streams(r2.nbytes):
        # a large fresh out: non-temporal stores, as fastrelu.parallel (one
        # thread's streamed stores measured slower than its normal ones); in
        # place the lines are already owned: never streamed
        variant += "_st"
    T.get("bwd_mask", None, variant, par)(m2, g2, P, *_classes(g.shape), r2)
    return res


def relu_grad_mask(mask, g, out=None, *, parallel=None):
    """``g`` where the mask bit is set, else 0 (equals ``relu_grad(x, g)``)."""
    return _grad_mask(mask, g, None, out, parallel)


def relu6_grad_mask(mask, g, out=None, *, parallel=None):
    """Backward of relu6 from its mask (equals ``relu6_grad(x, g)``)."""
    return _grad_mask(mask, g, None, out, parallel)


def hardtanh_grad_mask(mask, g, out=None, *, parallel=None):
    """Backward of hardtanh from its mask (equals ``hardtanh_grad(x, g, lo, hi)``)."""
    return _grad_mask(mask, g, None, out, parallel)


def leaky_relu_grad_mask(mask, g, negative_slope=0.01, out=None, *, parallel=None):
    """``g`` where the bit is set, else ``negative_slope * g``."""
    g = _float_array(g, "g")
    spec = BY_NAME["leaky_relu"]
    P = _param_block(spec, _bind(spec, (negative_slope,), {}), g)
    return _grad_mask(mask, g, P, out, parallel)


def prelu_grad_mask(mask, g, weight, out=None, *, parallel=None):
    """dx of prelu from its mask: ``g`` where the bit is set, else ``weight_c * g``
    (weight scalar or one per channel, axis 1 of ``g``).

    (``dw`` needs ``x``: use :func:`prelu_backward`.)
    """
    g = _float_array(g, "g")
    P = _param_block(BY_NAME["prelu"], {"weight": weight}, g)
    return _grad_mask(mask, g, P, out, parallel)


# --------------------------------------------------------------------------
# PReLU training backward
# --------------------------------------------------------------------------

_PRELU_BLOCKS = 64  # partial-sum blocks: fixed by the shape, so dw never depends on the thread count


def prelu_backward(x, g, weight, axis: int = 1, *, out=None, parallel=None):
    """``(dx, dw)`` of ``prelu(x, weight)`` in one pass over ``x`` and ``g``.

    ``dx = g`` where ``x > 0`` else ``weight_c * g``; ``dw_c`` = sum over every
    axis but *axis* of ``x * g`` where ``x <= 0`` (NaN ``x`` gives NaN, as
    PyTorch).  ``weight`` has 1 element or ``C = x.shape[axis]`` elements
    (``x`` of any number of dimensions >= 2, e.g. ``(N, C, H, W)`` as
    ``torch.nn.PReLU(num_parameters=C)``); ``dw`` has ``weight``'s shape and
    dtype.  Partial sums are float64, one per (block, channel, last-axis
    index) in up to 64 blocks of rows fixed by the shape, summed in a fixed
    order: the result is the same for any thread count.
    """
    x = _float_array(x)
    g = np.asarray(g)
    if g.shape != x.shape:
        raise ValueError(f"g must have x's shape {x.shape}, got {g.shape}")
    w = np.asarray(weight)
    wf, inner, C = _channel_weight(w, x.shape, axis)
    x2 = _rows(x.reshape(1) if x.ndim == 0 else x)
    g2 = _rows(g.astype(x.dtype, copy=False).reshape(x2.shape))
    R, F = x2.shape
    K = C if C > 1 else 1  # one row of partial sums per channel, or per column
    P = np.empty((1, K, F), x.dtype)
    P[0] = wf.astype(x.dtype).reshape(-1, 1) if K > 1 else wf.astype(x.dtype)
    dx = _out(out, x.shape, x.dtype)
    par = _use_parallel(x2.size, parallel)
    part = np.zeros((_blocks(T._units(R, F)[2], K * F, _PRELU_BLOCKS), K, F), np.float64)
    T.get("prelu_bwd", None, None, par)(x2, g2, P, inner, C, dx.reshape(x2.shape), part)
    if w.size == 1:
        dwc = part.sum()
    elif K > 1:
        dwc = part.sum(axis=(0, 2))
    else:  # the channel axis is the last one
        dwc = part.sum(axis=(0, 1))
    wdt = w.dtype if w.dtype.kind == "f" else x.dtype
    return dx, np.asarray(dwc).astype(wdt).reshape(w.shape)


# --------------------------------------------------------------------------
# RReLU training mode
# --------------------------------------------------------------------------


def _rrelu_key(seed) -> np.uint64:
    # np.uint64 on both sides: a Python int key would be typed int64 by Numba
    # (and mixing int64 with uint64 gives float64 arithmetic)
    return np.uint64(T.mix64(np.uint64(operator.index(seed) % (1 << 64))))


def _rrelu_check(lower, upper):
    lower = float(lower)
    upper = float(upper)
    if lower > upper:
        raise ValueError("rrelu: lower must not be greater than upper")
    return lower, upper


def rrelu_slopes(shape, lower=1.0 / 8.0, upper=1.0 / 3.0, seed: int = 0, offset: int = 0) -> np.ndarray:
    """The float64 slopes ``U(lower, upper)`` that :func:`rrelu_train` uses for
    elements ``offset ... offset + prod(shape) - 1`` (all elements, not only
    ``x <= 0``)."""
    lower, upper = _rrelu_check(lower, upper)
    s = np.empty(shape, np.float64)
    par = _use_parallel(s.size, None)
    T.get("rrelu_slopes", None, None, par)(
        s.reshape(-1), lower, upper, _rrelu_key(seed), operator.index(offset)
    )
    return s


def rrelu_train(
    x, lower=1.0 / 8.0, upper=1.0 / 3.0, seed: int = 0, offset: int = 0, *, out=None, parallel=None
):
    """RReLU in training mode: ``x`` where ``x > 0``, else ``a * x`` with
    ``a ~ U(lower, upper)`` drawn per element.

    The slope of element ``i`` (C-order flat index) is a counter-based hash of
    ``(seed, offset + i)`` (splitmix64), so the result does not depend on
    the thread count or on how a large array is split into chunks (pass each
    chunk's flat start as *offset*), and :func:`rrelu_train_grad` regenerates
    the slopes instead of storing them.  Slopes are computed in float64, the
    product rounded once to ``x``'s dtype.
    """
    return _rrelu_pass(x, None, lower, upper, seed, offset, out, parallel)


def rrelu_train_grad(
    x, g, lower=1.0 / 8.0, upper=1.0 / 3.0, seed: int = 0, offset: int = 0, *, out=None, parallel=None
):
    """Gradient of :func:`rrelu_train` with the same arguments: ``g`` where
    ``x > 0`` (or NaN), else ``a * g`` with the same slopes ``a``."""
    return _rrelu_pass(x, g, lower, upper, seed, offset, out, parallel)


def _rrelu_pass(x, g, lower, upper, seed, offset, out, parallel):
    """``a * v`` where ``x <= 0``, else ``v`` (``v``: *g*, or ``x`` when *g* is None)."""
    lower, upper = _rrelu_check(lower, upper)
    x = _float_array(x)
    xc = np.ascontiguousarray(x).reshape(-1)
    vc = xc
    if g is not None:
        g = np.asarray(g)
        if g.shape != x.shape:
            raise ValueError(f"g must have x's shape {x.shape}, got {g.shape}")
        vc = np.ascontiguousarray(g.astype(x.dtype, copy=False)).reshape(-1)
    res = _out(out, x.shape, x.dtype)
    par = _use_parallel(xc.size, parallel)
    T.get("rrelu", None, None, par)(
        xc, vc, res.reshape(-1), lower, upper, _rrelu_key(seed), operator.index(offset)
    )
    return res
