#!/usr/bin/env bash
# Idempotent installers shared by scripts/run.sh and scripts/test.sh; each skips what is present.
# Sourced, not run. Debian packages need root (or sudo).

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; return 1; fi
}

# apt_install PKG... — installs the Debian packages that are missing, with one `apt-get update`.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Vulkan without a GPU: Mesa's lavapipe software driver, for the native wgpu tests and runs.
ensure_vulkan() { apt_install mesa-vulkan-drivers libvulkan1; }

# Headless Chromium + chromedriver for the browser tests.
ensure_chromium() { apt_install chromium chromium-driver; }

# wasm-bindgen-test-runner at exactly the wasm-bindgen version Cargo.lock pins (the two must match).
ensure_wasm_bindgen() {
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' "$ROOT/Cargo.lock")
  have=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    echo "==> installing wasm-bindgen-cli $want (found '${have:-none}'; takes ~5 min)"
    # Not --locked: the registry lacks the webpki-roots version its lockfile pins.
    cargo install wasm-bindgen-cli --version "=$want"
  fi
}

# The pinned toolchain and wasm target (rust-toolchain.toml); rustup installs them on first use.
ensure_toolchain() {
  command -v cargo >/dev/null || { echo "error: Rust (rustup) is required: https://rustup.rs" >&2; return 1; }
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
}

# Trunk, which builds the browser app. 0.22 needs a newer Rust than the pinned 1.95, so 0.21.14;
# compiling it takes 15–30 min on 2 cores, once.
ensure_trunk() {
  local want=0.21.14
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    echo "==> installing trunk $want (compiles from crates.io; 15–30 min on 2 cores)"
    cargo install trunk --version "=$want" --locked
  fi
}

# Node.js and the end-to-end test's playwright-core (it drives Debian's Chromium; no browser
# download), at the versions tests/e2e/package-lock.json pins.
ensure_e2e() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ]; then
    echo "==> installing playwright-core for the end-to-end test"
    (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund)
  fi
}

# The browser app, built by trunk into dist/ (dev profile: shares burn's wasm build with the
# browser tests; the release build takes ~40 min here).
build_web() { (cd "$ROOT" && trunk build); }
