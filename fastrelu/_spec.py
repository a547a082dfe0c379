"""The activation table: every activation is declared here, once.

Each :class:`Activation` row names its scalar kernels (in
:mod:`fastrelu._kernels`), its parameters and PyTorch defaults, the dtypes it
supports, its kink conventions, the domain and tolerances the tests use, a
float64 NumPy reference, and the text its docstrings are made from.  The public
ufunc objects of every target, their docstrings, the tests, the docs tables and
the benchmarks are all derived from :data:`TABLE`.

Adding an activation = one scalar kernel (forward and gradient) + one row: the
namespaces (:func:`namespace`), the stubs, the README's function list, the docs
tables, the accuracy set and the tests' expectations are derived from the row
(``tests/test_toy_row.py`` adds a toy row to a copy and runs the suite on it).
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fastrelu import _kernels as K

# The loop dtypes, in the order NumPy tries them (earlier loops win).
INT_DTYPES = (
    np.dtype(np.bool_),
    np.dtype(np.int8),
    np.dtype(np.uint8),
    np.dtype(np.int16),
    np.dtype(np.uint16),
    np.dtype(np.int32),
    np.dtype(np.uint32),
    np.dtype(np.int64),
    np.dtype(np.uint64),
)
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Param:
    """A parameter of an activation (a ufunc operand after ``x``)."""

    name: str
    default: float | None  # None: required
    doc: str


@dataclass(frozen=True)
class Kink:
    """A point where the function is not differentiable (default params).

    ``grad`` is the convention fastrelu (and PyTorch) use there.
    """

    x: float
    value: float
    grad: float


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable
    grad: Callable
    summary: str
    math: str
    grad_math: str
    params: tuple[Param, ...] = ()
    #: names of the forward params the gradient takes (default: all)
    grad_params: tuple[str, ...] | None = None
    #: exact on integer and bool inputs, keeping their dtype (like np.maximum)
    int_exact: bool = False
    #: ``y -> g * f'(x)`` from the saved output, where that is well defined
    grad_from_output: Callable | None = None
    grad_from_output_note: str = ""
    #: validate the parameters of ``grad_from_output`` (instead of ``check``); raise ValueError
    grad_from_output_check: Callable | None = None
    kinks: tuple[Kink, ...] = ()
    #: parameter values the tests use (required params need one)
    test_params: dict = field(default_factory=dict)
    #: range the tests sample
    domain: tuple[float, float] = (-10.0, 10.0)
    #: max error against the float64 reference, in ulps of the result dtype
    ulps: dict = field(default_factory=lambda: {"float16": 1, "float32": 0, "float64": 0})
    #: "piecewise" (memory-bound, exact) or "smooth" (transcendental)
    family: str = "piecewise"
    #: float64 NumPy reference of the forward, ``ref(x, *params)``
    ref: Callable | None = None
    #: float64 NumPy reference of the derivative f'(x) (times 1)
    ref_grad: Callable | None = None
    #: name of the torch.nn.functional equivalent (with kwargs) for parity
    torch: str = ""
    #: validate scalar parameters; raise ValueError
    check: Callable | None = None
    #: keyword options that select another row (gelu's ``approximate``)
    variants: dict = field(default_factory=dict)
    notes: str = ""

    # -- special values (with the test parameters); the tests' expectations ------------
    #: (f(-inf), f(+inf)): the limits, also where an expression would give NaN
    limits: tuple[float, float] = field(kw_only=True)
    #: (f'(-inf), f'(+inf)): the gradient's factor of g at the infinities
    grad_limits: tuple[float, float] = field(kw_only=True)
    #: the gradient's factor of g at x = NaN (NaN: the gradient is NaN)
    grad_at_nan: float = field(kw_only=True)
    #: the gradient kernel *selects*: where f'(x) = 0 it returns 0 without multiplying by g
    #: (a NaN or inf g gives 0); otherwise it multiplies (0 * NaN = NaN, as PyTorch)
    grad_selects: bool = False
    #: a point ``(x, params)`` where f'(x) = 0 exactly (params None: the test parameters)
    grad_zero_at: tuple[float, tuple | None] = (-math.inf, None)
    #: a point where f'(x) != 0 (test parameters)
    grad_nonzero_at: float = 0.5
    #: f(-0.0) is +0.0 (IEEE 754-2019 maximum); every other row with f(0) = 0 keeps -0.0
    minus_zero_to_plus_zero: bool = False
    #: the open interval where f(x) = x exactly (test parameters); None: nowhere
    identity_on: tuple[float, float] | None = None
    #: ``m -> f(lowest finite)`` (m: the largest finite) where the tail still differs from the
    #: limit there; None: the limit, or ``-m * f'(-inf)`` where the limit is infinite
    value_at_lowest: Callable | None = None
    #: the slope of the x <= 0 side as a function of the parameters (leaky_relu-like rows)
    slope: Callable | None = None
    #: f is linear on each piece: f'' = 0 wherever it exists
    piecewise_linear: bool = False
    #: member of the accuracy set (fastrelu.accuracy: measured against the mpmath reference)
    accuracy: bool = False

    #: the forward's parameter is per channel along this axis of x (keyword ``axis``, PReLU)
    channel_axis: int | None = None
    #: the forward takes ``training=`` (only False: evaluation mode; RReLU)
    training_kwarg: bool = False

    # -- PyTorch ----------------------------------------------------------------------
    #: departures from torch beyond ``minus_zero_to_plus_zero`` (torch: -0.0):
    #: "inf" (torch's f(-inf) is NaN, fastrelu gives the limit), "grad_inf" (torch's gradient
    #: is NaN at +-inf), "float32_grad" (torch's float64 gradient is a float32 constant;
    #: fastrelu's is exact)
    torch_departures: frozenset[str] = frozenset()
    #: the torch.nn module class (fastrelu.torch subclasses it; a name torch.nn lacks is
    #: fastrelu.torch's own module); "": reached through another row's module
    torch_module: str = ""
    #: the 1-bit mask that replaces x for the backward (fastrelu.training, fastrelu.torch):
    #: ``(predicate, lo, hi)``; lo/hi a number or the name of the parameter giving it
    mask: tuple | None = None
    #: ``f''(x, *params)`` as an operator-only expression (NumPy arrays and torch tensors) for
    #: the double backward where torch has no counterpart; None: 0 where ``piecewise_linear``,
    #: else torch's autograd of the ``torch`` function
    grad2: Callable | None = None

    @property
    def grad_param_list(self) -> tuple[Param, ...]:
        if self.grad_params is None:
            return self.params
        return tuple(p for p in self.params if p.name in self.grad_params)

    def kernel(self, kind: str = "forward") -> Callable:
        """The scalar kernel of *kind* ("forward", "grad" or "grad_from_output")."""
        return {"forward": self.forward, "grad": self.grad, "grad_from_output": self.grad_from_output}[kind]

    def params_for(self, kind: str = "forward") -> tuple[Param, ...]:
        """The parameters the *kind* function takes after its data inputs."""
        return self.params if kind == "forward" else self.grad_param_list

    def nin(self, kind: str = "forward") -> int:
        """Ufunc inputs of *kind*: the data (x, or x and g) plus the parameters."""
        return (1 if kind == "forward" else 2) + len(self.params_for(kind))

    def dtypes(self, kind: str = "forward") -> tuple[np.dtype, ...]:
        if kind == "forward" and self.int_exact:
            return INT_DTYPES + FLOAT_DTYPES
        return FLOAT_DTYPES

    def defaults(self) -> dict:
        return {p.name: (self.test_params.get(p.name, p.default)) for p in self.params}


# --------------------------------------------------------------------------
# parameter checks (scalars only; arrays are checked with np.any)
# --------------------------------------------------------------------------


_PY_NUMBERS = (int, float)


def _any(cond, *vals) -> bool:
    """``cond`` holds anywhere (Python numbers fast, NumPy arrays with np.any).

    Lazy duck arrays (dask, xarray) are not checked: that would compute them.
    """
    if all(type(v) in _PY_NUMBERS for v in vals):
        return bool(cond(*vals))
    if not all(isinstance(v, (np.ndarray, np.generic, int, float, list, tuple)) for v in vals):
        return False
    arrs = [np.asarray(v) for v in vals]
    if not all(a.dtype.kind in "biuf" for a in arrs):
        return False  # not numbers: the call's failure path names the operand
    return bool(np.any(cond(*arrs)))


def _from_output_check(name: str, param: str, what: str, torch_op: str) -> Callable:
    """The check of ``<name>_grad_from_output``: the sign of y = f(x) tells the
    sign of x only for ``param >= 0`` (leaky_relu's slope, elu's alpha), so a
    negative or NaN value raises, as PyTorch's in-place backward does."""

    def check(value):
        if _any(lambda a: np.logical_not(a >= 0), value):
            raise ValueError(
                f"{name}_grad_from_output: {param}={value!r} is negative (or NaN): the gradient cannot "
                f'be computed from the output with a negative {param}. As PyTorch ("In-place '
                f"{torch_op} backward calculation is triggered with a negative slope which is not "
                f'supported"), use {name}_grad(x, g, {param}) with the forward input'
            )

    return check


