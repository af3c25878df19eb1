#!/usr/bin/env bash
# The kernel-size validation suite: `--kernel-size auto` against the oracle size and scipy's
# Savitzky–Golay filter on signals of different smoothness, noise levels and derivatives.
# Writes docs/autosize.md (≈ 4 min on 2 cores). Python's numpy/scipy (scripts/requirements.txt)
# go into a virtual environment under ~/.cache/mollify (MOLLIFY_PYENV), created once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${MOLLIFY_PYENV:-$HOME/.cache/mollify/pyenv}
OUT=${1:-$ROOT/target/autosize-suite}
if ! "$VENV/bin/python" -c "import numpy, scipy" 2>/dev/null; then
  echo "==> installing numpy and scipy into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/scripts/requirements.txt"
fi
cd "$ROOT"
start=$(date +%s)
cargo run -q -p mollify-core --example autosize_suite -- "$OUT"
"$VENV/bin/python" scripts/savgol.py "$OUT" docs/autosize.md
printf '\nRun time: %d s on %s (%s cores).\n' "$(($(date +%s) - start))" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" >> docs/autosize.md
echo "wrote docs/autosize.md"
