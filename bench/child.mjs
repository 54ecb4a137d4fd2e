// The measuring child of bench/run.mjs. Every measurement of Node runs in a fresh process of its
// own, so that the harness, Miniflare and the emulator never share its CPU counters, heap or JIT
// state. It prints one JSON line on stdout and exits.
//
//   node --expose-gc bench/child.mjs calls stub <pkgDir> <rounds> <warmup> <n>
//   node --expose-gc bench/child.mjs calls http <pkgDir> <rounds> <warmup> <n> <emulatorUrl>
//   node bench/child.mjs cold <ours|ours-require|ours-web|plain> <pkgDir> <byNameModule>
//   node --expose-gc bench/child.mjs memory <ours-fn|plain-fn|ours-client|plain-client> <pkgDir> <calls>
//
// <pkgDir> is the snapshot of pkg/ that run.mjs took, so a rebuild during the run changes nothing.
// <byNameModule> is the module run.mjs wrote next to that snapshot's node_modules, from which
// 'faceid-edge' resolves by name.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { STUB_CLIENT_OPTIONS, installStubFetch, stubFetch, stubOptions } from './stub-fetch.mjs';

const [mode, variant, pkgDir, ...rest] = process.argv.slice(2);
const moduleUrl = (file) => pathToFileURL(join(pkgDir, file)).href;
const PLAIN_URL = new URL('./plain-client.mjs', import.meta.url).href;

function answer(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Sequentially awaited calls: one at a time, as a request handler makes them. */
async function calls(call, n) {
  for (let i = 0; i < n; i++) await call();
}

/** Per-call CPU (user + system, all threads of this process) and wall time, in µs. Garbage left
 * by the previous batch is collected first, so each batch pays only for its own. */
async function measure(call, warmup, n) {
  await calls(call, warmup);
  global.gc();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await calls(call, n);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / n, wallUs: (wall * 1000) / n };
}

// Emulator apps of the HTTP mode: one per token owner, because every new token of an app retires
// the previous one and the three owners below would otherwise retire each other's.
const HTTP_APPS = { BENCHFN1: 'bench-secret-fn', BENCHOUR: 'bench-secret-ours', BENCHPLN: 'bench-secret-plain' };

async function callsMode() {
  const [rounds, warmup, n] = rest.slice(0, 3).map(Number);
  const impls = { ours: await import(moduleUrl('node.mjs')), plain: await import(PLAIN_URL) };
  let fnOptions;
  let clientOptions;
  if (variant === 'stub') {
    installStubFetch();
    fnOptions = stubOptions();
    clientOptions = { ours: STUB_CLIENT_OPTIONS, plain: STUB_CLIENT_OPTIONS };
  } else {
    const endpoint = rest[3];
    const control = await fetch(`${endpoint}/__emulator/reset`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apps: HTTP_APPS }),
    });
    if (!control.ok) throw new Error(`emulator reset failed: HTTP ${control.status}`);
    const query = new URLSearchParams({ app_id: 'BENCHFN1', secret: HTTP_APPS.BENCHFN1, grant_type: 'client_credential', version: '1.0.0' });
    const { access_token: accessToken } = await (await fetch(`${endpoint}/api/oauth2/access_token?${query}`)).json();
    fnOptions = { appId: 'BENCHFN1', accessToken, userId: 'bench_user', endpoint };
    clientOptions = {
      ours: { appId: 'BENCHOUR', secret: HTTP_APPS.BENCHOUR, endpoint },
      plain: { appId: 'BENCHPLN', secret: HTTP_APPS.BENCHPLN, endpoint },
    };
  }
  const cases = {};
  for (const name of ['ours', 'plain']) {
    const impl = impls[name];
    const client = new impl.FaceIdClient(clientOptions[name]);
    cases[`${name}.fetchNonceTicket`] = () => impl.fetchNonceTicket(fnOptions);
    cases[`${name}.nonceTicket`] = () => client.nonceTicket('bench_user');
    // A failing call is cheap and would flatter whoever fails: check both really succeed.
    for (const call of [cases[`${name}.fetchNonceTicket`], cases[`${name}.nonceTicket`]]) {
      const ticket = await call();
      if (typeof ticket?.value !== 'string' || ticket.expire_in !== 120) throw new Error(`${name}: bad ticket`);
    }
  }
  // JIT, connection pool and the emulator's own warm-up happen here, not in round 0.
  for (const call of Object.values(cases)) await calls(call, warmup * 3);
  const results = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which variant goes first, so neither always runs on a warmer (or noisier) machine.
    const order = round % 2 === 0 ? ['ours', 'plain'] : ['plain', 'ours'];
    const result = {};
    for (const api of ['fetchNonceTicket', 'nonceTicket']) {
      for (const name of order) result[`${name}.${api}`] = await measure(cases[`${name}.${api}`], warmup, n);
    }
    results.push(result);
  }
  answer({ rounds: results });
}

