#!/usr/bin/env bash
# The main job: builds the package, starts the FaceID emulator (127.0.0.1:8788) and the worker in
# workerd through `wrangler dev` (127.0.0.1:8787, with the demo page at /), shows a first ticket,
# and serves until Ctrl-C, which stops everything it started.
#
# To use the real service instead of the emulator, set all three:
#   FACEID_ENDPOINT=https://kyc1.qcloud.com FACEID_APP_ID=IDA… FACEID_SECRET=… bash scripts/run.sh
# FACEID_API_KEY (default "dev") is the key callers of the worker must present.
# Against the real service the only access_token request is the worker's: every new token retires
# the previous one, a production fleet's included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/common.sh

bash scripts/build.sh
npm ci --prefix www --no-audit --no-fund --silent

pids=()
cleanup() {
  trap - EXIT INT TERM
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  echo "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${FACEID_ENDPOINT:-}" ]]; then
  start_emulator 8788
  pids+=("$EMULATOR_PID")
  export FACEID_ENDPOINT=$EMULATOR_URL FACEID_APP_ID=IDAEMU01
  export FACEID_SECRET=emulator-secret-0123456789abcdef0123456789abcdef0123456789abcdef
  echo "FaceID emulator on $EMULATOR_URL"
fi
: "${FACEID_APP_ID:?set FACEID_APP_ID with FACEID_ENDPOINT}" "${FACEID_SECRET:?set FACEID_SECRET with FACEID_ENDPOINT}"
export FACEID_API_KEY=${FACEID_API_KEY:-dev}

if [[ -n "${EMULATOR_PID:-}" ]]; then
  # Only with the emulator: the example mints its own access token, which against the real
  # service would be a second one, retiring the worker's.
  echo "==> a first ticket through the package, from Node (emulator only)"
  node www/node-example.mjs
else
  echo "==> real service: no Node example, so the worker's is the only access_token request"
fi

echo "==> the worker"
(
  cd www
  exec wrangler dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false --log-level warn \
    --var "FACEID_ENDPOINT:$FACEID_ENDPOINT" --var "FACEID_APP_ID:$FACEID_APP_ID" \
    --var "FACEID_SECRET:$FACEID_SECRET" --var "FACEID_API_KEY:$FACEID_API_KEY"
) </dev/null &
pids+=("$!")
for _ in $(seq 300); do
  curl -fs -o /dev/null http://127.0.0.1:8787/ && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "the worker did not start" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -H "Authorization: Bearer $FACEID_API_KEY" 'http://127.0.0.1:8787/faceid/nonce?user_id=alice'
cat <<TXT

The worker serves on http://127.0.0.1:8787 (demo page at /, API key "$FACEID_API_KEY"). Try:
  curl -H 'Authorization: Bearer $FACEID_API_KEY' 'http://127.0.0.1:8787/faceid/nonce?user_id=alice'
  curl -H 'Authorization: Bearer $FACEID_API_KEY' -H 'Content-Type: application/json' \\
       -d '{"userId":"alice"}' http://127.0.0.1:8787/faceid/sdk-signature
Ctrl-C stops the worker and the emulator.
TXT
wait
