// The installed package imported BY NAME in Cloudflare workerd: a module worker bundled by the
// real deployment tool (`wrangler deploy --dry-run`, which resolves the `workerd` export condition
// and the .wasm import), run by Miniflare, calling the FaceID emulator.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, assertEmulatorTicket, closedPort, control, issueToken, workerAgainstEmulator,
} from './support.mjs';

const TICKET_PATH = '/api/oauth2/api_ticket';

// Options come in as query parameters; `timeoutMs` is sent as a number. The answer is the ticket,
// or the error's documented properties.
const WORKER = `import { fetchNonceTicket } from 'faceid-edge';

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const options = {};
    for (const [key, value] of params) options[key] = ['timeoutMs', 'retries'].includes(key) ? Number(value) : value;
    try {
      const ticket = await fetchNonceTicket(options);
      return Response.json({ ticket, proto: Object.getPrototypeOf(ticket) === Object.prototype });
    } catch (e) {
      const { name, kind, message, field, code, msg, transaction_time, status, timeoutMs, detail, reason } = e ?? {};
      return Response.json({
        error: { isError: e instanceof Error, name, kind, message, field, code, msg, transaction_time, status, timeoutMs, detail, reason },
        stack: String(e?.stack),
        own: JSON.stringify(e, Object.getOwnPropertyNames(e ?? {})),
      });
    }
  },
};
`;

let emu;
let mf;
let bundleDir;
let token;
workerAgainstEmulator('faceid-edge-workerd-test', WORKER, (started) => ({ mf, emu, bundleDir } = started));

beforeEach(async () => {
  token = await issueToken(emu);
});

/** Calls the worker with `options` as query parameters; resolves to its JSON answer. */
async function callWorker(overrides = {}) {
  const options = { appId: DEFAULT_APP_ID, accessToken: token, userId: 'worker_user', endpoint: emu.url, retries: 0, ...overrides };
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options)) if (value !== undefined) query.set(key, String(value));
  const response = await mf.dispatchFetch(`http://worker.test/?${query}`);
  assert.equal(response.status, 200, 'the worker itself failed');
  return response.json();
}

function expectError(answer, kind, props = {}) {
  assert.ok(answer.error, `expected an error, got ${JSON.stringify(answer)}`);
  const { error } = answer;
  assert.equal(error.isError, true, 'not an Error');
  assert.equal(error.name, 'FaceIdError');
  assert.equal(error.kind, kind, error.message);
  for (const [key, value] of Object.entries(props)) assert.equal(error[key], value, key);
  assert.ok(typeof error.message === 'string' && error.message.length > 0);
  for (const view of [error.message, answer.stack, answer.own]) assert.ok(!view.includes(token), 'the token leaked');
  return error;
}

describe('faceid-edge in workerd (wrangler bundle, Miniflare)', () => {
  it('the bundle was built from the workerd entry: the .wasm is a module import', () => {
    const files = readdirSync(bundleDir);
    const wasm = files.filter((file) => file.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `files: ${files.join(', ')}`);
    const bundle = readFileSync(join(bundleDir, 'worker.js'), 'utf8');
    assert.match(bundle, new RegExp(`from\\s*["']\\./${wasm[0].replace(/\./g, '\\.')}["']`));
  });

  it('fetches a NONCE ticket from the emulator', async () => {
    const before = Date.now();
    const answer = await callWorker();
    const after = Date.now();
    assert.ok(answer.ticket, JSON.stringify(answer));
    const { ticket } = answer;
    assertEmulatorTicket(ticket, before, after);
    assert.equal(answer.proto, true, 'not a plain object');
    const entry = emu.state.log.at(-1);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, TICKET_PATH);
    assert.deepEqual(entry.query, {
      app_id: DEFAULT_APP_ID, access_token: token, type: 'NONCE', version: '1.0.0', user_id: 'worker_user',
    });
  });

  it('rejects an invalid argument without sending anything', async () => {
    const logBefore = emu.state.log.length;
    expectError(await callWorker({ userId: 'not valid' }), 'invalid_argument', { field: 'userId' });
    expectError(await callWorker({ endpoint: 'http://example.com' }), 'invalid_argument', { field: 'endpoint' });
    expectError(await callWorker({ timeoutMs: 0 }), 'invalid_argument', { field: 'timeoutMs' });
    assert.equal(emu.state.log.length, logBefore, 'a request was sent');
  });

  it('reports an api error with its code as a string, msg and transaction_time', async () => {
    const error = expectError(await callWorker({ accessToken: 'Q'.repeat(64) }), 'api', { code: '400201' });
    assert.ok(error.msg.length > 0);
    assert.match(error.transaction_time, /^\d{14}$/);
  });

  it('times out a slow answer with kind timeout', async () => {
    await control(emu, 'POST', 'fault', { mode: 'slow', delayMs: 4000, count: 1, path: 'api_ticket' });
    const started = Date.now();
    expectError(await callWorker({ timeoutMs: 200 }), 'timeout', { timeoutMs: 200 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2500, `took ${elapsed} ms`);
  });

  it('reports http, bad_response (oversized, stopped early) and network failures', async () => {
    await control(emu, 'POST', 'fault', { mode: 'http_error', status: 503, count: 1, path: 'api_ticket' });
    expectError(await callWorker(), 'http', { status: 503 });
    await control(emu, 'POST', 'fault', { mode: 'oversized', count: 1, path: 'api_ticket' });
    const started = Date.now();
    // What went wrong travels as data too: the worker's Durable Object passes it on.
    assert.match(expectError(await callWorker(), 'bad_response').reason, /the body is larger than \d+ bytes/);
    assert.ok(Date.now() - started < 5000);
    const network = expectError(await callWorker({ endpoint: `http://127.0.0.1:${await closedPort()}` }), 'network');
    assert.equal(typeof network.detail, 'string');
    assert.ok(network.detail.length > 0);
  });

  it('still works after the failures', async () => {
    const answer = await callWorker();
    assert.equal(answer.ticket?.value.length, 64, JSON.stringify(answer));
  });
});
