#!/usr/bin/env bash
# Runs every test: lints, host tests, the published tarball's checks, one shared suite in Node, Deno,
# Bun and the Vercel edge runtime, the wasm suite in Node, Chromium and a Chromium worker, and the
# node:test suites on the emulator and on the packaged module. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
source scripts/common.sh

log=$(mktemp -d)
trap 'kill "${EMULATOR_PID:-}" 2>/dev/null || true; rm -rf "$log"' EXIT
step() { printf '\n==> %s\n' "$*"; }
# run NAME CMD...: runs a step, keeping its output for the final count.
run() {
  local name=$1
  shift
  step "$name"
  "$@" 2>&1 | tee "$log/$name.log"
}

run fmt cargo fmt --check
run clippy-host cargo clippy --locked --all-targets -- -D warnings
run clippy-wasm cargo clippy --locked --target wasm32-unknown-unknown --all-targets -- -D warnings
run host cargo test --locked -- --skip fuzz::
# A bounded fuzzing pass (property-based; see tests/fuzz.rs): about 20 s.
FUZZ_CASES=25000 run fuzz cargo test --locked --test fuzz -- --nocapture
run build bash scripts/build.sh
npm ci --prefix www --no-audit --no-fund --silent
# The published declarations: precise types, no any (see tests/types/api.ts).
run types tsc -p tests/types
if grep -n '\bany\b' pkg/node/faceid_edge.d.ts | grep -v '^\S*:\s*\(/\*\*\|\*\)'; then
  echo "pkg/node/faceid_edge.d.ts declares an any" >&2
  exit 1
fi
# The tarball as published: its file list, publint and @arethetypeswrong/cli.
run package-checks node --test --test-reporter=spec tests/package/
# One shared suite on the package installed by name, in each runtime (Deno and Bun from the npm
# lock file); each starts its own emulator.
for runtime in node deno bun edge; do
  run "runtime-$runtime" node tests/runtimes/run.mjs "$runtime"
done

start_emulator 0
export FACEID_EMULATOR_URL=$EMULATOR_URL
run wasm-node wasm-pack test --mode no-install --node -- --locked --test wasm --test client
WASM_BINDGEN_USE_BROWSER=1 \
  run wasm-chromium wasm-pack test --mode no-install --headless --chrome -- --locked --test wasm --test client
WASM_BINDGEN_USE_DEDICATED_WORKER=1 \
  run wasm-chromium-worker wasm-pack test --mode no-install --headless --chrome -- --locked --test wasm --test client
kill "$EMULATOR_PID"

run node-suites node --test --test-reporter=spec tests/emulator/ tests/node/

# Every runner must have run something: a runner that silently skips (see TOOLCHAIN pitfall 5)
# would otherwise pass as green.
step summary
passed=0
for suite in host fuzz package-checks runtime-node runtime-deno runtime-bun runtime-edge wasm-node wasm-chromium \
  wasm-chromium-worker node-suites; do
  count=$(sed -n -E 's/^test result: ok\. ([0-9]+) passed.*/\1/p; s/^ℹ pass ([0-9]+)$/\1/p' "$log/$suite.log" |
    awk '{ n += $1 } END { print n + 0 }')
  if ((count == 0)); then
    echo "$suite ran no test" >&2
    exit 1
  fi
  printf '%-22s %4d passed\n' "$suite" "$count"
  passed=$((passed + count))
done
sed -n 's/^fuzz \(.*\): \([0-9]*\) executions$/fuzzed \1: \2 inputs/p' "$log/fuzz.log"
echo "all: $passed passed, 0 failed"
