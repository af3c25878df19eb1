#!/usr/bin/env bash
# The main job: the derivative demo on the GPU if Vulkan comes up, else on the CPU.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
ensure_vulkan || echo "warning: no Vulkan driver installed; the demo runs on the CPU"
exec cargo run -p mollify -- "$@"
