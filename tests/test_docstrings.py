"""Docstrings: generated from the table, numpydoc-shaped, present on every target object,
and their examples run (doctest) against the real ufuncs."""

from __future__ import annotations

import doctest
import importlib
import importlib.util

import numpy as np
import pytest
from numpydoc.docscrape import NumpyDocString

import fastrelu
from fastrelu._doc import make_doc
from fastrelu._spec import public_names, resolve

NAMES = public_names()
CPU_TARGETS = {"cpu": "fastrelu", "parallel": "fastrelu.parallel"}


@pytest.fixture(params=list(CPU_TARGETS), scope="module")
def module(request):
    return importlib.import_module(CPU_TARGETS[request.param])


def _param_names(name: str) -> list[str]:
    spec, kind = resolve(name)
    if kind == "forward":
        data, params = ["x"], spec.params
    else:
        data = ["y" if kind == "grad_from_output" else "x", "g"]
        params = spec.grad_param_list
    return data + [p.name for p in params]


@pytest.mark.parametrize("name", NAMES)
def test_doc_survives_on_target_object(module, name):
    obj = getattr(module, name)
    target = "cpu" if module is fastrelu else module.__name__.rsplit(".", 1)[1]
    spec, kind = resolve(name)
    assert isinstance(obj.__doc__, str) and obj.__doc__.strip()
    assert obj.__doc__ == make_doc(spec, kind, target)
    assert obj.__name__ == name
    # the raw NumPy ufunc carries the text as well (np.info / help on .ufunc)
    assert make_doc(spec, kind, "cpu").splitlines()[0] in obj.ufunc.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_numpydoc_sections(module, name):
    doc = NumpyDocString(getattr(module, name).__doc__)
    assert doc["Summary"] and doc["Summary"][0].strip()
    documented = [p.name for p in doc["Parameters"]]
    for p in _param_names(name):
        assert p in documented, (name, p, documented)
    assert "out" in documented and "where" in documented
    assert doc["Returns"], name
    assert doc["Notes"], name
    assert doc["Examples"], name
    assert not [p for p in doc["Parameters"] if not p.desc], name


@pytest.mark.parametrize("name", NAMES)
def test_docstring_examples_run(module, name):
    obj = getattr(module, name)
    test = doctest.DocTestParser().get_doctest(
        obj.__doc__, {"np": np, "fastrelu": fastrelu}, f"{module.__name__}.{name}", None, 0
    )
    assert test.examples, "no example"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_cuda_objects_keep_docs():
    """``fastrelu.cuda`` (when the module exists) documents the same names without a GPU."""
    if importlib.util.find_spec("fastrelu.cuda") is None:
        pytest.skip("fastrelu.cuda not present")
    try:
        cuda = importlib.import_module("fastrelu.cuda")
    except ImportError as e:  # numba-cuda not installed
        pytest.skip(f"fastrelu.cuda not importable: {e}")
    for name in NAMES:
        obj = getattr(cuda, name)
        spec, kind = resolve(name)
        assert obj.__doc__ == make_doc(spec, kind, "cuda"), name
