#!/usr/bin/env bash
# Idempotent installers shared by scripts/run.sh, scripts/test.sh and scripts/web.sh; each
# skips what is present. Sourced, not run. Debian packages need root (or sudo).
#
# MOLLIFY_SETUP_DRY_RUN=1 makes every ensure_* print "would install: …" instead of installing,
# so the decisions can be checked without a brand-new machine (scripts/check-setup.sh does,
# with each tool hidden). MOLLIFY_DPKG_ADMINDIR points dpkg's package database elsewhere for
# the same purpose. Any failure prints one line saying what failed and how to fix it.

# What `ensure_*` found missing is installed by `install_step WHAT COMMAND…`: run, or in a dry
# run only named. A failure is one line naming WHAT, the command, and the fix.
install_step() {
  local what=$1 fix=$2
  shift 2
  if [ "${MOLLIFY_SETUP_DRY_RUN:-0}" = 1 ]; then
    echo "would install: $what ($*)"
    return 0
  fi
  echo "==> installing $what"
  if ! "$@"; then
    echo "error: installing $what failed ($*); $fix" >&2
    return 1
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "error: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# Whether Debian package $1 is installed (MOLLIFY_DPKG_ADMINDIR: another package database).
have_package() {
  dpkg-query --admindir="${MOLLIFY_DPKG_ADMINDIR:-/var/lib/dpkg}" -W -f='${Status}' "$1" 2>/dev/null |
    grep -q "ok installed"
}

apt_get_install() {
  as_root apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# apt_install PKG... — installs the Debian packages that are missing, with one `apt-get update`.
apt_install() {
  local missing=() p
  for p in "$@"; do have_package "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  install_step "Debian packages ${missing[*]}" \
    "run 'apt-get update && apt-get install ${missing[*]}' as root, then rerun" \
    apt_get_install "${missing[@]}"
}

# The first word after the program name in `TOOL --version`, or nothing when TOOL is missing
# (a missing tool must not end the script under `set -euo pipefail`).
tool_version() {
  command -v "$1" >/dev/null || return 0
  "$1" --version 2>/dev/null | awk '{print $2; exit}' || true
}

# Vulkan without a GPU: Mesa's lavapipe software driver, for the native wgpu tests and runs.
ensure_vulkan() { apt_install mesa-vulkan-drivers libvulkan1; }

# Headless Chromium + chromedriver for the browser tests.
ensure_chromium() { apt_install chromium chromium-driver; }

# The shell-script linter the test command runs on scripts/ and .ci/run.
ensure_shellcheck() { apt_install shellcheck; }

# wasm-bindgen-test-runner at exactly the wasm-bindgen version Cargo.lock pins (the two must match).
ensure_wasm_bindgen() {
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' "$ROOT/Cargo.lock")
  have=$(tool_version wasm-bindgen-test-runner)
  [ "$have" = "$want" ] && return 0
  # Not --locked: the registry lacks the webpki-roots version its lockfile pins.
  install_step "wasm-bindgen-cli $want (found '${have:-none}'; ~3 min)" \
    "check that crates.io is reachable and a C compiler is installed, then rerun" \
    cargo install wasm-bindgen-cli --version "=$want"
}

# The pinned toolchain and wasm target (rust-toolchain.toml); rustup installs them on first use.
ensure_toolchain() {
  if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
    echo "error: Rust is missing: install rustup (https://rustup.rs), open a new shell, then rerun" >&2
    return 1
  fi
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown && return 0
  install_step "the wasm32-unknown-unknown target" \
    "run 'rustup target add wasm32-unknown-unknown' by hand to see why" \
    rustup target add wasm32-unknown-unknown
}

# Trunk, which builds the browser app. 0.22 needs a newer Rust than the pinned 1.95, so 0.21.14;
# compiling it takes 15–30 min on 2 cores, once.
ensure_trunk() {
  local want=0.21.14 have
  have=$(tool_version trunk)
  [ "$have" = "$want" ] && return 0
  install_step "trunk $want (found '${have:-none}'; compiles from crates.io, 15–30 min on 2 cores)" \
    "check that crates.io is reachable and a C compiler is installed, then rerun" \
    cargo install trunk --version "=$want" --locked
}

# Node.js and npm, from Debian.
ensure_npm() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
}

# The npm packages of folder $1 at the versions its package-lock.json pins, present when
# node_modules/$2 is; $3 says what they are for.
npm_packages() {
  local dir=$1 package=$2 what=$3
  ensure_npm
  [ -e "$ROOT/$dir/node_modules/$package" ] && return 0
  install_step "$what (npm ci in $dir)" \
    "check that the npm registry is reachable, then rerun" \
    npm_ci "$dir"
}

npm_ci() { (cd "$ROOT/$1" && npm ci --no-audit --no-fund); }

# The end-to-end test's playwright-core (it drives Debian's Chromium; no browser download).
ensure_e2e() { npm_packages tests/e2e playwright-core "playwright-core for the end-to-end test"; }

# The browser app, built by trunk into dist/ (dev profile: shares burn's wasm build with the
# browser tests; the release build, `scripts/web.sh`, took 11 min 43 s cold here).
build_web() { (cd "$ROOT" && trunk build); }

# wasm-opt for the production bundle: binaryen from the npm registry (scripts/web/package.json).
ensure_binaryen() {
  npm_packages scripts/web binaryen/bin/wasm-opt "binaryen's wasm-opt for the production bundle"
}

# The production bundle in dist-release/: trunk's release build, then wasm-opt -Oz (debug info
# stripped; minutes, so skipped when trunk's wasm is the one last optimised, by its sha256).
# Written beside and moved into place, so a failed build leaves the last good one.
build_web_release() {
  local tmp="$ROOT/dist-release.tmp" old="$ROOT/dist-release" wasm source
  rm -rf "$tmp"
  (cd "$ROOT" && trunk build --release --dist "$tmp")
  wasm="$tmp/mollify-web_bg.wasm"
  source=$(sha256sum "$wasm" | cut -d' ' -f1)
  if [ -f "$old/.wasm-source" ] && [ "$(cat "$old/.wasm-source")" = "$source" ]; then
    echo "==> wasm unchanged since the last wasm-opt: reusing it"
    cp "$old/mollify-web_bg.wasm" "$wasm"
  else
    echo "==> wasm-opt -Oz (a few minutes)"
    "$ROOT/scripts/web/node_modules/binaryen/bin/wasm-opt" -Oz --strip-debug \
      --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
  fi
  echo "$source" >"$tmp/.wasm-source"
  rm -rf "$old"
  mv "$tmp" "$ROOT/dist-release"
}
