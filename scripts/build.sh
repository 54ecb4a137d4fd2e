#!/usr/bin/env bash
# Builds the npm package `faceid-edge` into pkg/.
#
# wasm-pack builds one target at a time, so it runs twice: `web` (ESM glue, initialised with an
# explicit module: browsers, bundlers and workerd) and `nodejs` (CommonJS glue that loads its own
# .wasm: Node's `require`, and `import` through node.mjs so both share one instance). The entry
# points in js/ and a generated package.json with an `exports` map join them into one package.
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
cp js/*.js js/*.mjs README.md pkg/
node scripts/package-json.mjs > pkg/package.json
# The copies above must give exactly the files scripts/package-files.mjs lists.
node scripts/package-files.mjs --check pkg
# js/node.mjs names the CommonJS build's exports one by one (its comment says why): it must name
# exactly the glue's exports and hand out the very objects `require` does, so one instance serves
# both. An export added to the Rust API fails the build here until node.mjs names it too.
node --input-type=module -e "
  import { createRequire } from 'node:module';
  import { resolve } from 'node:path';
  import { pathToFileURL } from 'node:url';
  const esm = await import(pathToFileURL(resolve('pkg/node.mjs')).href);
  const cjs = createRequire(resolve('pkg/package.json'))('./node/faceid_edge.js');
  const names = (object) => Object.keys(object).filter((name) => name !== 'default' && name !== '__esModule').sort().join(', ');
  if (names(esm) !== names(cjs)) {
    console.error('pkg/node.mjs exports ' + names(esm) + '; the CommonJS glue exports ' + names(cjs) + ': update js/node.mjs');
    process.exit(1);
  }
  const copies = Object.keys(esm).filter((name) => esm[name] !== cjs[name]);
  if (copies.length > 0) {
    console.error('pkg/node.mjs and require() hand out different ' + copies.join(', ') + ': two instances');
    process.exit(1);
  }
"
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
