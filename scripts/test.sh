#!/usr/bin/env bash
# Every check: formatting, clippy (native and wasm32), native tests (CPU and wgpu on Vulkan),
# and the browser tests in headless Chromium (with WebGPU, then without it: CPU fallback).
# Installs what it needs first, skipping what is present.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
ensure_vulkan
ensure_chromium
ensure_wasm_bindgen

step() { printf '\n==> %s\n' "$*"; }
start=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32)"
cargo clippy -p mollify-core -p mollify-web --lib --tests --target wasm32-unknown-unknown --locked -- -D warnings

step "native tests (flex CPU and wgpu on Vulkan)"
cargo build --workspace --locked
cargo test --workspace --locked -- --show-output

step "browser tests, WebGPU (SwiftShader via --enable-unsafe-webgpu)"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
MOLLIFY_EXPECT_WEBGPU=1 WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/browser/webdriver-webgpu.json" \
  cargo test -p mollify-core --test browser --target wasm32-unknown-unknown --locked -- --nocapture

step "browser tests, no WebGPU adapter (CPU fallback)"
MOLLIFY_EXPECT_WEBGPU=0 WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/browser/webdriver-cpu.json" \
  cargo test -p mollify-core --test browser --target wasm32-unknown-unknown --locked -- --nocapture

echo
echo "all checks passed in $((SECONDS - start)) s"
