#!/usr/bin/env bash
# The browser demonstrator.
#   bash scripts/web.sh            build the production bundle (release profile, wasm-opt -Oz)
#                                  into dist-release/ and serve it on http://127.0.0.1:8080
#   bash scripts/web.sh --build    only build it (a static site: copy dist-release/ anywhere)
#   bash scripts/web.sh --dev …    the debug build with `trunk serve` (rebuilds on change; extra
#                                  arguments go to trunk, e.g. --port 9000)
# The release build of burn for wasm takes long on 2 cores (see CONTRIBUTING.md); later builds
# are incremental. Installs trunk, wasm-bindgen-cli and binaryen if missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
ensure_toolchain
ensure_wasm_bindgen
ensure_trunk
case "${1:-}" in
  --dev)
    shift
    exec trunk serve "$@"
    ;;
  --build | "")
    ensure_binaryen
    build_web_release
    [ "${1:-}" = --build ] && exit 0
    echo "==> serving dist-release/ on http://127.0.0.1:8080"
    exec python3 -m http.server 8080 --bind 127.0.0.1 --directory dist-release
    ;;
  *)
    echo "error: unknown argument '$1' (expected --build or --dev)" >&2
    exit 2
    ;;
esac
