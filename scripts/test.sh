#!/usr/bin/env bash
# Every check: the installers' decisions (dry run, tools hidden), shellcheck, formatting,
# clippy (native and wasm32), native tests (CPU and wgpu on Vulkan), the browser tests in
# headless Chromium (with WebGPU, then without it: CPU fallback), and the browser app's
# end-to-end test (trunk build, playwright-core driving Chromium).
# Installs what it needs first, skipping what is present.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
ensure_vulkan
ensure_chromium
ensure_shellcheck
ensure_wasm_bindgen
ensure_trunk
ensure_e2e

step() { printf '\n==> %s\n' "$*"; }
start=$SECONDS

step "installers: each decides to install when its tool is hidden (dry run)"
bash scripts/check-setup.sh

step "shellcheck"
shellcheck scripts/*.sh .ci/run

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32)"
cargo clippy -p mollify-core -p mollify-web --features mollify-web/app --lib --tests --target wasm32-unknown-unknown --locked -- -D warnings

step "native tests (flex CPU and wgpu on Vulkan)"
cargo test --workspace --locked -- --show-output

step "browser tests, WebGPU (SwiftShader via --enable-unsafe-webgpu)"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
MOLLIFY_EXPECT_WEBGPU=1 WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/browser/webdriver-webgpu.json" \
  cargo test -p mollify-core -p mollify-web --test browser --target wasm32-unknown-unknown --locked -- --nocapture

step "browser tests, no WebGPU adapter (CPU fallback)"
MOLLIFY_EXPECT_WEBGPU=0 WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/browser/webdriver-cpu.json" \
  cargo test -p mollify-core -p mollify-web --test browser --target wasm32-unknown-unknown --locked -- --nocapture

step "browser app: trunk build, then the end-to-end demo test (CPU fallback, shader heatmaps, WebGPU training)"
build_web
E2E_OUT=${E2E_OUT:-$ROOT/tests/e2e/out}
node tests/e2e/demo.test.mjs --out "$E2E_OUT"
node tests/e2e/demo.test.mjs --shader --out "$E2E_OUT"
node tests/e2e/demo.test.mjs --webgpu --out "$E2E_OUT"
echo "screenshots and figures: $E2E_OUT"

echo
echo "all checks passed in $((SECONDS - start)) s"
