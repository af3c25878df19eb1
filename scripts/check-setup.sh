#!/usr/bin/env bash
# Proves the installers in scripts/setup.sh decide right on a machine that lacks their tools,
# without needing one: each ensure_* runs in dry-run mode with its tool hidden (a PATH of a
# few basic commands, an empty dpkg database, a checkout without node_modules) and must say
# it would install, not exit. A missing Rust must fail with one line saying how to fix it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/bin" "$sandbox/dpkg/info" "$sandbox/root" "$sandbox/home"
: >"$sandbox/dpkg/status"
cp "$ROOT/Cargo.lock" "$sandbox/root/"
for tool in awk grep dpkg-query id mktemp; do
  ln -s "$(command -v "$tool")" "$sandbox/bin/$tool"
done
# A rustup and cargo that exist but report no wasm32 target.
printf '#!/bin/sh\nexit 0\n' >"$sandbox/bin/rustup"
printf '#!/bin/sh\nexit 0\n' >"$sandbox/bin/cargo"
chmod +x "$sandbox/bin/rustup" "$sandbox/bin/cargo"

failures=0
checked=" "
# expect NAME EXPECTED_STATUS EXPECTED_TEXT [PATH]: runs ensure_NAME in the sandbox.
expect() {
  local name=$1 status=$2 text=$3 path=${4:-$sandbox/bin} out code=0
  checked+="$name "
  # shellcheck disable=SC2016 # $0 is expanded by the inner shell: it is setup.sh's path.
  out=$(env -i PATH="$path" HOME="$sandbox/home" ROOT="$sandbox/root" \
    MOLLIFY_SETUP_DRY_RUN=1 MOLLIFY_DPKG_ADMINDIR="$sandbox/dpkg" \
    "$BASH" -c 'set -euo pipefail; source "$0"; ensure_'"$name" \
    "$ROOT/scripts/setup.sh" 2>&1) || code=$?
  if [ "$code" = "$status" ] && grep -qF -- "$text" <<<"$out" && [ "$(wc -l <<<"$out")" -le 2 ]; then
    echo "ok   ensure_$name: $out"
  else
    echo "FAIL ensure_$name: exit $code (expected $status), output: '$out' (expected '$text')"
    failures=$((failures + 1))
  fi
}

expect toolchain 0 "would install: the wasm32-unknown-unknown target"
expect vulkan 0 "would install: Debian packages mesa-vulkan-drivers libvulkan1"
expect chromium 0 "would install: Debian packages chromium chromium-driver"
expect shellcheck 0 "would install: Debian packages shellcheck"
expect wasm_bindgen 0 "would install: wasm-bindgen-cli $(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' "$ROOT/Cargo.lock") (found 'none'"
expect trunk 0 "would install: trunk 0.21.14 (found 'none'"
expect npm 0 "would install: Debian packages nodejs npm"
expect e2e 0 "would install: playwright-core"
expect e2e 0 "would install: Debian packages nodejs npm"
expect binaryen 0 "would install: binaryen's wasm-opt"
expect binaryen 0 "would install: Debian packages nodejs npm"
# No Rust at all: not installable from here, so one line with the fix and a failure.
mkdir -p "$sandbox/norust"
for tool in awk grep; do ln -s "$(command -v "$tool")" "$sandbox/norust/$tool"; done
expect toolchain 1 "error: Rust is missing: install rustup" "$sandbox/norust"

# Every installer is rehearsed, called as the test command calls it: by name, no arguments.
while read -r name; do
  if [[ "$checked" != *" $name "* ]]; then
    echo "FAIL ensure_$name: not rehearsed here"
    failures=$((failures + 1))
  fi
done < <(sed -n 's/^ensure_\([a-z_0-9]*\)() .*/\1/p' "$ROOT/scripts/setup.sh")

if [ "$failures" -gt 0 ]; then
  echo "installer checks: $failures failed" >&2
  exit 1
fi
echo "installer checks: all passed"