def _check_hardtanh(min_val, max_val):
    if _any(lambda lo, hi: lo > hi, min_val, max_val):
        raise ValueError("hardtanh: min_val cannot be greater than max_val")


def _check_celu(alpha):
    if _any(lambda a: a == 0, alpha):
        raise ValueError("celu: alpha must not be 0 (ZeroDivisionError in x / alpha)")


def _check_softplus(beta, threshold):
    if _any(lambda b: b == 0, beta):
        raise ValueError("softplus: beta must not be 0")


def _check_squareplus(b):
    if _any(lambda b: b < 0, b):
        raise ValueError("squareplus: b must be >= 0")


def _check_rrelu(lower, upper):
    if _any(lambda lo, hi: lo > hi, lower, upper):
        raise ValueError("rrelu: lower must not be greater than upper")


# --------------------------------------------------------------------------
# float64 NumPy references (used by tests and as benchmark baselines)
# --------------------------------------------------------------------------


def _erfc(z):
    from scipy.special import erfc

    return erfc(z)


def _sig(x):
    from scipy.special import expit

    return expit(x)


def _ref_softplus(x, beta, threshold):
    bx = x * beta
    with np.errstate(over="ignore"):
        return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, 700))) / beta)


def _ref_softplus_grad(x, beta, threshold):
    return np.where(x * beta > threshold, 1.0, _sig(x * beta))


