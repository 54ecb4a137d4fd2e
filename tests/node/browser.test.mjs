// The package's `browser` entry in real headless Chromium: the installed package is served by a
// small static server, a page imports it by name through an import map, and calls the emulator
// (another origin: it answers with CORS headers).

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import { startEmulator } from '../emulator/emulator.mjs';
import {
  DEFAULT_APP_ID, assertEmulatorTicket, control, installPackage, issueToken, launchChromium, listen,
} from './support.mjs';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>faceid-edge browser test</title>
<script type="importmap">{"imports":{"faceid-edge":"/node_modules/faceid-edge/browser.js"}}</script>
<script type="module">
import { fetchNonceTicket } from 'faceid-edge';
window.fetchNonceTicket = fetchNonceTicket;
window.faceIdReady = true;
</script>
</head>
<body></body>
</html>
`;

let emu;
let site;
let browser;
let page;
let token;
const served = [];
const pageErrors = [];

before(async () => {
  const { dir } = await installPackage();
  emu = await startEmulator();
  site = await listen(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://site.invalid').pathname);
    if (path === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (path === '/' || path === '/index.html') {
      served.push({ path, type: MIME['.html'] });
      res.writeHead(200, { 'content-type': MIME['.html'] });
      return res.end(PAGE);
    }
    const file = normalize(join(dir, path));
    const type = MIME[extname(file)];
    try {
      if (!path.startsWith('/node_modules/') || !file.startsWith(dir + sep) || !type || !(await stat(file)).isFile()) throw new Error('not served');
      const body = await readFile(file);
      served.push({ path, type });
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => { if (message.type() === 'error') pageErrors.push(message.text()); });
  await page.goto(`${site.url}/`);
  try {
    await page.waitForFunction(() => window.faceIdReady === true, null, { timeout: 15000 });
  } catch (error) {
    throw new Error(`the page did not load the package: ${pageErrors.join('; ') || error.message}`);
  }
});

after(async () => {
  await browser?.close();
  await Promise.all([site?.close(), emu?.close()]);
});

beforeEach(async () => {
  await control(emu, 'POST', 'reset', {});
  token = await issueToken(emu);
});

/** Calls fetchNonceTicket in the page; `signal: 'plain-object'` passes `{}` as the signal. */
function callInPage(options) {
  return page.evaluate(async (opts) => {
    if (opts.signal === 'plain-object') opts.signal = {};
    try {
      const ticket = await window.fetchNonceTicket(opts);
      return { ticket, plain: Object.getPrototypeOf(ticket) === Object.prototype };
    } catch (e) {
      const { name, kind, message, field, code, msg, status } = e;
      return { error: { isError: e instanceof Error, name, kind, message, field, code, msg, status }, stack: String(e.stack) };
    }
  }, options);
}

describe('faceid-edge browser entry in headless Chromium', () => {
  it('loaded browser.js and its .wasm by name through the import map, with the right MIME types', () => {
    const paths = served.map(({ path }) => path);
    assert.ok(paths.includes('/node_modules/faceid-edge/browser.js'), paths.join(', '));
    const wasm = served.find(({ path }) => path === '/node_modules/faceid-edge/web/faceid_edge_bg.wasm');
    assert.ok(wasm, `the .wasm was not fetched: ${paths.join(', ')}`);
    assert.equal(wasm.type, 'application/wasm');
    assert.deepEqual(pageErrors, []);
  });

  it('fetches a NONCE ticket from the emulator', async () => {
    const before = Date.now();
    const answer = await callInPage({ appId: DEFAULT_APP_ID, accessToken: token, userId: 'browser_user', endpoint: emu.url });
    const after = Date.now();
    assert.ok(answer.ticket, JSON.stringify(answer));
    const { ticket } = answer;
    assert.equal(answer.plain, true, 'not a plain object');
    assertEmulatorTicket(ticket, before, after);
    const entry = emu.state.log.at(-1);
    assert.equal(entry.path, '/api/oauth2/api_ticket');
    assert.deepEqual(entry.query, {
      app_id: DEFAULT_APP_ID, access_token: token, type: 'NONCE', version: '1.0.0', user_id: 'browser_user',
    });
  });

  for (const [label, overrides, field] of [
    ['a userId with a space', { userId: 'not valid' }, 'userId'],
    ['a signal that is not an AbortSignal', { signal: 'plain-object' }, 'signal'],
    ['http: to a non-loopback host', { endpoint: 'http://example.com' }, 'endpoint'],
  ]) {
    it(`rejects ${label} with invalid_argument and sends nothing`, async () => {
      const logBefore = emu.state.log.length;
      const answer = await callInPage({ appId: DEFAULT_APP_ID, accessToken: token, userId: 'browser_user', endpoint: emu.url, ...overrides });
      assert.ok(answer.error, JSON.stringify(answer));
      const { error } = answer;
      assert.equal(error.isError, true);
      assert.equal(error.name, 'FaceIdError');
      assert.equal(error.kind, 'invalid_argument');
      assert.equal(error.field, field);
      assert.ok(error.message.length > 0 && !error.message.includes(token) && !answer.stack.includes(token));
      assert.equal(emu.state.log.length, logBefore, 'a request was sent');
    });
  }
});
