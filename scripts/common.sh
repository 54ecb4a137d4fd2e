# Sourced by the scripts: tool versions, PATH, and starting the emulator, in one place.
# shellcheck shell=bash
export WASM_PACK_VERSION=0.15.1
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
export WASM_BINDGEN_VERSION
# npm's wasm-opt first: Debian's binaryen is too old and breaks the module (see TOOLCHAIN notes).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# No calls home from the Cloudflare tools: no metrics, no update check, no `Request.cf` download.
export WRANGLER_SEND_METRICS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false

# start_emulator PORT: starts the FaceID emulator in the background, waits until it listens, and
# sets EMULATOR_URL and EMULATOR_PID. PORT 0 picks a free port.
start_emulator() {
  local out
  out=$(mktemp)
  node tests/emulator/server.mjs --port "$1" >"$out" 2>&1 </dev/null &
  EMULATOR_PID=$!
  for _ in $(seq 100); do
    EMULATOR_URL=$(sed -n 's/^FaceID emulator listening on //p' "$out")
    if [[ -n "$EMULATOR_URL" ]]; then
      rm -f "$out"
      return 0
    fi
    kill -0 "$EMULATOR_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the emulator did not start:" >&2
  cat "$out" >&2
  return 1
}
