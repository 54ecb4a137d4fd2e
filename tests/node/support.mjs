// Shared helpers of the package tests: install the built package by name into a throwaway
// project, talk to the FaceID emulator, and small local servers.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, afterEach, before, beforeEach } from 'node:test';
import { promisify } from 'node:util';

import { Miniflare } from 'miniflare';

import { DEFAULT_APP_ID, DEFAULT_SECRET, startEmulator } from '../emulator/emulator.mjs';
import { PACKAGE_FILES } from '../../scripts/package-files.mjs';

const run = promisify(execFile);

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG_DIR = join(REPO, 'pkg');
export { DEFAULT_APP_ID, DEFAULT_SECRET };

const tempDirs = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed when the process exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Asserts the full shape of a NONCE ticket the emulator issued between `before` and `after`
 * (the ticket may have crossed a realm boundary, so its prototype is checked by the caller). */
export function assertEmulatorTicket(ticket, before, after) {
  assert.deepEqual(Object.keys(ticket).sort(), ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value']);
  assert.equal(ticket.value.length, 64);
  assert.equal(ticket.expire_in, 120);
  assert.ok(ticket.expires_at >= before + 120000 && ticket.expires_at <= after + 120000, String(ticket.expires_at));
  assert.equal(typeof ticket.expire_time, 'string');
  assert.equal(typeof ticket.transaction_time, 'string');
}

/** The date every test worker is run with; www/wrangler.toml's. */
export const COMPATIBILITY_DATE = '2025-09-01';

/**
 * Bundles the worker project in `dir` the way a deployment does (`wrangler deploy --dry-run`,
 * which resolves the package's `workerd` condition and its .wasm import) and returns the
 * directory with the bundle. No network: a dry run uploads nothing.
 */
export async function bundleWorker(dir) {
  const outDir = tempDir('faceid-edge-bundle-');
  await run(join(REPO, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', outDir], {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CI: '1', NO_COLOR: '1' },
    timeout: 60000,
  });
  return outDir;
}

/**
 * Bundles `source`, a module worker that imports the installed package by name, the way
 * `wrangler deploy` would; resolves to the bundle's directory (see `bundledWorker`).
 */
async function bundleTestWorker(name, source) {
  const { dir } = await installPackage();
  writeFileSync(join(dir, 'worker.js'), source);
  writeFileSync(join(dir, 'wrangler.toml'), [
    `name = "${name}"`,
    'main = "worker.js"',
    `compatibility_date = "${COMPATIBILITY_DATE}"`,
    '',
  ].join('\n'));
  return bundleWorker(dir);
}

/** Miniflare worker options that load a bundle made by `bundleWorker`. */
export function bundledWorker(bundleDir) {
  return {
    modules: true,
    modulesRoot: bundleDir,
    scriptPath: join(bundleDir, 'worker.js'),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
      { type: 'Text', include: ['**/*.html'] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
  };
}

/** Debian's headless Chromium, with no background traffic (this machine has no outside network). */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--no-first-run'],
  });
}

let packed;
let installed;

const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };

/**
 * Packs the built `pkg/` as `npm publish` would; once per process. Resolves to the tarball's path.
 * Fails clearly when the package was not built first.
 */
export function packPackage() {
  packed ??= pack();
  return packed;
}

async function pack() {
  const missing = PACKAGE_FILES.filter((file) => !existsSync(join(PKG_DIR, file)));
  if (missing.length > 0) throw new Error(`pkg/ lacks ${missing.join(', ')}: run bash scripts/build.sh first`);
  const packDir = tempDir('faceid-edge-pack-');
  await run('npm', ['pack', PKG_DIR, '--pack-destination', packDir, '--silent'], { env: NPM_ENV });
  const tarballs = readdirSync(packDir).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack produced ${tarballs.join(', ') || 'nothing'}`);
  return join(packDir, tarballs[0]);
}

/**
 * Installs the packed package into a fresh project, offline (the package has no dependencies).
 * Once per process. Resolves to `{ dir, esm, cjs, resolved }`: the project directory, the package
 * as loaded BY NAME through its exports map from an ESM and a CommonJS file there, and the files
 * those two names resolved to.
 */
export function installPackage() {
  installed ??= install();
  return installed;
}

async function install() {
  const tarball = await packPackage();
  const dir = tempDir('faceid-edge-project-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'faceid-edge-consumer', version: '1.0.0', private: true }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', tarball], { cwd: dir, env: NPM_ENV });

  writeFileSync(join(dir, 'esm.mjs'), "export * from 'faceid-edge';\n");
  writeFileSync(join(dir, 'cjs.cjs'), "module.exports = require('faceid-edge');\n");
  writeFileSync(join(dir, 'resolve.mjs'), "export const resolved = import.meta.resolve('faceid-edge');\n");
  const esm = await import(pathToFileURL(join(dir, 'esm.mjs')).href);
  const requireThere = createRequire(join(dir, 'package.json'));
  const cjs = requireThere('./cjs.cjs');
  const resolved = {
    esm: fileURLToPath((await import(pathToFileURL(join(dir, 'resolve.mjs')).href)).resolved),
    cjs: requireThere.resolve('faceid-edge'),
  };
  return { dir, esm, cjs, resolved };
}

/** Walks the emulator's H5 page as a browser would, choosing `outcome`; resolves to the callback URL. */
export async function walkH5(loginUrl, outcome) {
  const page = await fetch(loginUrl);
  assert.equal(page.headers.get('x-faceid-code'), '0', await page.clone().text());
  const html = await page.text();
  const link = html.match(new RegExp(`id="${outcome}" href="([^"]+)"`))?.[1].replaceAll('&amp;', '&');
  assert.ok(link, `no ${outcome} link in the page`);
  const finish = await fetch(new URL(link, loginUrl), { redirect: 'manual' });
  assert.equal(finish.status, 302);
  return finish.headers.get('location');
}

