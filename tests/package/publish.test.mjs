// The packed tarball, checked as a published package: exactly the intended files, a manifest that
// names only files it ships, and clean reports from the ecosystem's own linters, publint and
// @arethetypeswrong/cli (offline: a local tarball, no @types lookup).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, it } from 'node:test';

import { PACKAGE_FILES } from '../../scripts/package-files.mjs';
import { REPO, packPackage } from '../node/support.mjs';

let tarball;

before(async () => {
  tarball = await packPackage();
});

/** Runs a tool; resolves to `{ code, stdout, stderr }` whatever its exit code. */
function tool(command, args) {
  const file = command === 'tar' ? command : join(REPO, 'node_modules', '.bin', command);
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error?.code ?? 0, stdout, stderr });
    });
  });
}

/** Every string in a manifest value: paths in `exports`, `sideEffects` and the like. */
const paths = (value) => (typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap(paths));

it('the tarball holds exactly the package files: nothing missing, nothing stray', async () => {
  const { code, stdout } = await tool('tar', ['-tzf', tarball]);
  assert.equal(code, 0);
  const files = stdout.trim().split('\n').map((line) => line.replace(/^package\//, '')).sort();
  assert.deepEqual(files, [...PACKAGE_FILES].sort());
});

it('every file the manifest names is in the tarball', async () => {
  const { stdout } = await tool('tar', ['-xzOf', tarball, 'package/package.json']);
  const manifest = JSON.parse(stdout);
  const named = [manifest.main, manifest.module, manifest.types, ...paths(manifest.exports), ...paths(manifest.sideEffects)];
  for (const path of named) assert.ok(PACKAGE_FILES.includes(path.replace(/^\.\//, '')), `${path} is not shipped`);
});

it('publint (strict, suggestions included): all good', async () => {
  const { code, stdout, stderr } = await tool('publint', ['run', tarball, '--level', 'suggestion', '--strict']);
  console.log(stdout.trim());
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^All good!$/m);
});

it('@arethetypeswrong/cli: no problem; types of the right kind for node10, node16 CJS and ESM, bundler', async () => {
  const { code, stdout, stderr } = await tool('attw', [tarball, '--format', 'json', '--no-definitely-typed']);
  const { analysis } = JSON.parse(stdout);
  assert.deepEqual(analysis.problems, [], stderr);
  assert.equal(code, 0, stderr);
  // TypeScript's resolution → [declarations, implementation]. nodenext resolves as node16.
  const expected = {
    node10: ['node/faceid_edge.d.ts', 'node/faceid_edge.js'],
    'node16-cjs': ['node/faceid_edge.d.ts', 'node/faceid_edge.js'],
    'node16-esm': ['faceid_edge.d.mts', 'node.mjs'],
    bundler: ['faceid_edge.d.mts', 'browser.js'],
  };
  const { resolutions } = analysis.entrypoints['.'];
  assert.deepEqual(Object.keys(resolutions).sort(), Object.keys(expected).sort());
  for (const [kind, [types, implementation]] of Object.entries(expected)) {
    const { resolution, implementationResolution } = resolutions[kind];
    console.log(`${kind}: ${resolution?.fileName} for ${implementationResolution?.fileName}`);
    assert.equal(resolution?.fileName, `/node_modules/faceid-edge/${types}`, kind);
    assert.equal(implementationResolution?.fileName, `/node_modules/faceid-edge/${implementation}`, kind);
  }
});
