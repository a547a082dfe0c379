"""Measured accuracy of the smooth activations against an mpmath reference.

``python -m fastrelu.accuracy [--reference PATH] [--no-torch] [--markdown PATH]`` prints a
markdown table: for each smooth forward and gradient (default parameters) and
each dtype, the largest error in ulps of the true value, the x where it
occurs, for gradients the largest ratio to the bound
``4 ulp(f'(x)) + 4 eps S(x)`` (S: sum of magnitudes of the gradient's added
terms), and PyTorch CPU's error on the same points when torch is importable.

The reference table ``fastrelu/data/accuracy_reference.npz`` is made by
``tools/make_accuracy_reference.py`` (mpmath, 256 bits).  fastrelu's values
come from the compiled ufunc loops (``_build.build_ufunc``), i.e. the code
users run.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastrelu._spec import BY_NAME, TABLE

#: shipped with the package (package data: the installed wheel has it too)
DEFAULT_REFERENCE = Path(__file__).resolve().parent / "data" / "accuracy_reference.npz"

#: the accuracy set (rows with ``accuracy=True`` in fastrelu/_spec.py, table order):
#: kernel name -> (extra parameters after x (and g for gradients), torch name or None)
SMOOTH = {a.name: (tuple(a.defaults().values()), a.name if a.torch else None) for a in TABLE if a.accuracy}

DTYPES = (np.float32, np.float64)


@dataclass
class Row:
    name: str
    dtype: str
    n: int
    max_ulp: float
    at_x: float
    max_bound_ratio: float | None  # gradients: max |err| / (4 ulp + 4 eps S)
    torch_max_ulp: float | None = None
    torch_at_x: float | None = None


def load_reference(path: str | Path | None = None) -> tuple[dict, dict]:
    """The reference arrays by key ``name/dtype`` and the metadata."""
    data = np.load(path or DEFAULT_REFERENCE)
    out: dict = {}
    for k in data.files:
        if k == "meta":
            continue
        name, dt, field = k.split("/")
        out.setdefault((name, dt), {})[field] = data[k]
    return out, json.loads(str(data["meta"]))


def ulp_of(ref_hi: np.ndarray, dtype) -> np.ndarray:
    """ulp (in *dtype*) of the true values, as float64; subnormal floor."""
    fi = np.finfo(dtype)
    _, e = np.frexp(np.abs(ref_hi))
    u = np.ldexp(1.0, e - (fi.nmant + 1))
    u = np.where(np.abs(ref_hi) >= float(fi.max), np.ldexp(1.0, fi.maxexp - fi.nmant - 1), u)
    return np.maximum(u, float(fi.smallest_subnormal))


def abs_error(y: np.ndarray, ref_hi: np.ndarray, ref_lo: np.ndarray) -> np.ndarray:
    """|y - ref|; 0 where y is the infinity the true value rounds to."""
    dtype = y.dtype
    y = y.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs((y - ref_hi) - ref_lo)
        same_inf = np.isinf(y) & (y == ref_hi.astype(dtype).astype(np.float64))
    err = np.where(same_inf, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


_UFUNCS: dict = {}


def compiled(kernel_name: str):
    """The kernel as a float32/float64 ufunc built by ``_build.build_ufunc``."""
    if kernel_name not in _UFUNCS:
        from fastrelu import _build, _kernels

        kernel = getattr(_kernels, kernel_name)
        nin = kernel.__code__.co_argcount
        _UFUNCS[kernel_name] = _build.build_ufunc(kernel, kernel_name, nin, list(DTYPES))
    return _UFUNCS[kernel_name]


def fastrelu_values(name: str, x: np.ndarray) -> np.ndarray:
    base = name.removesuffix("_grad")
    params = SMOOTH[base][0]
    uf = compiled(name)
    args = [x]
    if name.endswith("_grad"):
        args.append(np.ones_like(x))
    args += [np.full_like(x, p) for p in params]
    return uf(*args)


def torch_values(name: str, x: np.ndarray) -> np.ndarray | None:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    base = name.removesuffix("_grad")
    tname = SMOOTH[base][1]
    if tname is None:
        return None
    row = BY_NAME[tname]
    fname, _, variant = row.torch.partition(":")
    params = SMOOTH[base][0]

    def fn(t):
        if variant:  # "gelu:tanh": torch's gelu(x, approximate="tanh")
            return getattr(F, fname)(t, *params, approximate=variant)
        return getattr(F, fname)(t, *params)

    t = torch.from_numpy(x.copy())
    if name.endswith("_grad"):
        t.requires_grad_(True)
        y = fn(t)
        y.backward(torch.ones_like(y))
        return t.grad.numpy()
    with torch.no_grad():
        return fn(t).numpy()


def measure(ref: dict, with_torch: bool = True, names=None) -> list[Row]:
    rows = []
    for (name, dt), arr in ref.items():
        if names is not None and name not in names:
            continue
        x, hi, lo = arr["x"], arr["ref_hi"], arr["ref_lo"]
        dtype = np.dtype(dt).type
        u = ulp_of(hi, dtype)
        with np.errstate(all="ignore"):
            y = fastrelu_values(name, x)
        err = abs_error(y, hi, lo)
        ue = err / u
        i = int(np.argmax(ue))
        ratio = None
        if "S" in arr:
            eps = float(np.finfo(dtype).eps)
            ratio = float(np.max(err / (4 * u + 4 * eps * arr["S"])))
        row = Row(name, dt, x.size, float(ue[i]), float(x[i]), ratio)
        if with_torch:
            with np.errstate(all="ignore"):
                ty = torch_values(name, x)
            if ty is not None:
                tue = abs_error(ty, hi, lo) / u
                j = int(np.argmax(tue))
                row.torch_max_ulp, row.torch_at_x = float(tue[j]), float(x[j])
        rows.append(row)
    rows.sort(key=lambda r: (r.name.removesuffix("_grad"), r.name.endswith("_grad"), r.dtype))
    return rows


def _fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "—"
    if math.isinf(v):
        return "inf"
    if v >= 1e4:
        return f"{v:.2e}"
    return f"{v:.{digits}f}"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| function | dtype | points | max ulp | at x | max err/bound | torch max ulp | torch at x |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.dtype} | {r.n} | {_fmt(r.max_ulp)} | {r.at_x:.9g} | "
            f"{_fmt(r.max_bound_ratio)} | {_fmt(r.torch_max_ulp)} | "
            f"{'—' if r.torch_at_x is None else f'{r.torch_at_x:.9g}'} |"
        )
    return "\n".join(lines)


MARK_TAG = "fastrelu-accuracy"


def report(rows: list[Row], meta: dict) -> str:
    """The printed report: the reference's provenance and the table."""
    torch_v = "not installed"
    try:
        import torch

        torch_v = torch.__version__
    except ImportError:
        pass
    return (
        f"Reference: mpmath {meta['mpmath_version']}, {meta['mpmath_prec_bits']} bits, {meta['date']}; "
        f"torch {torch_v}. Errors in ulps of the true value; gradients: err/bound <= 1 passes "
        "(bound = 4 ulp(f') + 4 eps S).\n\n" + markdown(rows)
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="fastrelu accuracy table (markdown)")
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help=f"also write the report into PATH between its <!-- {MARK_TAG}:start/end --> lines",
    )
    args = ap.parse_args(argv)
    ref, meta = load_reference(args.reference)
    rows = measure(ref, with_torch=not args.no_torch)
    text = report(rows, meta)
    print(text)
    if args.markdown is not None:
        from fastrelu.bench import write_markdown

        cmd = "python -m fastrelu accuracy --markdown " + str(args.markdown)
        head = f"<!-- generated by `{cmd}`: do not edit by hand -->"
        write_markdown(args.markdown, f"{head}\n\n{text}", MARK_TAG)


if __name__ == "__main__":
    main()
