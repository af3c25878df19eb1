#!/usr/bin/env bash
# The browser demonstrator: builds web/ with trunk and serves it on http://127.0.0.1:8080
# (extra arguments go to `trunk serve`, e.g. --port 9000). Installs trunk and wasm-bindgen-cli
# if missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
ensure_wasm_bindgen
ensure_trunk
exec trunk serve "$@"
