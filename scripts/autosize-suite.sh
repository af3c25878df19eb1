#!/usr/bin/env bash
# The kernel-size validation suite: `--kernel-size auto` against the oracle size and scipy's
# Savitzky–Golay filter on signals of different smoothness, noise levels and derivatives.
# Writes docs/autosize.md (≈ 6 min on 2 cores once built), with the summary on two more noise draws.
# Python's numpy/scipy (scripts/requirements.txt) go into a virtual environment under
# ~/.cache/mollify (MOLLIFY_PYENV), created once.
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
# The same cases on other noise draws: a rule's weakness shows on every draw, bad luck on one.
printf '\n**Other noise draws** (SUITE_SEED, the same cases and summary):\n\n' >> docs/autosize.md
for seed in 1000 2000; do
  SUITE_SEED=$seed cargo run -q -p mollify-core --example autosize_suite -- "$OUT/seed$seed" 2>/dev/null
  "$VENV/bin/python" scripts/savgol.py "$OUT/seed$seed" "$OUT/seed$seed/report.md"
  printf -- '- SUITE_SEED=%s: %s\n' "$seed" "$(grep -m1 '^\*\*auto' "$OUT/seed$seed/report.md" | tr -d '*')" >> docs/autosize.md
done
printf '\nRun time: %d s, building included, on %s (%s cores).\n' "$(($(date +%s) - start))" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" >> docs/autosize.md
echo "wrote docs/autosize.md"
