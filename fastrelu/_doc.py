"""Docstrings of the public ufunc objects, generated from the table."""

from __future__ import annotations

import numpy as np

from fastrelu._spec import Activation

_TARGET_TEXT = {
    "cpu": "single-thread CPU",
    "parallel": "parallel CPU (multi-threaded for large contiguous arrays)",
    "cuda": "CUDA GPU (CuPy arrays, PyTorch CUDA tensors, Numba device arrays)",
}

_UFUNC_KWARGS = """\
out : ndarray, optional
    Where to write the result (NumPy ufunc semantics; nothing is written
    when the call raises).
where : array_like of bool, optional
    Compute only where True; elsewhere ``out`` keeps its value.
dtype, casting, order, subok
    As for any NumPy ufunc."""

_EXAMPLE_X = (-2.0, 0.0, 1.5)


def _prefix(target: str) -> str:
    return "fastrelu" if target == "cpu" else f"fastrelu.{target}"


def _fmt_params(params) -> str:
    lines = []
    for p in params:
        default = "required" if p.default is None else f"default {p.default!r}"
        lines.append(f"{p.name} : float or array_like, {default}")
        lines.append(f"    {p.doc[0].upper() + p.doc[1:]}. Cast to the dtype of ``x``.")
    return "\n".join(lines)


def _example(spec: Activation, kind: str, target: str) -> str:
    if target == "cuda":
        return (
            f">>> import cupy as cp  # doctest: +SKIP\n"
            f">>> {_prefix(target)}.{_public_name(spec, kind)}(cp.linspace(-1, 1, 5))  # doctest: +SKIP"
        )
    params = [spec.test_params.get(p.name, p.default) for p in _params(spec, kind)]
    fn = spec.kernel(kind)
    xs = np.array(_EXAMPLE_X)
    if kind == "forward":
        vals = [fn(float(v), *params) for v in xs]
        call_args = "x"
    else:
        if kind == "grad_from_output":
            xs = np.array([spec.forward(float(v), *spec.defaults().values()) for v in xs])
        vals = [fn(float(v), 1.0, *params) for v in xs]
        call_args = "y, np.ones(3)" if kind == "grad_from_output" else "x, np.ones(3)"
    extra = "".join(f", {p.name}={v!r}" for p, v in zip(_params(spec, kind), params) if p.default is None)
    name = _public_name(spec, kind)
    var = "y" if kind == "grad_from_output" else "x"
    out = repr(np.array(vals, dtype=np.float64))
    return (
        ">>> import numpy as np, fastrelu\n"
        f">>> {var} = np.array({list(xs.tolist())!r})\n"
        f">>> {_prefix(target)}.{name}({call_args}{extra})\n"
        f"{out}"
    )


def _params(spec: Activation, kind: str):
    return spec.params_for(kind)


def _public_name(spec: Activation, kind: str) -> str:
    return spec.name if kind == "forward" else f"{spec.name}_{kind}"


def make_doc(spec: Activation, kind: str, target: str) -> str:
    params = _params(spec, kind)
    if kind == "forward":
        summary = spec.summary
        inputs = "x : array_like\n    Input (float16/32/64; bfloat16 (ml_dtypes) kept, computed in float32"
        inputs += (
            "; integer and bool kept exactly" if spec.int_exact else "; integers follow ``np.exp``'s rules"
        )
        if spec.int_exact and spec.params:
            inputs += ", an integer x casts the parameters to its dtype (OverflowError out of range)"
        inputs += ")."
        returns = f"y : ndarray or scalar\n    ``{spec.name}(x)``, dtype of ``x`` (scalar for scalar input)."
        body = f".. math:: {spec.math}"
    elif kind == "grad":
        summary = f"Gradient of :func:`{spec.name}`: ``g * d{spec.name}/dx`` at ``x``."
        inputs = "x : array_like\n    The forward input.\ng : array_like\n    The incoming gradient."
        returns = "dx : ndarray or scalar\n    The gradient with respect to ``x``."
        body = f".. math:: {spec.grad_math}"
    else:
        summary = f"Gradient of :func:`{spec.name}` computed from its saved output ``y``."
        inputs = "y : array_like\n    The forward output.\ng : array_like\n    The incoming gradient."
        returns = "dx : ndarray or scalar\n    The gradient with respect to the forward input."
        body = spec.grad_from_output_note
    if spec.channel_axis is not None and kind != "grad_from_output":
        inputs += (
            f"\naxis : int, default {spec.channel_axis}\n    The channel axis the parameter applies along "
            f"(PyTorch: {spec.channel_axis})."
        )
    if spec.variants:
        inputs += "\napproximate : {'none', 'tanh'}, default 'none'\n    Select the exact or the tanh form."
    kinks = ", ".join(f"{k.grad!r} at x = {k.x!r}" for k in spec.kinks)
    notes = [f"Target: {_TARGET_TEXT[target]}."]
    if kind != "forward":
        notes.append(f"Kink convention (default parameters): the gradient factor is {kinks}.")
    else:
        notes.append(f"Gradient: :func:`{spec.name}_grad` ({kinks} at the kinks).")
    if spec.notes:
        notes.append(spec.notes)
    notes.append("Semantics follow PyTorch; see the semantics page for NaN, inf and -0.0.")
    nin = spec.nin(kind)
    methods = "``.at``" + (", ``.outer``, ``.reduce``, ``.accumulate``, ``.reduceat``" if nin == 2 else "")
    notes.append(
        f"An instance of :class:`fastrelu.Ufunc` with the attributes of a NumPy ufunc of nin = {nin} "
        f"and its methods ({methods}); the compiled :class:`numpy.ufunc` is ``.ufunc``."
    )
    sections = [
        summary,
        "",
        body,
        "",
        "Parameters",
        "----------",
        inputs,
    ]
    if params:
        sections.append(_fmt_params(params))
    sections += [
        _UFUNC_KWARGS,
        "",
        "Returns",
        "-------",
        returns,
        "",
        "Notes",
        "-----",
        "\n".join(notes),
        "",
        "Examples",
        "--------",
        _example(spec, kind, target),
        "",
    ]
    return "\n".join(sections)
