"""The public objects as NumPy ufuncs: every attribute and method a ufunc of
the same ``nin`` has, NumPy's errors where a method does not apply, and
bfloat16 (ml_dtypes) kept as NumPy keeps it for ``np.maximum``.

What the object is (docs/api.rst, "What fastrelu.relu is"): an instance of
:class:`fastrelu.Ufunc` (``fastrelu.parallel``: ``ParallelUfunc``, a
subclass), not of :class:`numpy.ufunc`, which cannot be subclassed; the
compiled :class:`numpy.ufunc` is ``.ufunc``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NAMES, get, params

import fastrelu
import fastrelu.parallel
from fastrelu import _spec
from fastrelu._parallel import ParallelUfunc
from fastrelu._ufunc import UFUNC_ATTRS

BINARY = [n for n in NAMES if _spec.resolve(n)[0].nin(_spec.resolve(n)[1]) == 2]
NOT_BINARY = [n for n in NAMES if n not in BINARY]
BIG = 100_003  # above every parallel cut-over


def _nin(name):
    row, kind = _spec.resolve(name)
    return row.nin(kind)


# ==========================================================================
# what the object is (the documented facts)
# ==========================================================================


def test_documented_identity_of_the_object(target):
    obj = target.relu
    assert not isinstance(obj, np.ufunc)
    assert isinstance(obj, fastrelu.Ufunc)
    assert isinstance(obj.ufunc, np.ufunc)
    if target is fastrelu.parallel:
        assert isinstance(obj, ParallelUfunc)
    # the cpu and parallel objects share one compiled ufunc
    assert obj.ufunc is fastrelu.relu.ufunc
    with pytest.raises(TypeError):  # why the object cannot be a np.ufunc
        type("Sub", (np.ufunc,), {})


def test_the_docs_state_the_facts():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "api.rst").read_text()
    for fact in ("isinstance(fastrelu.relu, np.ufunc)", ".ufunc", "cannot be subclassed"):
        assert fact in text, fact


# ==========================================================================
# attributes
# ==========================================================================


@pytest.mark.parametrize("name", NAMES)
def test_every_ufunc_attribute_is_there(target, name):
    obj = get(target, name)
    raw = obj.ufunc
    for attr in sorted(UFUNC_ATTRS):
        assert hasattr(obj, attr), attr
        value = getattr(raw, attr)
        if not callable(value):
            assert getattr(obj, attr) == value, (attr, getattr(obj, attr), value)
    assert (obj.nin, obj.nout, obj.nargs) == (_nin(name), 1, _nin(name) + 1)
    assert obj.identity is None and obj.signature is None
    assert obj.ntypes == len(obj.types) == raw.ntypes
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        obj.nonexistent


def test_resolve_dtypes_is_the_ufuncs(target):
    f32 = np.dtype(np.float32)
    assert target.relu.resolve_dtypes((f32, None)) == np.maximum.resolve_dtypes((f32, f32, None))[1:]


# ==========================================================================
# methods that do not apply: NumPy's errors, for every name
# ==========================================================================

_UNARY_ERRORS = {
    "reduce": (lambda f, a: f.reduce(a), "reduce only supported for binary functions"),
    "accumulate": (lambda f, a: f.accumulate(a), "accumulate only supported for binary functions"),
    "reduceat": (lambda f, a: f.reduceat(a, [0]), "reduceat only supported for binary functions"),
    "outer": (lambda f, a: f.outer(a, a), "outer product only supported for binary functions"),
}


@pytest.mark.parametrize("method", list(_UNARY_ERRORS))
@pytest.mark.parametrize("name", NOT_BINARY)
def test_methods_of_non_binary_raise_numpys_error(target, name, method):
    call, msg = _UNARY_ERRORS[method]
    a = np.linspace(0.5, 2, 4)
    obj = get(target, name)
    with pytest.raises(ValueError) as ours:
        call(obj, a)
    with pytest.raises(ValueError) as numpys:
        call(obj.ufunc, a)
    assert str(ours.value) == str(numpys.value) == msg


def test_at_operand_count_errors_are_numpys(target):
    a = np.linspace(-1, 1, 4)
    for f, args, raw in (
        (target.relu, (1.0,), np.exp),  # unary with a second operand
        (target.relu_grad, (), np.add),  # binary without one
    ):
        with pytest.raises(ValueError) as ours:
            f.at(a, [0], *args)
        with pytest.raises(ValueError) as numpys:
            raw.at(a.copy(), [0], *args)
        assert str(ours.value) == str(numpys.value)
    with pytest.raises(TypeError, match="at most 2 operands"):
        target.hardtanh.at(a, [0], -1.0, 1.0, 5.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'slope'"):
        target.leaky_relu.at(a, [0], slope=0.1)
    with pytest.raises(TypeError, match="missing required argument 'threshold'"):
        target.threshold.at(a, [0])


# ==========================================================================
# binary methods: exactly the underlying ufunc's
# ==========================================================================


def _binary_operands(name):
    """Valid (A, B) for a binary name: B is g for gradients, the parameter otherwise."""
    a = np.array([-2.0, -0.5, 0.0, 0.75, 3.0])
    b = np.array([0.5, 1.0, 2.0])
    return a, b


@pytest.mark.parametrize("name", BINARY)
def test_binary_methods_match_the_ufunc(target, name):
    obj = get(target, name)
    raw = obj.ufunc
    a, b = _binary_operands(name)
    pos = np.linspace(0.5, 2.5, 6)  # every element a valid parameter as well
    np.testing.assert_array_equal(obj.outer(a, b), raw.outer(a, b))
    assert obj.outer(a, b).shape == (5, 3)
    np.testing.assert_array_equal(obj.reduce(pos), raw.reduce(pos))
    np.testing.assert_array_equal(obj.accumulate(pos), raw.accumulate(pos))
    np.testing.assert_array_equal(obj.reduceat(pos, [0, 2, 3]), raw.reduceat(pos, [0, 2, 3]))
    m = pos.reshape(2, 3)
    np.testing.assert_array_equal(obj.reduce(m, axis=1), raw.reduce(m, axis=1))
    out = np.empty(6)
    assert obj.accumulate(pos, out=out) is out
    with pytest.raises(ValueError, match="zero-size array to reduction operation"):
        obj.reduce(np.empty(0))  # no identity, as NumPy


def test_outer_is_a_table_of_calls(target):
    x = np.linspace(-3, 3, 7)
    slopes = np.array([0.0, 0.1, 0.5])
    t = target.leaky_relu.outer(x, slopes)
    for j, s in enumerate(slopes):
        np.testing.assert_array_equal(t[:, j], target.leaky_relu(x, s))
    g = np.array([1.0, -2.0])
    np.testing.assert_array_equal(target.relu_grad.outer(x, g), (x > 0)[:, None] * g)


def test_outer_validates_the_parameter_operand(target):
    with pytest.raises(ValueError, match="celu"):
        target.celu.outer(np.ones(3), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="squareplus"):
        target.squareplus.outer(np.ones(3), [-1.0])


# ==========================================================================
# at: in place, unbuffered, parameters defaulted
# ==========================================================================


def _at_reference(f, a, idx, *ops):
    """Apply *f* element by element, in index order (what unbuffered means)."""
    a = a.copy()
    flat = np.arange(a.size).reshape(a.shape)[idx].ravel()
    shape = np.arange(a.size).reshape(a.shape)[idx].shape
    ops = [np.broadcast_to(o, shape).ravel() if np.ndim(o) else o for o in ops]
    for k, i in enumerate(flat):
        j = np.unravel_index(i, a.shape)
        a[j] = f(a[j], *[o[k] if np.ndim(o) else o for o in ops])
    return a


@pytest.mark.parametrize(
    ("name", "ops"),
    [
        ("relu", ()),
        ("gelu", ()),
        ("leaky_relu", ()),  # default slope
        ("leaky_relu", (0.5,)),
        ("elu", (np.array([0.5, 2.0, 1.0, 3.0, 0.25]),)),  # one parameter per index
        ("hardtanh", ()),  # nin 3: not supported by numpy.ufunc.at, done in passes
        ("hardtanh", (-0.5, 0.5)),
        ("threshold", (0.0, -7.0)),
        ("rrelu", ()),
        ("relu_grad", (np.array([1.0, -2.0, 3.0, 0.5, 1.0]),)),
        ("leaky_relu_grad", (np.full(5, 2.0), 0.5)),
        ("softplus_grad", (2.0,)),
    ],
)
def test_at_applies_once_per_listed_index(target, name, ops):
    f = get(target, name)
    a = np.linspace(-3, 3, 12).reshape(3, 4)
    idx = (np.array([0, 0, 2, 1, 0]), np.array([1, 1, 3, 0, 1]))  # (0, 1) three times
    want = _at_reference(f, a, idx, *ops)
    got = a.copy()
    assert f.at(got, idx, *ops) is None
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(want, a)


def test_at_with_slices_masks_and_keywords(target):
    a = np.linspace(-3, 3, 10)
    b = a.copy()
    target.leaky_relu.at(b, slice(2, 8), negative_slope=0.5)
    np.testing.assert_array_equal(b[2:8], target.leaky_relu(a[2:8], 0.5))
    np.testing.assert_array_equal(b[:2], a[:2])
    c = a.copy()
    target.hardtanh.at(c, a < 0, max_val=0.5, min_val=-2.0)
    np.testing.assert_array_equal(c, np.where(a < 0, np.clip(a, -2, 0.5), a))
    with pytest.raises(ValueError, match="celu"):
        target.celu.at(a.copy(), [0], 0.0)  # parameters are validated as in a call
    with pytest.raises(ValueError, match="per-channel"):
        target.prelu.at(np.ones((2, 3)), [0], np.ones(3))
    d = -np.ones((2, 3))
    target.prelu.at(d, (0, 1), 0.25)
    assert d[0, 1] == -0.25 and d.sum() == -5.25


# ==========================================================================
# bfloat16 (ml_dtypes): kept, computed in float32, rounded once
# ==========================================================================


@pytest.fixture(scope="module")
def bf16():
    import ml_dtypes  # a test dependency (pyproject's test extra)

    return np.dtype(ml_dtypes.bfloat16)


def _bf_args(name, n, bf16):
    row, kind = _spec.resolve(name)
    x = np.linspace(-4, 4, n).astype(bf16)
    data = (x,) if kind == "forward" else (x, np.linspace(2, -1, n).astype(bf16))
    return data, params(row, kind)


@pytest.mark.parametrize("n", [37, BIG], ids=["small", "big"])
@pytest.mark.parametrize("name", NAMES)
def test_bfloat16_in_bfloat16_out(target, name, n, bf16):
    f = get(target, name)
    data, ps = _bf_args(name, n, bf16)
    want = getattr(fastrelu, name)(*(a.astype(np.float32) for a in data), *ps).astype(bf16)
    for _ in range(2):  # the general path, then the fast path
        y = f(*data, *ps)
        assert y.dtype == bf16, (name, y.dtype)
        np.testing.assert_array_equal(y.view(np.uint16), want.view(np.uint16))
    out = np.full(n, 7, bf16)
    assert f(*data, *ps, out=out) is out
    np.testing.assert_array_equal(out.view(np.uint16), want.view(np.uint16))


def test_bfloat16_where_scalars_and_mixed_dtypes(target, bf16):
    x = np.array([-2.5, -0.1, 0.0, 0.3, 4.0], bf16)
    m = x > 0
    out = np.full(5, 9, bf16)
    target.gelu(x, out=out, where=m)
    want = target.gelu(x)
    np.testing.assert_array_equal(out[m].view(np.uint16), want[m].view(np.uint16))
    assert (out[~m] == 9).all()
    s = target.leaky_relu(bf16.type(-2.0), 0.5)
    assert type(s) is bf16.type and s == -1.0
    # another dtype with bfloat16: NumPy's promotion (bfloat16 with float32 is float32)
    assert target.relu_grad(x, np.ones(5, np.float32)).dtype == np.float32
    o32 = np.empty(5, np.float32)  # a float32 out takes the float32 result unrounded
    target.silu(x, out=o32)
    np.testing.assert_array_equal(o32, target.silu(x.astype(np.float32)))
    assert target.gelu(x, dtype=np.float64).dtype == np.float64
    assert target.relu_grad.outer(x, x).dtype == bf16
    assert target.leaky_relu.reduce(np.abs(x) + bf16.type(1)).dtype == bf16
    a = x.copy()
    target.leaky_relu.at(a, [0, 0])
    assert a.dtype == bf16 and float(a[0]) == float(bf16.type(bf16.type(-2.5 * 0.01) * 0.01))


def test_bfloat16_out_untouched_on_error(target, bf16):
    x = np.ones(4, bf16)
    out = np.full(5, 3, bf16)
    with pytest.raises(ValueError):
        target.gelu(x, out=out)
    assert (out == 3).all()
