#!/usr/bin/env bash
# The main job: `mollify compare`, the quick heat demo (mollifier vs autodiff PINN) on the CPU.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain

exec cargo run -p mollify -- compare "$@"