def _ref_gelu_tanh(x):
    u = K.SQRT_2_OVER_PI * (x + K.GELU_TANH_C * x**3)
    return x * _sig(2 * u)


def _ref_gelu_tanh_grad(x):
    u = K.SQRT_2_OVER_PI * (x + K.GELU_TANH_C * x**3)
    s = _sig(2 * u)
    du = K.SQRT_2_OVER_PI * (1 + 3 * K.GELU_TANH_C * x**2)
    return s + x * 2 * s * _sig(-2 * u) * du  # 1 - s without cancellation


def _ref_mish(x):
    return x * np.tanh(np.logaddexp(0, x))


def _ref_mish_grad(x):
    t = np.tanh(np.logaddexp(0, x))
    return t + x * _sig(x) * (1 - t * t)


_SELU_L, _SELU_A = K.SELU_SCALE, K.SELU_ALPHA
_SMOOTH_ULPS = {"float16": 1, "float32": 8, "float64": 8}


def _ref_squareplus(x, b):
    return (x + np.sqrt(x * x + b)) / 2


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------

_A = Activation

TABLE: tuple[Activation, ...] = (
    _A(
        name="relu",
        forward=K.relu,
        grad=K.relu_grad,
        grad_from_output=K.relu_grad_from_output,
        grad_from_output_note="``y = relu(x)``; ``y > 0`` exactly where ``x > 0``.",
        summary="Rectified linear unit.",
        math=r"\mathrm{relu}(x) = \max(x, 0)",
        grad_math=r"g \cdot [x > 0]",
        int_exact=True,
        kinks=(Kink(0.0, 0.0, 0.0),),
        ref=lambda x: np.maximum(x, 0.0),
        ref_grad=lambda x: np.where(x > 0, 1.0, 0.0),
        torch="relu",
        notes="``relu(-0.0)`` is ``+0.0`` (as ``np.maximum(x, 0)``); PyTorch returns ``-0.0``.",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=1.0,
        grad_selects=True,
        grad_zero_at=(-5.0, None),
        minus_zero_to_plus_zero=True,
        identity_on=(0.0, math.inf),
        piecewise_linear=True,
        torch_module="ReLU",
        mask=("open", 0.0, math.nan),
    ),
    _A(
        name="leaky_relu",
        forward=K.leaky_relu,
        grad=K.leaky_relu_grad,
        grad_from_output=K.leaky_relu_grad_from_output,
        grad_from_output_note=(
            "``y = leaky_relu(x, negative_slope)``; requires ``negative_slope >= 0`` "
            "(ValueError otherwise, as PyTorch's in-place backward)."
        ),
        grad_from_output_check=_from_output_check("leaky_relu", "negative_slope", "slope", "leakyReLu"),
        summary="Leaky rectified linear unit.",
        math=r"x \text{ if } x > 0 \text{ else } a x",
        grad_math=r"g \text{ if } x > 0 \text{ else } a g",
        params=(Param("negative_slope", 0.01, "slope a for x <= 0 (PyTorch default 0.01)"),),
        kinks=(Kink(0.0, 0.0, 0.01),),
        ref=lambda x, a: np.where(x > 0, x, a * x),
        ref_grad=lambda x, a: np.where(x > 0, 1.0, a),
        torch="leaky_relu",
        limits=(-math.inf, math.inf),
        grad_limits=(0.01, 1.0),
        grad_at_nan=0.01,
        grad_zero_at=(-1.0, (0.0,)),
        identity_on=(0.0, math.inf),
        slope=lambda negative_slope: negative_slope,
        piecewise_linear=True,
        torch_module="LeakyReLU",
        mask=("pos", 0.0, 0.0),
    ),
    _A(
        name="prelu",
        forward=K.prelu,
        grad=K.prelu_grad,
        summary="Parametric ReLU with a learnable slope per channel (axis 1, as PyTorch).",
        math=r"x \text{ if } x > 0 \text{ else } w_c x",
        grad_math=r"dx = g \text{ if } x > 0 \text{ else } w_c g",
        params=(Param("weight", None, "slope: 1 element or C = x.shape[axis] elements"),),
        kinks=(Kink(0.0, 0.0, 0.25),),
        test_params={"weight": 0.25},
        ref=lambda x, w: np.where(x > 0, x, w * x),
        ref_grad=lambda x, w: np.where(x > 0, 1.0, w),
        torch="prelu",
        limits=(-math.inf, math.inf),
        grad_limits=(0.25, 1.0),
        grad_at_nan=0.25,
        grad_zero_at=(-1.0, (0.0,)),
        identity_on=(0.0, math.inf),
        slope=lambda weight: weight,
        channel_axis=1,
        piecewise_linear=True,
        torch_module="PReLU",
        mask=("pos", 0.0, 0.0),  # fastrelu.training.prelu_mask (the adapter's prelu op saves x)
    ),
    _A(
        name="rrelu",
        forward=K.rrelu,
        grad=K.rrelu_grad,
        summary="Randomized leaky ReLU (evaluation mode: slope (lower + upper) / 2).",
        math=r"x \text{ if } x > 0 \text{ else } \tfrac{l + u}{2} x",
        grad_math=r"g \text{ if } x > 0 \text{ else } \tfrac{l + u}{2} g",
        params=(
            Param("lower", 1.0 / 8.0, "lower bound of the slope (PyTorch default 1/8)"),
            Param("upper", 1.0 / 3.0, "upper bound of the slope (PyTorch default 1/3)"),
        ),
        kinks=(Kink(0.0, 0.0, (1.0 / 8.0 + 1.0 / 3.0) / 2.0),),
        check=_check_rrelu,
        ref=lambda x, lo, hi: np.where(x > 0, x, (lo + hi) / 2 * x),
        ref_grad=lambda x, lo, hi: np.where(x > 0, 1.0, (lo + hi) / 2),
        torch="rrelu",
        limits=(-math.inf, math.inf),
        grad_limits=((1.0 / 8.0 + 1.0 / 3.0) / 2.0, 1.0),
        grad_at_nan=(1.0 / 8.0 + 1.0 / 3.0) / 2.0,
        grad_zero_at=(-1.0, (0.0, 0.0)),
        identity_on=(0.0, math.inf),
        slope=lambda lower, upper: (lower + upper) / 2,
        training_kwarg=True,
        piecewise_linear=True,
        torch_module="RReLU",
        mask=("pos", 0.0, 0.0),  # evaluation mode: leaky with the mean slope
    ),
    _A(
        name="threshold",
        forward=K.threshold,
        grad=K.threshold_grad,
        grad_params=("threshold",),
        summary="Threshold: x where x > threshold, else value.",
        math=r"x \text{ if } x > \theta \text{ else } v",
        grad_math=r"g \cdot [x > \theta]",
        params=(
            Param("threshold", None, "the threshold theta (required)"),
            Param("value", None, "the replacement value v (required)"),
        ),
        int_exact=True,
        kinks=(Kink(1.0, -2.0, 0.0),),
        test_params={"threshold": 1.0, "value": -2.0},
        ref=lambda x, th, v: np.where(x <= th, v, x),
        ref_grad=lambda x, th, v: np.where(x > th, 1.0, 0.0),
        torch="threshold",
        limits=(-2.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=1.0,
        grad_selects=True,
        grad_zero_at=(0.0, None),
        grad_nonzero_at=2.0,
        identity_on=(1.0, math.inf),
        piecewise_linear=True,
        torch_module="Threshold",
        mask=("open", "threshold", math.nan),
    ),
    _A(
        name="relu6",
        forward=K.relu6,
        grad=K.relu6_grad,
        summary="ReLU capped at 6.",
        math=r"\min(\max(x, 0), 6)",
        grad_math=r"g \cdot [0 < x < 6]",
        int_exact=True,
        kinks=(Kink(0.0, 0.0, 0.0), Kink(6.0, 6.0, 0.0)),
        ref=lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
        ref_grad=lambda x: np.where((x > 0) & (x < 6), 1.0, 0.0),
        torch="relu6",
        notes="``relu6(-0.0)`` is ``+0.0``, as relu.",
        limits=(0.0, 6.0),
        grad_limits=(0.0, 0.0),
        grad_at_nan=1.0,
        grad_selects=True,
        grad_zero_at=(7.0, None),
        minus_zero_to_plus_zero=True,
        identity_on=(0.0, 6.0),
        piecewise_linear=True,
        torch_module="ReLU6",
        mask=("open", 0.0, 6.0),
    ),
    _A(
        name="hardtanh",
        forward=K.hardtanh,
        grad=K.hardtanh_grad,
        summary="Hard tanh: x clamped to [min_val, max_val].",
        math=r"\min(\max(x, lo), hi)",
        grad_math=r"g \cdot [lo < x < hi]",
        params=(
            Param("min_val", -1, "lower bound (PyTorch default -1)"),
            Param("max_val", 1, "upper bound (PyTorch default 1)"),
        ),
        int_exact=True,
        kinks=(Kink(-1.0, -1.0, 0.0), Kink(1.0, 1.0, 0.0)),
        check=_check_hardtanh,
        ref=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        ref_grad=lambda x, lo, hi: np.where((x > lo) & (x < hi), 1.0, 0.0),
        torch="hardtanh",
        limits=(-1.0, 1.0),
        grad_limits=(0.0, 0.0),
        grad_at_nan=1.0,
        grad_selects=True,
        grad_zero_at=(-5.0, None),
        identity_on=(-1.0, 1.0),
        piecewise_linear=True,
        torch_module="Hardtanh",
        mask=("open", "min_val", "max_val"),
    ),
    _A(
        name="elu",
        forward=K.elu,
        grad=K.elu_grad,
        grad_from_output=K.elu_grad_from_output,
        grad_from_output_note=(
            "``y = elu(x, alpha)``; for ``x <= 0``, ``alpha * exp(x) = y + alpha``; requires "
            "``alpha >= 0`` (ValueError otherwise, as PyTorch's in-place backward)."
        ),
        grad_from_output_check=_from_output_check("elu", "alpha", "alpha", "elu"),
        summary="Exponential linear unit.",
        math=r"x \text{ if } x > 0 \text{ else } \alpha\,\mathrm{expm1}(x)",
        grad_math=r"g \text{ if } x > 0 \text{ else } \alpha e^{x} g",
        params=(Param("alpha", 1.0, "scale of the negative part (PyTorch default 1)"),),
        kinks=(Kink(0.0, 0.0, 1.0),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
        ref_grad=lambda x, a: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0))),
        torch="elu",
        limits=(-1.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=1.0,
        identity_on=(0.0, math.inf),
        accuracy=True,
        torch_module="ELU",
    ),
    _A(
        name="selu",
        forward=K.selu,
        grad=K.selu_grad,
        summary="Scaled exponential linear unit (self-normalising).",
        math=r"\lambda x \text{ if } x > 0 \text{ else } \lambda\alpha\,\mathrm{expm1}(x)",
        grad_math=r"\lambda g \text{ if } x > 0 \text{ else } \lambda\alpha e^{x} g",
        kinks=(Kink(0.0, 0.0, _SELU_L * _SELU_A),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=lambda x: _SELU_L * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
        ref_grad=lambda x: _SELU_L * np.where(x > 0, 1.0, _SELU_A * np.exp(np.minimum(x, 0))),
        torch="selu",
        limits=(-_SELU_L * _SELU_A, math.inf),
        grad_limits=(0.0, _SELU_L),
        grad_at_nan=_SELU_L,
        accuracy=True,
        torch_module="SELU",
    ),
    _A(
        name="celu",
        forward=K.celu,
        grad=K.celu_grad,
        summary="Continuously differentiable exponential linear unit.",
        math=r"\max(0, x) + \min(0, \alpha\,\mathrm{expm1}(x/\alpha))",
        grad_math=r"g \text{ if } x > 0 \text{ else } e^{x/\alpha} g",
        params=(Param("alpha", 1.0, "scale (PyTorch default 1); 0 is an error"),),
        kinks=(Kink(0.0, 0.0, 1.0),),
        check=_check_celu,
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0) / a)),
        ref_grad=lambda x, a: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / a)),
        torch="celu",
        limits=(-1.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=1.0,
        identity_on=(0.0, math.inf),
        accuracy=True,
        torch_module="CELU",
    ),
    _A(
        name="gelu",
        forward=K.gelu,
        grad=K.gelu_grad,
        summary="Gaussian error linear unit (exact erf form; ``approximate='tanh'`` selects gelu_tanh).",
        math=r"x\,\Phi(x) = \tfrac{1}{2} x\,\mathrm{erfc}(-x/\sqrt{2})",
        grad_math=r"g\,(\Phi(x) + x\,\varphi(x))",
        kinks=(Kink(0.0, 0.0, 0.5),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        variants={"none": "gelu", "tanh": "gelu_tanh"},
        ref=lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)),
        ref_grad=lambda x: 0.5 * _erfc(-x / math.sqrt(2)) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
        torch="gelu",
        notes="Returns 0 at -inf and +inf at +inf (PyTorch: NaN at -inf).",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        accuracy=True,
        torch_departures=frozenset({"inf", "grad_inf"}),
        torch_module="GELU",
    ),
    _A(
        name="gelu_tanh",
        forward=K.gelu_tanh,
        grad=K.gelu_tanh_grad,
        summary="Gaussian error linear unit, tanh approximation.",
        math=r"\tfrac{1}{2} x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))",
        grad_math=r"g \cdot \tfrac{d}{dx}\text{(the expression)}",
        kinks=(Kink(0.0, 0.0, 0.5),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=_ref_gelu_tanh,
        ref_grad=_ref_gelu_tanh_grad,
        torch="gelu:tanh",
        notes="The same as ``gelu(x, approximate='tanh')``.",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        accuracy=True,
        torch_departures=frozenset({"inf", "grad_inf"}),
    ),
    _A(
        name="silu",
        forward=K.silu,
        grad=K.silu_grad,
        summary="Sigmoid linear unit (swish).",
        math=r"x\,\sigma(x)",
        grad_math=r"g\,\sigma(x)(1 + x(1 - \sigma(x)))",
        kinks=(Kink(0.0, 0.0, 0.5),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=lambda x: x * _sig(x),
        ref_grad=lambda x: _sig(x) * (1 + x * (1 - _sig(x))),
        torch="silu",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        accuracy=True,
        torch_departures=frozenset({"inf", "grad_inf"}),
        torch_module="SiLU",
    ),
    _A(
        name="mish",
        forward=K.mish,
        grad=K.mish_grad,
        summary="Mish: x tanh(softplus(x)).",
        math=r"x \tanh(\log(1 + e^{x}))",
        grad_math=r"g\,(t + x\,\sigma(x)(1 - t^2)),\ t = \tanh(\mathrm{softplus}(x))",
        kinks=(Kink(0.0, 0.0, 0.6),),
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=_ref_mish,
        ref_grad=_ref_mish_grad,
        torch="mish",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        accuracy=True,
        torch_departures=frozenset({"inf", "grad_inf"}),
        torch_module="Mish",
    ),
    _A(
        name="softplus",
        forward=K.softplus,
        grad=K.softplus_grad,
        summary="Softplus, a smooth ReLU; linear where beta * x > threshold.",
        math=r"\tfrac{1}{\beta}\log(1 + e^{\beta x}) \text{, or } x \text{ where } \beta x > \text{threshold}",
        grad_math=r"g\,\sigma(\beta x) \text{, or } g \text{ where } \beta x > \text{threshold}",
        params=(
            Param("beta", 1.0, "sharpness (PyTorch default 1); 0 is an error"),
            Param("threshold", 20.0, "linear above beta * x > threshold (PyTorch default 20)"),
        ),
        kinks=(Kink(0.0, math.log(2.0), 0.5),),
        check=_check_softplus,
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=_ref_softplus,
        ref_grad=_ref_softplus_grad,
        torch="softplus",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        identity_on=(20.0, math.inf),
        accuracy=True,
        torch_module="Softplus",
    ),
    _A(
        name="hardsigmoid",
        forward=K.hardsigmoid,
        grad=K.hardsigmoid_grad,
        summary="Hard sigmoid: relu6(x + 3) / 6.",
        math=r"\min(\max(x + 3, 0), 6) / 6",
        grad_math=r"g / 6 \text{ if } -3 < x < 3 \text{ else } 0",
        kinks=(Kink(-3.0, 0.0, 0.0), Kink(3.0, 1.0, 0.0)),
        ulps={"float16": 1, "float32": 1, "float64": 1},
        ref=lambda x: np.minimum(np.maximum(x + 3, 0.0), 6.0) / 6,
        ref_grad=lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0.0),
        torch="hardsigmoid",
        notes="The float64 gradient is exactly 1/6 (PyTorch: float32(1/6)).",
        limits=(0.0, 1.0),
        grad_limits=(0.0, 0.0),
        grad_at_nan=0.0,
        grad_selects=True,
        grad_zero_at=(-5.0, None),
        piecewise_linear=True,
        torch_departures=frozenset({"float32_grad"}),
        torch_module="Hardsigmoid",
    ),
    _A(
        name="hardswish",
        forward=K.hardswish,
        grad=K.hardswish_grad,
        summary="Hard swish: x relu6(x + 3) / 6.",
        math=r"x \min(\max(x + 3, 0), 6) / 6",
        grad_math=r"0 \text{ if } x \le -3;\ g(x/3 + 1/2) \text{ if } -3 < x < 3;\ g \text{ if } x \ge 3",
        kinks=(Kink(-3.0, 0.0, 0.0), Kink(3.0, 3.0, 1.0)),
        ulps={"float16": 1, "float32": 1, "float64": 1},
        ref=lambda x: x * np.minimum(np.maximum(x + 3, 0.0), 6.0) / 6,
        ref_grad=lambda x: np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)),
        torch="hardswish",
        notes="Returns 0 at -inf (PyTorch: NaN).",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=1.0,
        grad_selects=True,
        grad_zero_at=(-5.0, None),
        identity_on=(3.0, math.inf),
        # torch's hardswish_backward gives 0 / g at -inf / +inf, as fastrelu: no "grad_inf"
        torch_departures=frozenset({"inf"}),
        torch_module="Hardswish",
    ),
    _A(
        name="squareplus",
        forward=K.squareplus,
        grad=K.squareplus_grad,
        summary="Squareplus (as in JAX), an algebraic smooth ReLU.",
        math=r"(x + \sqrt{x^2 + b}) / 2",
        grad_math=r"g\,(1 + x / \sqrt{x^2 + b}) / 2",
        params=(Param("b", 4.0, "smoothness (JAX default 4); must be >= 0"),),
        kinks=(Kink(0.0, 1.0, 0.5),),
        check=_check_squareplus,
        family="smooth",
        ulps=_SMOOTH_ULPS,
        ref=_ref_squareplus,
        ref_grad=lambda x, b: (1 + x / np.sqrt(x * x + b)) / 2,
        torch="",
        limits=(0.0, math.inf),
        grad_limits=(0.0, 1.0),
        grad_at_nan=math.nan,
        value_at_lowest=lambda m: 1.0 / m,  # b / (4 |x|) with b = 4
        accuracy=True,
        torch_module="Squareplus",  # no torch.nn counterpart: fastrelu.torch's own module
        grad2=lambda x, b: b / (2 * (x * x + b) ** 1.5),
    ),
)

