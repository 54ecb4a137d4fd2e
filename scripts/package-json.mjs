// Prints pkg/package.json: the crate's name, version and description with the exports map that
// picks an entry point per runtime.
import { readFileSync } from 'node:fs';

import { CJS_TYPES, ENTRIES, ESM_TYPES } from './package-files.mjs';

const cargo = readFileSync(new URL('../Cargo.toml', import.meta.url), 'utf8');
const field = (name) => cargo.match(new RegExp(`^${name} = "(.*)"$`, 'm'))?.[1];

// Each entry with the declarations of its own module kind. CommonJS ones beside an ESM entry make
// TypeScript's node16/nodenext treat that entry as CommonJS ("masquerading as CJS").
const esm = (entry) => ({ types: `./${ESM_TYPES}`, default: `./${entry}` });

const manifest = {
  name: field('name'),
  version: field('version'),
  description: field('description'),
  license: field('license'),
  type: 'module',
  // Resolvers that ignore `exports` (TypeScript's node10, old bundlers) get the CommonJS build.
  types: `./${CJS_TYPES}`,
  main: './node/faceid_edge.js',
  module: './browser.js',
  exports: {
    '.': {
      workerd: esm('workerd.js'),
      'edge-light': esm('edge-light.js'),
      node: { import: esm('node.mjs'), require: { types: `./${CJS_TYPES}`, default: './node/faceid_edge.js' } },
      browser: esm('browser.js'),
      default: esm('browser.js'),
    },
    './package.json': './package.json',
  },
  files: ['web/', 'node/', ...ENTRIES, ESM_TYPES, 'README.md'],
  sideEffects: ENTRIES.map((entry) => `./${entry}`),
  engines: { node: '>=18' },
  keywords: ['faceid', 'tencent-cloud', 'wasm', 'cloudflare-workers', 'vercel-edge', 'deno', 'bun', 'kyc'],
};
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
