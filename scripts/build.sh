#!/usr/bin/env bash
# Builds the npm package `faceid-edge` into pkg/.
#
# wasm-pack builds one target at a time, so it runs twice: `web` (ESM glue, initialised with an
# explicit module: browsers, bundlers and workerd) and `nodejs` (CommonJS glue that loads its own
# .wasm: Node's `require`, and `import` through node.mjs so both share one instance). The entry
# points in js/, node.mjs (written from the CommonJS build's exports) and a generated package.json
# with an `exports` map join them into one package.
# Usage: scripts/build.sh [--release|--dev]   (default --release)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
profile=${1:---release}

out=target/pkg
rm -rf "$out" pkg
for target in web nodejs; do
  wasm-pack --quiet build --mode no-install "$profile" --target "$target" --no-pack --no-gitignore \
    --out-dir "$out/$target" --out-name faceid_edge
done

mkdir -p pkg/web pkg/node
cp "$out"/web/faceid_edge.js "$out"/web/faceid_edge_bg.wasm pkg/web/
cp "$out"/nodejs/faceid_edge.js "$out"/nodejs/faceid_edge.d.ts "$out"/nodejs/faceid_edge_bg.wasm pkg/node/
echo '{ "type": "module" }' > pkg/web/package.json
echo '{ "type": "commonjs" }' > pkg/node/package.json
# Every entry exports the same API, so one declaration serves them all; under pkg/node it is read
# as CommonJS (for `require`), and the same text as .d.mts serves ESM importers.
cp "$out"/nodejs/faceid_edge.d.ts pkg/faceid_edge.d.mts
cp js/*.js README.md pkg/
node scripts/package-json.mjs > pkg/package.json
node scripts/node-entry.mjs > pkg/node.mjs
# The copies above must give exactly the files scripts/package-files.mjs lists.
node scripts/package-files.mjs --check pkg
# The size budget: the build fails when the shipped .wasm grows past what bench/README.md records
# (gzip -9 bytes), so a regression cannot land unnoticed.
budget=69000
raw=$(wc -c < pkg/web/faceid_edge_bg.wasm)
gzipped=$(gzip -9 -c pkg/web/faceid_edge_bg.wasm | wc -c)
if [[ "$profile" == --release ]] && ((gzipped > budget)); then
  echo "size budget exceeded: faceid_edge_bg.wasm is $gzipped bytes gzipped, the budget is $budget" >&2
  exit 1
fi
echo "built pkg/: faceid_edge_bg.wasm $raw bytes, $gzipped gzipped (budget $budget)"
