#!/usr/bin/env bash
# The benchmark, from a fresh clone: installs what is missing, builds the package and the worker
# project, then runs bench/run.mjs (about 2 minutes on 2 cores). Tables on stdout; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/common.sh
bash scripts/build.sh >&2
npm ci --prefix www --no-audit --no-fund --silent
exec node bench/run.mjs "$@"
