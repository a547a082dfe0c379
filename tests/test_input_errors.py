"""Wrong input gets NumPy's exception type and a message that names the
operand, what was passed and what is accepted (docs/semantics.md, "Errors");
nothing is written to ``out`` on any of them.  Both CPU targets, and the
cuda objects' argument binding (which runs before any device is needed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastrelu

X = np.linspace(-2, 2, 6)
_SUPPORTED = "supported dtypes: bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16"
_BIG = "1180591620717411303424"  # 2**70

#: (id, call(target), exception, regexes the message must match)
CASES = [
    ("str", lambda t: t.relu("abc"), TypeError, [r"relu: x is 'abc' \(a str\)", _SUPPORTED]),
    (
        "str-list",
        lambda t: t.relu(["a", "b"]),
        TypeError,
        [r"x: \['a', 'b'\] \(a list\)", "dtype <U1", _SUPPORTED],
    ),
    (
        "generator",
        lambda t: t.relu(i for i in range(3)),
        TypeError,
        [r"x is <generator", "an iterator", "np.fromiter"],
    ),
    ("None", lambda t: t.relu(None), TypeError, ["relu: x is None, not a number", _SUPPORTED]),
    ("dtype-name", lambda t: t.relu("float32"), TypeError, [r"x is 'float32' \(a str\)", "dtype='float32'"]),
    (
        "param-None",
        lambda t: t.leaky_relu(X, None),
        TypeError,
        ["leaky_relu: negative_slope is None, not a number", "cast to the dtype of x"],
    ),
    ("param-str", lambda t: t.hardtanh(X, "a", 1.0), TypeError, [r"hardtanh: min_val is 'a' \(a str\)"]),
    (
        "param-object-list",
        lambda t: t.leaky_relu(X, [0.1] * 5 + [None]),
        TypeError,
        ["negative_slope", "not all numbers", "object array"],
    ),
    (
        "extra-positional",
        lambda t: t.relu(X, 0),
        TypeError,
        [
            r"relu\(\) got out=0 \(an int\), which must be an array",
            "relu takes no parameters after x",
            "2nd positional argument is out=",
        ],
    ),
    (
        "extra-positional-tanh",
        lambda t: t.gelu(X, "tanh"),
        TypeError,
        [r"gelu\(\) got out='tanh' \(a str\)", r"did you mean approximate='tanh'\?"],
    ),
    (
        "extra-positional-param",
        lambda t: t.leaky_relu(X, 0.1, 0.2),
        TypeError,
        [r"out=0.2 \(a float\)", r"takes 1 parameter \(negative_slope\) after x", "3rd positional"],
    ),
    (
        "grad-extra-positional",
        lambda t: t.relu_grad(X, X, 1.0),
        TypeError,
        [r"takes no parameters after x and g", "3rd positional argument is out="],
    ),
    (
        "overflow-int",
        lambda t: t.relu(2**70),
        OverflowError,
        [f"Python integer x={_BIG} is out of bounds for int64 and uint64", "pass a float"],
    ),
    (
        "overflow-int-relu6",
        lambda t: t.relu6(-(2**64) - 1),
        OverflowError,
        ["integer x=-18446744073709551617"],
    ),
    (
        "overflow-int-params",
        lambda t: t.hardtanh(2**70),
        OverflowError,
        [f"hardtanh: Python integer x={_BIG}"],
    ),
    (
        "complex",
        lambda t: t.relu(np.array([1j])),
        TypeError,
        ["x: an ndarray of dtype complex128", _SUPPORTED],
    ),
    ("complex-scalar", lambda t: t.gelu(1j), TypeError, ["gelu", "complex", "float32"]),
    ("ragged", lambda t: t.relu([[1, 2], [3]]), ValueError, ["relu: x is not a rectangular array"]),
    (
        "dtype-kw",
        lambda t: t.relu(X, dtype=np.complex64),
        TypeError,
        ["ufunc 'relu' has no loop for dtype=", _SUPPORTED],
    ),
]


@pytest.mark.parametrize(("call", "exc", "patterns"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_message_names_the_problem(target, call, exc, patterns):
    with pytest.raises(exc) as e:
        call(target)
    assert type(e.value) is exc
    for p in patterns:
        assert __import__("re").search(p, str(e.value)), (p, str(e.value))
    assert "does not support the input types (float64)" not in str(e.value)  # the old contradiction


@pytest.mark.parametrize(
    "call",
    [
        lambda t, o: t.leaky_relu(X, None, out=o),
        lambda t, o: t.hardtanh(X, "a", 1.0, out=o),
        lambda t, o: t.relu(X, o, 0),  # out twice
        lambda t, o: t.relu(["a"] * 6, out=o),
        lambda t, o: t.gelu_grad(X, None, out=o),
    ],
)
def test_nothing_written_on_error(target, call):
    out = np.full(6, 42.0)
    with pytest.raises((TypeError, ValueError)):
        call(target, out)
    np.testing.assert_array_equal(out, 42.0)


def test_where_without_out_warns_at_the_callers_line(target):
    x = np.linspace(-1, 1, 100_003)  # the parallel target's multi-threaded size too
    m = x > 0
    for call in (
        lambda: target.relu(x, where=m),
        lambda: target.gelu(x, where=m, approximate="tanh"),  # routed to gelu_tanh
        lambda: target.leaky_relu(x[:5], 0.2, where=m[:5]),
        lambda: target.relu_grad(x[:5], x[:5], where=m[:5]),
    ):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            call()
        assert len(w) == 1, [str(r.message) for r in w]
        assert w[0].category is UserWarning
        assert "'where' used without 'out'" in str(w[0].message)
        assert w[0].filename == __file__, w[0].filename
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        target.relu(x, where=m, out=(None,))  # intentional: no warning, as NumPy
        target.relu(x, where=True)  # NumPy does not warn without a mask


def test_torch_tensor_that_requires_grad_points_to_fastrelu_torch(target):
    import torch  # the test command installs it (README, .ci/run)

    t = torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"relu: x is a torch.Tensor that requires grad.*fastrelu\.torch"):
        target.relu(t)
    with pytest.raises(TypeError, match=r"relu_grad: g is a torch.Tensor that requires grad.*g\.detach\(\)"):
        target.relu_grad(np.ones(3), t)


def test_cuda_objects_bind_and_check_before_any_device():
    """The cuda objects share the binding: these raise with or without a GPU."""
    from fastrelu import cuda

    with pytest.raises(TypeError, match=r"gelu\(\) got out='tanh'.*approximate='tanh'"):
        cuda.gelu(X, "tanh")
    with pytest.raises(TypeError, match=r"relu\(\) got out=0"):
        cuda.relu(X, 0)
    with pytest.raises(ValueError, match="scalar or 1D"):
        cuda.prelu(np.ones((2, 8, 3)), np.ones((8, 1)))
    with pytest.raises(ValueError, match="negative slope which is not supported"):
        cuda.leaky_relu_grad_from_output(X, X, -2.0)
    with pytest.raises(ValueError, match="negative slope which is not supported"):
        cuda.elu_grad_from_output(X, X, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="outer product only supported for binary functions"):
        cuda.relu.outer(X, X)
    assert (cuda.relu.nin, cuda.relu_grad.nin, cuda.leaky_relu.nargs) == (1, 2, 3)


def test_the_fast_path_keeps_working_after_errors(target):
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    o = np.empty_like(x)
    for _ in range(2):
        with pytest.raises(TypeError):
            target.leaky_relu(x, 0.1, 0.2)  # cached slope, bad out
        assert target.leaky_relu(x, 0.1, out=o) is o
        with pytest.raises(TypeError):
            target.relu(x, 0)
        assert target.relu(x, out=o) is o
    np.testing.assert_array_equal(o, np.maximum(x, 0))
    assert fastrelu.relu(x).dtype == np.float32
