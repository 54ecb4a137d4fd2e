// Prints pkg/package.json: the crate's name, version and description with the exports map that
// picks an entry point per runtime.
import { readFileSync } from 'node:fs';

const cargo = readFileSync(new URL('../Cargo.toml', import.meta.url), 'utf8');
const field = (name) => cargo.match(new RegExp(`^${name} = "(.*)"$`, 'm'))?.[1];

const manifest = {
  name: field('name'),
  version: field('version'),
  description: field('description'),
  license: field('license'),
  type: 'module',
  types: './node/faceid_edge.d.ts',
  main: './node/faceid_edge.js',
  module: './browser.js',
  exports: {
    '.': {
      types: './node/faceid_edge.d.ts',
      workerd: './workerd.js',
      node: { import: './node.mjs', require: './node/faceid_edge.js' },
      browser: './browser.js',
      default: './browser.js',
    },
    './package.json': './package.json',
  },
  files: ['web/', 'node/', 'workerd.js', 'browser.js', 'node.mjs', 'README.md'],
  sideEffects: ['./browser.js', './workerd.js', './node.mjs'],
  engines: { node: '>=18' },
  keywords: ['faceid', 'tencent-cloud', 'wasm', 'cloudflare-workers', 'kyc'],
};
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
