"""The tuning table: every setting that changes speed only, in one place.

No value here changes a result: interleave counts, chunk sizes, cut-overs
and the streaming threshold select among code paths that compute the same
scalar kernel with the same types (the tests compare the paths bit for bit).
Each setting is keyed by what it depends on -- the host's vector ISA
(:func:`host`), its last-level cache -- and names the command that measured
it and where.  A host without an entry gets the setting's ``default``, which
is safe on any x86-64 (SSE2 to AVX-512) and on AArch64: a value LLVM or the
hardware handles well everywhere, never one that only pays off on the
machine it was measured on.  ``python -m fastrelu config`` and the bench
command report :func:`host`.

To tune a new machine: run the named command there, and add an entry under
its :func:`host` ``isa`` key.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass, field

__all__ = ["Setting", "TABLE", "host", "value", "interleave"]


@dataclass(frozen=True)
class Setting:
    """One tuned setting: its default and the values measured per key."""

    name: str
    doc: str
    #: what the per-key values are keyed by (a :func:`host` field)
    key: str
    #: the value on hosts without an entry (safe everywhere)
    default: object
    #: host key -> value measured there
    measured: dict = field(default_factory=dict)
    #: the command that measures it, and where each entry was measured
    how: str = ""


TABLE: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            name="interleave",
            doc=(
                "LLVM loop interleave count forced on the vectorised loops of a kernel: "
                "kernel name -> count, else family ('smooth', 'piecewise') -> count, "
                "else 0 (LLVM's cost model). The smooth kernels are long dependency chains "
                "that LLVM leaves at one vector per iteration; two or four independent vectors "
                "keep the core busy. The memory-bound piecewise loops keep LLVM's choice."
            ),
            key="isa",
            default={"smooth": 2},
            measured={
                "x86-64-avx2": {
                    "smooth": 2,
                    "silu": 4,
                    "silu_grad": 4,
                    "mish": 4,
                    "mish_grad": 4,
                    "softplus_grad": 4,
                    "gelu_tanh_grad": 4,
                },
                "x86-64-avx512": {"smooth": 4},
            },
            how=(
                "python tools/tune.py interleave (single thread, in cache, counts 0/1/2/4). "
                "x86-64-avx2: AMD EPYC (Zen 2), 2 cores; 2 gave 5-33 % over LLVM's choice, "
                "4 a further 8-20 % on the kernels listed. x86-64-avx512: Intel Xeon (Rocket "
                "Lake server, LLVM 'rocketlake'), 2 cores, 2026-12-08: 4 beat LLVM's choice by "
                "3-25 % on most kernels (mish 18 %, softplus float64 25 %); celu_grad and "
                "gelu_tanh_grad were up to 20 % faster at 2 in cache but ran 1.6x slower in place "
                "at 1e7 elements with 2 (tools/bench_inplace.py), at par with 4."
            ),
        ),
        Setting(
            name="parallel_cutover",
            doc=(
                "Elements from which the parallel target runs its prange loop instead of the "
                "serial ufunc, per kernel family. A TBB launch costs 2-3 us on 2 idle cores "
                "(20-45 us when the cores are shared), so the cut-over sits on the high side."
            ),
            key="isa",
            default={"piecewise": 65536, "smooth": 16384},
            how="python tools/bench_parallel.py --sizes 1e3 3e4 1e5; measured on x86-64, 2 cores, TBB.",
        ),
        Setting(
            name="parallel_chunk",
            doc=(
                "Elements per prange chunk; each chunk runs the serial vectorised loop. "
                "16384 float32 elements are 64 KiB in and out: a chunk stays in L2 on any "
                "current core while leaving the scheduler enough chunks to balance."
            ),
            key="isa",
            default=16384,
            how="python tools/bench_parallel.py --sizes 1e7 1e8; measured on x86-64, 2 cores, TBB.",
        ),
        Setting(
            name="stream_min_bytes",
            doc=(
                "Outputs of at least this many bytes are written with non-temporal stores "
                "(x86-64 only; a fresh output, never in place). None: the host's last-level "
                "cache size (below it the output is better left in cache)."
            ),
            key="llc_bytes",
            default=None,
            how="python tools/bench_parallel.py --sizes 2e6 1e8; measured on x86-64, 2 cores.",
        ),
        Setting(
            name="cuda_blocks_per_sm",
            doc="Most blocks per streaming multiprocessor for a grid-stride CUDA launch.",
            key="device",
            default=32,
            how="python tools/bench_cuda.py (not yet measured on a GPU: the default).",
        ),
    )
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "Model name", "Hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _llc_bytes() -> int:
    """Size of the last-level cache; 32 MiB where the OS does not say."""
    try:
        size = os.sysconf("SC_LEVEL3_CACHE_SIZE")
    except (ValueError, OSError, AttributeError):
        size = 0
    return size if size > 0 else 32 << 20


@functools.cache
def host() -> dict:
    """What the tuning depends on: vector ISA, CPU name and model, LLC size.

    ``isa`` is ``x86-64-avx512``, ``x86-64-avx2``, ``x86-64``, ``aarch64-sve``,
    ``aarch64`` or the machine name; with ``NUMBA_CPU_NAME`` set to another
    CPU it is ``cpu:<name>`` (no entry: the defaults).
    """
    import llvmlite.binding as llvm

    machine = platform.machine().lower()
    forced = os.environ.get("NUMBA_CPU_NAME", "")
    feats = {f[1:] for f in llvm.get_host_cpu_features().flatten().split(",") if f.startswith("+")}
    if forced and forced != "host":
        isa = f"cpu:{forced}"
    elif machine in ("x86_64", "amd64"):
        isa = "x86-64-avx512" if "avx512f" in feats else ("x86-64-avx2" if "avx2" in feats else "x86-64")
    elif machine in ("aarch64", "arm64"):
        isa = "aarch64-sve" if "sve" in feats else "aarch64"
    else:
        isa = machine
    return {
        "isa": isa,
        "cpu_name": forced or llvm.get_host_cpu_name(),
        "cpu_model": _cpu_model(),
        "llc_bytes": _llc_bytes(),
        "cpus": os.cpu_count(),
    }


def value(name: str, key: str | None = None):
    """The setting *name* for this host (or for the key value *key*)."""
    s = TABLE[name]
    k = host().get(s.key) if key is None else key
    return s.measured.get(k, s.default)


def interleave(kernel_name: str, family: str, key: str | None = None) -> int:
    """The interleave count of the loops of the kernel *kernel_name*."""
    counts = value("interleave", key)
    return counts.get(kernel_name, counts.get(family, 0))