/** The clock as it was when the suites loaded: what they restore. */
export const realNow = Date.now;

/** Moves this process's clock (and so the in-process emulator's) `offsetMs` from real time; 0
 * restores it. */
export function shiftClock(offsetMs) {
  Date.now = offsetMs === 0 ? realNow : () => realNow() + offsetMs;
}

/**
 * Registers the hooks of a suite that runs the installed package against an in-process emulator:
 * `started({ pkg, emu })` once both are up; before each test the emulator is reset and the clock
 * real; after each, the clock is real and no fault is left armed; at the end the emulator stops.
 */
export function withEmulator(started) {
  let emu;
  before(async () => {
    const pkg = await installPackage();
    emu = await startEmulator();
    started({ pkg, emu });
  });
  after(async () => {
    Date.now = realNow;
    await emu?.close();
  });
  beforeEach(async () => {
    Date.now = realNow;
    await control(emu, 'POST', 'reset', {});
  });
  afterEach(async () => {
    Date.now = realNow;
    await control(emu, 'DELETE', 'fault');
  });
}

/**
 * Registers the hooks of a suite that runs `source` (a module worker importing the installed
 * package by name, see `bundleTestWorker`) in workerd against an in-process emulator:
 * `started({ mf, emu, bundleDir })` once both are up; the emulator is reset before each test and
 * left without faults after it; at the end both stop.
 */
export function workerAgainstEmulator(name, source, started) {
  let mf;
  let emu;
  before(async () => {
    const bundleDir = await bundleTestWorker(name, source);
    mf = new Miniflare(bundledWorker(bundleDir));
    await mf.ready;
    emu = await startEmulator();
    started({ mf, emu, bundleDir });
  });
  after(() => Promise.all([mf?.dispose(), emu?.close()]));
  beforeEach(() => control(emu, 'POST', 'reset', {}));
  afterEach(() => control(emu, 'DELETE', 'fault'));
}

/** The emulator's request counters of `appId`, zeros where it saw none. */
export async function requestCounts(emu, appId = DEFAULT_APP_ID) {
  const { apps } = await control(emu, 'GET', 'counters');
  return { access_token: 0, sign: 0, nonce: 0, ...apps[appId] };
}

/** `fetch` against the emulator's control API; resolves to the parsed JSON answer. */
export async function control(emu, method, path, body) {
  const init = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`${emu.url}/__emulator/${path.replace(/^\//, '')}`, init);
  const answer = await response.json();
  if (!response.ok || answer.ok === false) {
    throw new Error(`control ${method} ${path} failed: HTTP ${response.status} ${JSON.stringify(answer)}`);
  }
  return answer;
}

/** A fresh access token of the default app from the emulator. */
export async function issueToken(emu, appId = DEFAULT_APP_ID, secret = DEFAULT_SECRET) {
  const query = new URLSearchParams({ app_id: appId, secret, grant_type: 'client_credential', version: '1.0.0' });
  const answer = await (await fetch(`${emu.url}/api/oauth2/access_token?${query}`)).json();
  if (answer.code !== '0' || typeof answer.access_token !== 'string') {
    throw new Error(`no access token: code ${answer.code}`);
  }
  return answer.access_token;
}

/**
 * Starts `createServer(handler)` on `host`, port 0; resolves to `{ server, port, url, close() }`.
 * `url` uses 127.0.0.1 for a wildcard host. `close()` also cuts open connections.
 */
export async function listen(handler, host = '127.0.0.1', port = 0) {
  const server = createServer(handler);
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const bound = server.address().port;
  const close = () => new Promise((ok) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => ok());
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { server, port: bound, url: `http://${urlHost}:${bound}`, close };
}

/**
 * A FaceID stand-in on 127.0.0.1: a token and a SIGN (or NONCE) ticket for anyone, and
 * `answer(body)`, given the parsed JSON body, for every other request. Resolves like `listen`.
 */
export function standInService(answer) {
  return listen(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = request.url.startsWith('/api/oauth2/access_token')
      ? { code: '0', access_token: 'T'.repeat(64), expire_in: 7200 }
      : request.url.startsWith('/api/oauth2/api_ticket')
        ? { code: '0', tickets: [{ value: 'S'.repeat(64), expire_in: 3600 }] }
        : answer(text ? JSON.parse(text) : {});
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  });
}

/**
 * A FaceID stand-in answering an access token of `tokenLength` characters and `ticket` as every
 * ticket's value, for the checks of what arrives; counts the requests it answered.
 */
export async function credentialService(tokenLength, ticket) {
  let requests = 0;
  const server = await listen((request, response) => {
    requests += 1;
    const body = request.url.startsWith('/api/oauth2/access_token')
      ? { code: '0', access_token: 'T'.repeat(tokenLength), expire_in: 7200 }
      : { code: '0', tickets: [{ value: ticket, expire_in: 120 }] };
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  });
  return { ...server, requests: () => requests };
}

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening on it now. */
export async function closedPort() {
  const { port, close } = await listen(() => {});
  await close();
  return port;
}

/** Awaits `promise` and returns its rejection; fails if it fulfils. */
export async function rejection(promise) {
  try {
    const value = await promise;
    throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(value)}`), { unexpected: true });
  } catch (error) {
    if (error?.unexpected) throw error;
    return error;
  }
}

/**
 * Calls `probe` every `everyMs` until it returns something truthy, and resolves to that; fails
 * naming `what` once `withinMs` has passed. For waits whose length the machine's load decides.
 */
export async function eventually(what, probe, { withinMs = 20_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(everyMs);
  }
}
