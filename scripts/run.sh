#!/usr/bin/env bash
# The main job: builds the package, starts the FaceID emulator (127.0.0.1:8788) and the worker in
# workerd through `wrangler dev` (127.0.0.1:8787, with the demo page at /), shows a first ticket,
# and serves until Ctrl-C, which stops everything it started. The demo page runs one H5
# verification end to end: the emulator's H5 page is at 127.0.0.1:8788, and it sends the browser
# back to the demo page, the one callback origin www/wrangler.toml allows (ALLOWED_CALLBACKS).
#
# To use the real service instead of the emulator, set all three:
#   FACEID_ENDPOINT=https://kyc1.qcloud.com FACEID_APP_ID=IDA… FACEID_SECRET=… bash scripts/run.sh
# FACEID_API_KEY (default "dev") is the key callers of the worker must present.
# Against the real service the only access_token request is the worker's: every new token retires
# the previous one, a production fleet's included.
#
# The bindings reach wrangler through www/.dev.vars (mode 0600, removed on exit), never through
# the command line, which every user of the machine can read with ps.
set -euo pipefail
cd "$(dirname "$0")/.."

dev_vars=www/.dev.vars
refuse_dev_vars() {
  echo "run.sh: $dev_vars already exists; it is not this script's, so it stays untouched." >&2
  echo "Move it away and run again: this script writes its own and removes it on exit." >&2
  exit 1
}
# Checked now so a user's file stops us before minutes of building; the creation below re-checks.
[[ ! -e $dev_vars && ! -L $dev_vars ]] || refuse_dev_vars

bash scripts/setup.sh
source scripts/common.sh

bash scripts/build.sh
npm ci --prefix www --no-audit --no-fund --silent

pids=()
dev_vars_ours=
state_dir=
cleanup() {
  trap - EXIT INT TERM
  # Cleaning up goes on whatever fails: after a Ctrl-C the children may be gone already.
  set +e
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  [[ -n $dev_vars_ours ]] && rm -f "$dev_vars"
  [[ -n $state_dir ]] && rm -rf "$state_dir"
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

# dotenv single quotes keep a value literal; only a single quote or a line break cannot be held.
binding_names=(FACEID_ENDPOINT FACEID_APP_ID FACEID_SECRET FACEID_API_KEY)
for name in "${binding_names[@]}"; do
  if [[ ${!name} == *[$'\'\n\r']* ]]; then
    echo "run.sh: $name contains a single quote or a line break, which $dev_vars cannot hold" >&2
    exit 1
  fi
done
# umask 077 makes the file 0600 from its creation, before any secret is in it; noclobber creates
# it exclusively, so a file that appeared meanwhile is refused, not overwritten.
if ! (
  umask 077
  set -o noclobber
  for name in "${binding_names[@]}"; do printf "%s='%s'\n" "$name" "${!name}"; done >"$dev_vars"
); then
  refuse_dev_vars
fi
dev_vars_ours=1

# The Durable Object's storage holds the access token. A private directory of this run, removed on
# exit, leaves no token on disk and never hands the worker a token of an earlier run (perhaps one
# of another emulator, which the service would refuse).
state_dir=$(mktemp -d)

echo "==> the worker"
(
  cd www
  exec wrangler dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false --log-level warn \
    --persist-to "$state_dir"
) </dev/null &
pids+=("$!")
for _ in $(seq 300); do
  curl -fs -o /dev/null http://127.0.0.1:8787/ && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "the worker did not start" >&2; exit 1; }
  sleep 0.2
done
# The key goes to curl on stdin (printf is a builtin), not on its command line.
printf 'Authorization: Bearer %s\n' "$FACEID_API_KEY" |
  curl -fsS -H @- 'http://127.0.0.1:8787/faceid/nonce?user_id=alice'
echo
# The help shows the key only when it is the public default; a key of the user's own stays a variable.
if [[ $FACEID_API_KEY == dev ]]; then
  auth="'Authorization: Bearer dev'" key_note='API key "dev"'
else
  auth='"Authorization: Bearer $FACEID_API_KEY"' key_note='the API key in FACEID_API_KEY'
fi
cat <<TXT

The worker serves on http://127.0.0.1:8787 ($key_note). Open it in a browser for the demo
page: SDK parameters, and one H5 verification end to end (pass or fail on the H5 page). Or try:
  curl -H $auth 'http://127.0.0.1:8787/faceid/nonce?user_id=alice'
  curl -H $auth -H 'Content-Type: application/json' \\
       -d '{"userId":"alice"}' http://127.0.0.1:8787/faceid/sdk-signature
  curl -H $auth -H 'Content-Type: application/json' \\
       -d '{"userId":"alice","name":"Zhang San (test)","idNo":"000000200001010000","callbackUrl":"http://127.0.0.1:8787/"}' \\
       http://127.0.0.1:8787/faceid/orders
Ctrl-C stops everything this script started.
TXT
wait
