"""A small MLP in NumPy + fastrelu on scikit-learn's digits, and dying ReLUs.

Forward, backward and Adam are written by hand; the hidden layers use
``fastrelu.training``:

* ``bias_act(x @ W, b, name, diagnostics=True)`` -- the linear layer's bias and
  the activation in one pass, with per-unit activity counts for free;
* relu / leaky_relu keep only the 1-bit mask for the backward
  (``relu_mask`` + ``relu_grad_mask``); prelu keeps its pre-activation for
  ``prelu_backward`` (dx and the slope gradient dw in one pass);
* a :class:`~fastrelu.training.DeadUnitTracker` per layer records the fraction
  of hidden units that were never active during an epoch.

Two runs:

1. a sensible setup (He init, lr 1e-3) -> test accuracy ~97 %;
2. a setup that provokes dying ReLUs (bias initialised to -4, so that most
   pre-activations start negative, and a larger learning rate): relu loses
   many of its units for good, while leaky_relu and prelu,
   whose negative side still passes gradient, bring them back.

Run ``python examples/mlp_digits.py`` (about 20 s); it writes
``docs/_static/dead_units.png``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

import fastrelu.training as tr

ACTS = ("relu", "leaky_relu", "prelu")


def load_digits_split(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-3
    return (Xtr - mu) / sd, (Xte - mu) / sd, ytr, yte


class MLP:
    """in -> hidden -> hidden -> 10, activation *act* on the hidden layers."""

    def __init__(self, sizes, act="relu", bias_init=0.0, seed=0, leak=0.1):
        rng = np.random.default_rng(seed)
        self.act = act
        self.leak = leak
        self.params = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            W = (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
            bb = np.full(b, bias_init if i < len(sizes) - 2 else 0.0, np.float32)
            self.params += [W, bb]
        self.nhidden = len(sizes) - 2
        if act == "prelu":
            for h in sizes[1:-1]:
                self.params.append(np.full(h, 0.25, np.float32))  # per-unit slopes, torch init

    def _slope(self, i):
        return self.params[2 * (self.nhidden + 1) + i]

    def forward(self, X, train=True):
        cache, stats = [], []
        h = X
        for i in range(self.nhidden):
            W, b = self.params[2 * i], self.params[2 * i + 1]
            z = h @ W
            if self.act == "relu":
                _, st = tr.relu_stats(z, b) if train else (None, None)
                out, mask = tr.relu_mask(z, b)
                cache.append((h, mask))
            elif self.act == "leaky_relu":
                _, st = tr.bias_act(z, b, "leaky_relu", negative_slope=self.leak, diagnostics=True)
                out, mask = tr.leaky_relu_mask(z, self.leak, b)
                cache.append((h, mask))
            else:
                pre = z + b
                out, st = tr.bias_act(pre, None, "prelu", weight=self._slope(i), diagnostics=True)
                cache.append((h, pre))
            stats.append(st)
            h = out
        W, b = self.params[2 * self.nhidden], self.params[2 * self.nhidden + 1]
        logits = h @ W + b
        return logits, (cache, h), stats

    def backward(self, logits, y, state):
        cache, hlast = state
        n = len(y)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
        d = p
        d[np.arange(n), y] -= 1
        d /= n
        grads = [None] * len(self.params)
        k = self.nhidden
        grads[2 * k] = hlast.T @ d
        grads[2 * k + 1] = d.sum(0)
        g = d @ self.params[2 * k].T
        for i in reversed(range(k)):
            h, saved = cache[i]
            if self.act == "relu":
                dz = tr.relu_grad_mask(saved, g, out=g)
            elif self.act == "leaky_relu":
                dz = tr.leaky_relu_grad_mask(saved, g, self.leak, out=g)
            else:
                dz, dw = tr.prelu_backward(saved, g, self._slope(i), out=g)
                grads[2 * (k + 1) + i] = dw
            grads[2 * i] = h.T @ dz
            grads[2 * i + 1] = dz.sum(0)
            if i:
                g = dz @ self.params[2 * i].T
        return loss, grads


class Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype)


def train(act, data, epochs=20, lr=1e-3, bias_init=0.0, hidden=128, batch=64, seed=0):
    """Train; return (test accuracy, dead fraction of all hidden units per epoch)."""
    Xtr, Xte, ytr, yte = data
    net = MLP([Xtr.shape[1], hidden, hidden, 10], act, bias_init, seed)
    opt = Adam(net.params, lr)
    rng = np.random.default_rng(seed)
    trackers = [tr.DeadUnitTracker() for _ in range(net.nhidden)]
    for _ in range(epochs):
        order = rng.permutation(len(ytr))
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            logits, state, stats = net.forward(Xtr[idx])
            for t, st in zip(trackers, stats, strict=True):
                t.update(st)
            _, grads = net.backward(logits, ytr[idx], state)
            opt.step(net.params, grads)
        for t in trackers:
            t.end_epoch()
    logits, _, _ = net.forward(Xte, train=False)
    acc = float((logits.argmax(1) == yte).mean())
    # both hidden layers have *hidden* units: the overall fraction is the mean
    return acc, [float(np.mean(v)) for v in zip(*(t.history for t in trackers), strict=True)]


def run(epochs=20, dying_epochs=15, plot: str | Path | None = None, quiet=False):
    data = load_digits_split()
    results = {"normal": {}, "dying": {}}
    for act in ACTS:
        results["normal"][act] = train(act, data, epochs=epochs, lr=1e-3)
    for act in ACTS:
        results["dying"][act] = train(act, data, epochs=dying_epochs, lr=3e-3, bias_init=-4.0)
    if not quiet:
        for setup, res in results.items():
            for act, (acc, hist) in res.items():
                print(
                    f"{setup:7s} {act:11s} test acc {acc:6.3f}  dead hidden units "
                    f"first {hist[0]:.2f} last {hist[-1]:.2f}"
                )
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.6))
        for act, (acc, hist) in results["dying"].items():
            ax.plot(np.arange(1, len(hist) + 1), hist, marker="o", label=f"{act} (test acc {acc:.2f})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("fraction of dead hidden units")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("digits MLP, bias init -4, Adam lr 3e-3")
        ax.legend()
        fig.tight_layout()
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot, dpi=110)
        plt.close(fig)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--dying-epochs", type=int, default=15)
    ap.add_argument(
        "--plot", default=str(Path(__file__).resolve().parents[1] / "docs/_static/dead_units.png")
    )
    a = ap.parse_args(argv)
    t = time.perf_counter()
    run(a.epochs, a.dying_epochs, a.plot)
    print(f"{time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
