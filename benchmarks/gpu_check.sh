#!/usr/bin/env bash
# The GPU check in one run of at most 5 minutes: see benchmarks/gpu_check.py for the stages.
#
#   benchmarks/gpu_check.sh            # on a CUDA machine; report in $OUT/gpu_check.md + stdout
#   benchmarks/gpu_check.sh --dry-run  # on the CPU with 3 cells: tests the script (< 1 min)
#
# The device machine runs its own Python and torch, has no internet and no ../shared: naswot is
# used from src/ (PYTHONPATH, nothing installed, no make). Its dependencies (numpy, scipy, tqdm)
# must be importable; if one is missing and a folder of wheels was carried along
# ($NASWOT_WHEELS, default .gpu-wheels/), it is installed from there with --no-index --no-deps.
# Other arguments go to the driver (e.g. --data-dir DIR with cifar-10-batches-py).
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
WHEELS="${NASWOT_WHEELS:-.gpu-wheels}"

missing=()
for module in torch numpy scipy tqdm; do
    "$PY" -c "import $module" 2>/dev/null || missing+=("$module")
done
if [ "${#missing[@]}" -gt 0 ] && [ -d "$WHEELS" ]; then
    echo "gpu_check: installing ${missing[*]} from $WHEELS (no index, no dependencies)" >&2
    "$PY" -m pip install --quiet --no-index --no-deps --find-links "$WHEELS" "${missing[@]}" >&2
    missing=()
    for module in torch numpy scipy tqdm; do
        "$PY" -c "import $module" 2>/dev/null || missing+=("$module")
    done
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "gpu_check: cannot import ${missing[*]} with $PY; carry wheels in $WHEELS" >&2
    exit 2
fi

# The driver keeps each stage within its budget; this is the hard stop (report kept so far).
exec timeout --kill-after=5 295 "$PY" benchmarks/gpu_check.py "$@"
