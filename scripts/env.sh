# Sourced by the scripts: tool versions and PATH, in one place.
# shellcheck shell=bash
export WASM_PACK_VERSION=0.15.1
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
export WASM_BINDGEN_VERSION
# npm's wasm-opt first: Debian's binaryen is too old and breaks the module (see TOOLCHAIN notes).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
