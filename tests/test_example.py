"""examples/mlp_digits.py runs (few epochs): accuracy and the dying-ReLU contrast."""

from __future__ import annotations

from conftest import load_script


def _load():
    return load_script("examples/mlp_digits.py")


def test_mlp_digits(tmp_path):
    mod = _load()
    plot = tmp_path / "dead_units.png"
    res = mod.run(epochs=6, dying_epochs=6, plot=plot, quiet=True)
    for act, (acc, hist) in res["normal"].items():
        assert acc > 0.93, (act, acc)
        assert hist[-1] == 0.0
    relu_acc, relu_dead = res["dying"]["relu"]
    for act in ("leaky_relu", "prelu"):
        acc, dead = res["dying"][act]
        # leaky/prelu recover their units; relu keeps losing them
        assert dead[-1] < 0.1, (act, dead)
        assert relu_dead[-1] > dead[-1] + 0.1, (act, relu_dead, dead)
        assert acc > relu_acc
    assert plot.stat().st_size > 1000
