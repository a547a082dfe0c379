#!/usr/bin/env bash
# The regression gate: asv continuous over the same-process ratio benchmarks only
# (RatioNumpy, RatioCeiling: fastrelu's time over a reference timed alternately in
# the same process), quick set, flagging a ratio that grew by more than FACTOR.
# Time benchmarks (Forward, Gradient, SmallCall, ...) and the references are not
# gated: their run-to-run noise on a shared machine exceeds any useful threshold.
# FACTOR comes from the measured noise of the ratios (docs/benchmarks.md).
# Usage (repo root):  bash benchmarks/gate.sh [BASE] [HEAD]   (default: main HEAD)
# Exit status 1 if a ratio regressed (asv prints "PERFORMANCE DECREASED").
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
FACTOR="${FASTRELU_GATE_FACTOR:-1.5}"
export FASTRELU_ASV_QUICK="${FASTRELU_ASV_QUICK:-1}"
"$PY" -m asv machine --yes >/dev/null
exec "$PY" -m asv continuous --bench '^bench_fastrelu\.Ratio' --factor "$FACTOR" "${1:-main}" "${2:-HEAD}"
