#!/usr/bin/env bash
# CI smoke run of the asv suite: every benchmark class runs once, with reduced
# parameters (FASTRELU_ASV_QUICK=1), in the current interpreter (--python=same).
# Exits non-zero if the suite does not import (coverage guard) or any benchmark
# fails.  Usage (repo root):  bash benchmarks/smoke.sh   [extra asv run args]
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
ASV=("$PY" -m asv)

export FASTRELU_ASV_QUICK=1
# the references too (a maintainer's runs skip them unless asked), so every class runs
export FASTRELU_ASV_BASELINES=1
# A private, initially empty Numba cache: the run does not depend on (or race with)
# whatever other processes compile into the cache next to the package.
NUMBA_CACHE_DIR="$(mktemp -d -t fastrelu-asv-smoke-XXXXXX)"
export NUMBA_CACHE_DIR
trap 'rm -rf "$NUMBA_CACHE_DIR"' EXIT

# the CI subset: every class, reduced params (FirstCall* only relu on the first target)
BENCH="${FASTRELU_ASV_BENCH:-^bench_fastrelu\.}"

start=$(date +%s)
"$PY" -m benchmarks   # environment + parameters; also fails here if the guard fails
"${ASV[@]}" machine --yes >/dev/null
log="$(mktemp -t fastrelu-asv-smoke-log-XXXXXX)"
set +e
# forkserver: the suite is imported once, each benchmark runs in a fork (the
# suite's import starts no threads); spawn would start ~60 interpreters
"${ASV[@]}" run --python=same --quick --show-stderr --launch-method=forkserver \
    --bench "$BENCH" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# asv prints "failed" for benchmarks that raised; count them as failures too
nfail=$(grep -cE '(^|[[:space:]])failed([[:space:]]|$)' "$log" || true)
nrun=$(grep -cE '^\[ *[0-9.]+%\] ·{3} [^ ]+\.(time|track|timeraw)_[a-z_]+ ' "$log" || true)
rm -f "$log"
echo "asv smoke: exit code $rc, $nrun benchmarks, $nfail with failures, $(( $(date +%s) - start )) s"
if [ "$rc" -ne 0 ] || [ "$nfail" -ne 0 ] || [ "$nrun" -eq 0 ]; then
    echo "asv smoke: FAILED" >&2
    exit 1
fi
echo "asv smoke: OK"
