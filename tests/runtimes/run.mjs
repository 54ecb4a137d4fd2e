// Runs the shared suite (suite.mjs) in one JavaScript runtime against the packed package, installed
// BY NAME into a throwaway project, and a FaceID emulator started here:
//   node tests/runtimes/run.mjs node|deno|bun|edge
// Deno and Bun are the npm packages' binaries (package.json pins them); `edge` is Vercel's
// edge-runtime VM, fed a bundle made the way Vercel and Next.js make one. Exits non-zero when a
// test fails, and by itself within LIMIT_MS in any case.

import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { build } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';

import { DEFAULT_APP_ID, DEFAULT_SECRET, startEmulator } from '../emulator/emulator.mjs';
import { REPO, installPackage } from '../node/support.mjs';

const LIMIT_MS = 300_000;
const SUITE_FILES = ['harness.mjs', 'suite.mjs'];
const bin = (name) => join(REPO, 'node_modules', '.bin', name);

// The program each runtime runs, in the project that installed the package: it imports the package
// by `specifier` and must land on `entry`, the file the exports map names for that runtime.
const entryProgram = (specifier, entry) => `import * as api from '${specifier}';
import process from 'node:process';
import { runSuite } from './suite.mjs';

const { failed } = await runSuite(api, {
  emulator: JSON.parse(process.env.FACEID_EMULATOR),
  resolved: import.meta.resolve('${specifier}'),
  entry: '${entry}',
});
process.exit(failed > 0 ? 1 : 0);
`;

const PROCESSES = {
  node: { specifier: 'faceid-edge', command: [process.execPath, 'entry.mjs'] },
  // Deno reads the project's package.json and takes npm: packages from its node_modules. The
  // package needs the network, and reads its own .wasm from disk.
  deno: {
    specifier: 'npm:faceid-edge',
    command: [bin('deno'), 'run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env=FACEID_EMULATOR', 'entry.mjs'],
  },
  bun: { specifier: 'faceid-edge', command: [bin('bun'), 'entry.mjs'] },
};

const runtime = process.argv[2];
if (!(runtime in PROCESSES) && runtime !== 'edge') {
  console.error(`usage: node tests/runtimes/run.mjs ${[...Object.keys(PROCESSES), 'edge'].join('|')}`);
  process.exit(2);
}
let child;
setTimeout(() => {
  console.error(`${runtime}: the suite did not finish within ${LIMIT_MS} ms`);
  child?.kill('SIGKILL');
  process.exit(1);
}, LIMIT_MS).unref();

const { dir } = await installPackage();
for (const file of SUITE_FILES) copyFileSync(join(REPO, 'tests', 'runtimes', file), join(dir, file));
const emu = await startEmulator();
const emulator = { url: emu.url, appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET };
let code;
try {
  code = runtime === 'edge' ? await runEdge(dir, emulator) : await runProcess(dir, PROCESSES[runtime], emulator);
} finally {
  await emu.close();
}
process.exit(code);

/** Runs the suite in a child process of `runtime`; resolves to its exit code. */
function runProcess(cwd, { specifier, command }, { url, appId, secret }) {
  writeFileSync(join(cwd, 'entry.mjs'), entryProgram(specifier, 'node.mjs'));
  const env = {
    ...process.env,
    FACEID_EMULATOR: JSON.stringify({ url, appId, secret }),
    // Nothing from outside this machine: no update checks, no crash reports.
    DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1', NO_COLOR: '1',
  };
  child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
}

/**
 * Runs the suite in the edge-runtime VM, as Vercel runs an edge function: one script bundled with
 * the `edge-light` condition, `.wasm?module` imports handed in as modules compiled by the platform,
 * and no WebAssembly compilation allowed inside the VM. Resolves to an exit code.
 */
async function runEdge(cwd, emulator) {
  writeFileSync(join(cwd, 'edge-entry.mjs'), [
    "import * as api from 'faceid-edge';",
    "import { runSuite } from './suite.mjs';",
    'globalThis.runSuite = (options) => runSuite(api, options);',
    '',
  ].join('\n'));
  const wasmModules = new Map(); // binding name → .wasm path
  const bundle = await build({
    absWorkingDir: cwd,
    entryPoints: ['edge-entry.mjs'],
    bundle: true,
    write: false,
    metafile: true,
    format: 'iife',
    platform: 'neutral',
    // Next.js's edge conditions (Vercel's edge functions use the same first one).
    conditions: ['edge-light', 'worker', 'browser'],
    logLevel: 'silent',
    plugins: [{
      name: 'wasm-module',
      setup(esbuild) {
        esbuild.onResolve({ filter: /\.wasm\?module$/ }, ({ path, resolveDir }) => ({
          path: join(resolveDir, path.replace(/\?module$/, '')), namespace: 'wasm-module',
        }));
        esbuild.onLoad({ filter: /.*/, namespace: 'wasm-module' }, ({ path }) => {
          const name = `__wasm_module_${wasmModules.size}`;
          wasmModules.set(name, path);
          return { contents: `export default globalThis.${name};`, loader: 'js' };
        });
      },
    }],
  });
  const resolved = bundle.metafile.inputs['edge-entry.mjs'].imports.find((i) => i.original === 'faceid-edge')?.path;

  const vm = new EdgeRuntime({ codeGeneration: { strings: false, wasm: false } });
  // The platform compiles the imported modules; they must be the VM realm's WebAssembly.Module.
  const modulePrototype = vm.evaluate('WebAssembly.Module.prototype');
  for (const [name, path] of wasmModules) {
    vm.context[name] = Object.setPrototypeOf(await WebAssembly.compile(readFileSync(path)), modulePrototype);
  }
  const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  if (await vm.evaluate('(bytes) => WebAssembly.compile(bytes).then(() => true, () => false)')(empty)) {
    throw new Error('the VM compiles wasm at run time: it would not hold the package to the edge rule');
  }
  vm.evaluate(bundle.outputFiles[0].text);
  const { failed } = await vm.evaluate('runSuite')({ emulator, resolved, entry: 'edge-light.js' });
  return failed > 0 ? 1 : 0;
}
