#!/usr/bin/env bash
# The cost comparison with JAX on this machine (#16): every row of docs/peer.md, mollify's
# dev-profile binary (the one the README builds) beside scripts/peer/jax_peer.py, each cell in
# its own process, ms/step and peak RSS with ratios. Writes docs/peer.md (≈ 7 min on 2 cores).
# JAX and numpy/scipy (scripts/requirements.txt) go into a virtual environment under
# ~/.cache/mollify (MOLLIFY_PYENV), created once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${MOLLIFY_PYENV:-$HOME/.cache/mollify/pyenv}
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
if ! "$VENV/bin/python" -c "import jax, numpy, scipy" 2>/dev/null; then
  echo "==> installing JAX, numpy and scipy into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/scripts/requirements.txt"
fi
cargo build -q -p mollify
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
"$VENV/bin/python" scripts/peer/jax_peer.py table --mollify "$TARGET/debug/mollify" --out docs/peer.md "$@"
echo "wrote docs/peer.md"
