"""Generate the docs' tables and API pages from the activation table.

Writes, under ``docs/api/generated/`` (git-ignored; the Sphinx build runs this
script through ``docs/_ext/fastrelu_docs.py``):

* ``semantics_table.md`` -- name, parameters and defaults, kinks (value and
  gradient convention), the value and gradient at NaN, +-inf and -0.0, and the
  documented departures from PyTorch.  Values come from *calling* the ufuncs
  (float64), so the table is what the library does, not what it promises;
* ``dtype_table.md`` -- the result dtype of every forward function for bool
  and integer inputs (default parameters), by calling the ufuncs, plus the
  gradients' loops from ``.types``;
* ``api_cpu.rst`` -- an ``autofunction`` entry (with the real signature) per
  public function of the cpu target;
* ``api_targets.md`` -- the same names in ``fastrelu.parallel`` and
  ``fastrelu.cuda``;

and, with ``--readme PATH``, the README's function list between the markers
``<!-- fastrelu-functions:start -->`` and ``<!-- fastrelu-functions:end -->``
(``tests/test_generated.py`` keeps the committed README current).

Usage: ``python tools/gen_docs_tables.py [--out DIR] [--names NAME ...] [--readme README.md]``
(``--names``: the semantics and dtype tables for those rows only).
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import fastrelu  # noqa: E402
from fastrelu._spec import INT_DTYPES, TABLE, Activation, public_names, resolve  # noqa: E402

OUT = ROOT / "docs" / "api" / "generated"
UFUNC_KW = "out=None, where=True, casting='same_kind', order='K', dtype=None, subok=True"


def signature(name: str) -> str:
    """The call signature shown in the API reference (as the stubs type it)."""
    spec, kind = resolve(name)
    if kind == "forward":
        args, params = ["x"], spec.params
    else:
        args, params = ["y" if kind == "grad_from_output" else "x", "g"], spec.grad_param_list
    args.append("/")
    for p in params:
        args.append(p.name if p.default is None else f"{p.name}={p.default!r}")
    args.append("*")
    if spec.channel_axis is not None:
        args.append(f"axis={spec.channel_axis}")
    if spec.variants:
        args.append("approximate='none'")
    return f"{name}({', '.join(args)}, {UFUNC_KW})"


def _fmt(v) -> str:
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if v == 0:
        return "−0.0" if math.copysign(1.0, v) < 0 else "0"
    if math.isinf(v):
        return "+inf" if v > 0 else "−inf"
    return f"{v:.6g}".replace("-", "−")


def _defaults(spec: Activation, params) -> list:
    return [spec.test_params.get(p.name, p.default) for p in params]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(names=None) -> list[Activation]:
    return [a for a in TABLE if names is None or a.name in names]


def semantics_table(names=None) -> str:
    xs = np.array([np.nan, -np.inf, np.inf, -0.0])
    lines = [
        "| function | parameters (defaults) | kinks: x → f, f′ | f(NaN) | f′(NaN) | f(−inf), f(+inf) "
        "| f′(−inf), f′(+inf) | f(−0.0) | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in _rows(names):
        fp = _defaults(spec, spec.params)
        gp = _defaults(spec, spec.grad_param_list)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = getattr(fastrelu, spec.name)(xs, *fp)
            d = getattr(fastrelu, spec.name + "_grad")(xs, np.ones_like(xs), *gp)
        params = ", ".join(
            f"{p.name} (required; docs use {spec.test_params[p.name]!r})"
            if p.default is None
            else f"{p.name} = {p.default!r}"
            for p in spec.params
        )
        kinks = "; ".join(f"{_fmt(k.x)} → {_fmt(k.value)}, {_fmt(k.grad)}" for k in spec.kinks) or "—"
        notes = spec.notes or ""
        if spec.check is not None:
            notes = (notes + " Invalid parameters raise ValueError (see the docstring).").strip()
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    f"`{spec.name}`",
                    params or "—",
                    kinks,
                    _fmt(y[0]),
                    _fmt(d[0]),
                    f"{_fmt(y[1])}, {_fmt(y[2])}",
                    f"{_fmt(d[1])}, {_fmt(d[2])}",
                    _fmt(y[3]),
                    notes or "—",
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def dtype_table(names=None) -> str:
    ints = [np.dtype(d) for d in INT_DTYPES]
    head = "| function | " + " | ".join(str(d) for d in ints) + " |"
    lines = [head, "|---" * (len(ints) + 1) + "|"]
    for spec in _rows(names):
        f = getattr(fastrelu, spec.name)
        params = _defaults(spec, spec.params)
        cells = []
        for dt in ints:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    r = f(np.zeros(1, dt), *params)
                cells.append(str(r.dtype) if r.dtype != dt else f"**{r.dtype}**")
            except Exception as e:  # documented: the error a user gets
                cells.append(f"{type(e).__name__}")
        lines.append(f"| `{spec.name}` | " + " | ".join(cells) + " |")
    grads = sorted({"".join(t.split("->")[0][0]) for t in fastrelu.relu_grad.types})
    loops = ", ".join(str(np.dtype(c)) for c in grads)
    return (
        "\n".join(lines)
        + "\n\n**Bold**: the input dtype is kept (exact integer loop). Parameters are the defaults, "
        "passed as Python scalars (NEP 50: a Python float next to an integer array promotes to "
        "float64). Gradients have only floating loops (" + loops + "): integer inputs follow the "
        "same NumPy type resolution as `np.arctan2`.\n"
    )


def api_cpu() -> str:
    out = [
        ".. This file is generated by tools/gen_docs_tables.py -- do not edit.",
        "",
        ".. currentmodule:: fastrelu",
        "",
        ".. autosummary::",
        "",
    ]
    out += [f"   {n}" for n in public_names()]
    out.append("")
    for n in public_names():
        out += [f".. autofunction:: {signature(n)}", ""]
    return "\n".join(out)


def api_targets() -> str:
    names = public_names()
    lines = [
        "| function | `fastrelu` (cpu) | `fastrelu.parallel` | `fastrelu.cuda` |",
        "|---|---|---|---|",
    ]
    for n in names:
        lines.append(f"| {{func}}`fastrelu.{n}` | ✓ | `fastrelu.parallel.{n}` | `fastrelu.cuda.{n}` |")
    return (
        "Every name exists in every target namespace with the same signature and docstring "
        "(the docstring names its target).\n\n" + "\n".join(lines) + "\n"
    )


README_START = "<!-- fastrelu-functions:start -->"
README_END = "<!-- fastrelu-functions:end -->"


def readme_functions() -> str:
    """The README's function list (between the markers, markers included)."""
    text = ", ".join(f"`{a.name}`" for a in TABLE)
    from_output = [f"`{n}`" for n in public_names() if n.endswith("_grad_from_output")]
    if from_output:
        text += f"; plus {', '.join(from_output)} for training loops that keep the output"
    return "\n".join(
        [
            README_START,
            "<!-- generated by `python tools/gen_docs_tables.py --readme README.md` from fastrelu/_spec.py: "
            "do not edit by hand -->",
            "Functions (each with a `*_grad` twin taking `(x, g, params…)` and returning `g · f'(x)`):",
            *textwrap.wrap(text + ".", 100, break_long_words=False, break_on_hyphens=False),
            README_END,
        ]
    )


def update_readme(text: str) -> str:
    """*text* (a README) with its function list replaced by :func:`readme_functions`."""
    i, j = text.find(README_START), text.find(README_END)
    if i < 0 or j < i:
        raise SystemExit(f"gen_docs_tables: no {README_START} ... {README_END} block in the README")
    return text[:i] + readme_functions() + text[j + len(README_END) :]


def write(out: Path = OUT, names=None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "semantics_table.md": semantics_table(names),
        "dtype_table.md": dtype_table(names),
        "api_cpu.rst": api_cpu(),
        "api_targets.md": api_targets(),
    }
    written = []
    for name, text in files.items():
        p = out / name
        if not p.exists() or p.read_text() != text:  # keep mtimes: no needless Sphinx rebuilds
            p.write_text(text)
        written.append(p)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--names", nargs="+", help="semantics and dtype tables for these rows only")
    ap.add_argument("--readme", type=Path, help="rewrite this README's function list")
    args = ap.parse_args(argv)
    if args.readme is not None:
        text = args.readme.read_text()
        new = update_readme(text)
        if new != text:
            args.readme.write_text(new)
        print(f"wrote {args.readme}")
    for p in write(args.out, args.names):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