/** Node loads its fetch/streams machinery (undici) lazily on first use of `Response`,
 * `AbortController` and friends, ~15 ms that a server has paid long before it loads a client
 * library. Pay it before the clock starts, for both variants, so it is not charged to either. */
async function touchWebPlatform() {
  const response = await stubFetch('warm-up');
  const reader = response.body.getReader();
  while (!(await reader.read()).done);
  const controller = new AbortController();
  controller.signal.addEventListener('abort', () => {});
  controller.abort();
  clearTimeout(setTimeout(() => {}, 1));
  new TextDecoder().decode(new Uint8Array(1));
  JSON.parse('{}');
}

/** How each cold-start variant loads its client. The package comes by name, as an application
 * gets it: `import` takes the exports map's `node`/`import` entry, `require` its `node`/`require`
 * one. The web glue with `initSync` is the lower bound of what the package's own code costs. The
 * baseline comes by name as well, from its own package next to ours. */
function coldLoaders(byName) {
  return {
    ours: () => byName.importByName(),
    'ours-require': () => byName.requireByName(),
    'ours-web': async () => {
      const mod = await import(moduleUrl('web/faceid_edge.js'));
      mod.initSync({ module: readFileSync(join(pkgDir, 'web/faceid_edge_bg.wasm')) });
      return mod;
    },
    plain: () => byName.importPlainByName(),
  };
}

async function coldMode() {
  // The stub is ours, not the package's: installed before the clock starts. The by-name module
  // is the application's own, loaded by every variant so that all start from the same state.
  installStubFetch();
  await touchWebPlatform();
  const byName = await import(pathToFileURL(rest[0]).href);
  const load = coldLoaders(byName)[variant];
  const start = performance.now();
  const mod = await load();
  const loaded = performance.now();
  const ticket = await mod.fetchNonceTicket(stubOptions());
  const done = performance.now();
  if (ticket.expire_in !== 120) throw new Error('bad ticket');
  // The goal counts only while `import` and `require` give one instance, so that a process using
  // both has one token owner: checked after the clock, in the variant the summary judges.
  const oneInstance = variant === 'ours' ? mod.FaceIdClient === byName.requireByName().FaceIdClient : null;
  answer({ importMs: loaded - start, firstCallMs: done - loaded, totalMs: done - start, oneInstance });
}

const WARMUP_CALLS = 1000;

async function memoryMode() {
  const total = Number(rest[0]);
  const [name, api] = variant.split('-');
  let impl;
  let exports = null;
  if (name === 'ours') {
    // The web glue's initSync returns the instance's exports: that is where `memory` is.
    impl = await import(moduleUrl('web/faceid_edge.js'));
    exports = impl.initSync({ module: new WebAssembly.Module(readFileSync(join(pkgDir, 'web/faceid_edge_bg.wasm'))) });
  } else {
    impl = await import(PLAIN_URL);
  }
  installStubFetch();
  const options = stubOptions();
  const client = new impl.FaceIdClient(STUB_CLIENT_OPTIONS);
  const call = api === 'fn' ? () => impl.fetchNonceTicket(options) : () => client.nonceTicket('bench_user');
  // Several collections with turns of the event loop between them, so that finalizers (the
  // wasm-bindgen glue frees Rust-side objects from FinalizationRegistry callbacks) have run.
  const settle = async () => {
    for (let i = 0; i < 4; i++) {
      global.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sample = async (calls) => {
    await settle();
    return {
      calls,
      heapUsed: process.memoryUsage().heapUsed,
      wasmMemory: exports ? exports.memory.buffer.byteLength : null,
      externrefs: exports?.__wbindgen_externrefs ? exports.__wbindgen_externrefs.length : null,
    };
  };
  // `before`: nothing called yet. `start`: after a warm-up that loads the lazy parts of Node's
  // fetch machinery and lets the allocator reach its working size. `end`: `total` calls later.
  const before = await sample(0);
  await calls(call, WARMUP_CALLS);
  const start = await sample(WARMUP_CALLS);
  await calls(call, total);
  const end = await sample(WARMUP_CALLS + total);
  answer({ before, start, end });
}

const modes = { calls: callsMode, cold: coldMode, memory: memoryMode };
if (!modes[mode]) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
await modes[mode]();
