#!/usr/bin/env bash
# Installs what a fresh machine lacks, skipping whatever is already there at the right version.
# Usage: scripts/setup.sh [--with-browser]   (the browser is needed by the tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

command -v node >/dev/null || { echo "setup: Node.js >= 18 is required" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
for component in clippy rustfmt; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

if [[ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]]; then
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  # No --locked: that crate's own lock file pins a release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [[ ! node_modules/.package-lock.json -nt package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

if [[ "${1:-}" == --with-browser ]]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  fi
fi