BY_NAME: dict[str, Activation] = {a.name: a for a in TABLE}


def public_names() -> list[str]:
    """Every public function name the table produces, in table order."""
    names: list[str] = []
    for a in TABLE:
        names.append(a.name)
        names.append(a.name + "_grad")
        if a.grad_from_output is not None:
            names.append(a.name + "_grad_from_output")
    return names


def family_of(kernel: Callable) -> str | None:
    """The family of the row whose kernel *kernel* is (None: not in the table)."""
    for a in TABLE:
        if kernel in (a.forward, a.grad, a.grad_from_output):
            return a.family
    return None


def resolve(name: str) -> tuple[Activation, str]:
    """``"relu_grad"`` -> (relu row, "grad")."""
    for suffix, kind in (("_grad_from_output", "grad_from_output"), ("_grad", "grad")):
        if name.endswith(suffix) and name[: -len(suffix)] in BY_NAME:
            return BY_NAME[name[: -len(suffix)]], kind
    return BY_NAME[name], "forward"


_export_lock = threading.RLock()


def namespace(module: str, factory: Callable[[str, str], object], extras: Sequence[str] = ()):
    """``(__all__, __getattr__, __dir__)`` of a target namespace (PEP 562).

    ``__all__`` is :func:`public_names` (table order) then *extras*.  A public name is
    made on first access by ``factory(row_name, kind)`` and stored in the module's
    dict, so every later lookup is a plain attribute access that never reaches
    ``__getattr__``; each name is made once (under a lock), so ``module.relu is
    module.relu`` holds from any thread.  Nothing is made at import.
    """
    names = public_names()
    known = frozenset(names)

    def __getattr__(name: str):
        if name not in known:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        d = sys.modules[module].__dict__
        with _export_lock:
            obj = d.get(name)
            if obj is None:
                row, kind = resolve(name)
                obj = d[name] = factory(row.name, kind)
        return obj

    def __dir__() -> list[str]:
        return sorted(set(sys.modules[module].__dict__) | known)

    return [*names, *extras], __getattr__, __dir__
