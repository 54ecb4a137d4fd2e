// The token lifecycle rules of lifecycle.test.mjs, checked again with the package running INSIDE
// workerd: the installed package imported BY NAME from a module worker bundled by the real
// deployment tool (`wrangler deploy --dry-run`), run by Miniflare, calling the in-process FaceID
// emulator and small local servers.
//
// workerd does not let one request await another's I/O, so every scenario runs whole within one
// request to the worker (`/run?case=NAME&endpoint=...`), which creates its own FaceIdClient and
// answers JSON: what resolved, what rejected (kind, code, msg, status, timeoutMs, retry_after_ms,
// ...), and elapsed times measured with the worker's Date.now(). The Node side arms the
// emulator's faults before the call and asserts on the answer and the emulator's counters.
//
// A wait that must hold is held by moving the worker's own `Date.now` (restored before it
// answers), never by racing a timer. workerd's clock advances only across I/O, which is enough
// for the one elapsed lower bound asserted here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, DEFAULT_SECRET, control, credentialService, issueToken, requestCounts, workerAgainstEmulator,
} from './support.mjs';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

// The test worker. Every case gets the query parameters as `p`; `shift(ms)` moves this isolate's
// Date.now by `ms` for the rest of the request (the handler restores it before answering).
const WORKER = `import { FaceIdClient, fetchNonceTicket } from 'faceid-edge';

const APP_ID = ${JSON.stringify(DEFAULT_APP_ID)};
const SECRET = ${JSON.stringify(DEFAULT_SECRET)};

function describeError(e) {
  const { name, kind, message, field, code, msg, transaction_time, status, timeoutMs, retry_after_ms, detail, reason } = e ?? {};
  return { isError: e instanceof Error, name, kind, message, field, code, msg, transaction_time, status, timeoutMs, retry_after_ms, detail, reason };
}

/** Runs \`call\`; resolves to { ok, value, elapsed } or { error, elapsed }. */
async function attempt(call) {
  const started = Date.now();
  try {
    const value = await call();
    return { ok: true, value, elapsed: Date.now() - started };
  } catch (e) {
    return { ok: false, error: describeError(e), elapsed: Date.now() - started };
  }
}

/** A synchronous call's outcome. */
function attemptSync(call) {
  try {
    return { ok: true, value: String(call()) };
  } catch (e) {
    return { ok: false, error: describeError(e) };
  }
}

const client = (p, overrides = {}) => new FaceIdClient({ appId: APP_ID, secret: SECRET, endpoint: p.endpoint, ...overrides });

async function mint(endpoint) {
  const query = new URLSearchParams({ app_id: APP_ID, secret: SECRET, grant_type: 'client_credential', version: '1.0.0' });
  const answer = await (await fetch(endpoint + '/api/oauth2/access_token?' + query)).json();
  if (answer.code !== '0') throw new Error('no access token: code ' + answer.code);
  return answer.access_token;
}

/** A tokenSource that mints from the emulator, counting its calls. */
function emulatorSource(endpoint) {
  const calls = { token: 0, rejected: 0 };
  let current;
  const grant = async () => {
    current = { value: await mint(endpoint), expire_in: 7200, expires_at: Date.now() + 7_200_000 };
    return current;
  };
  return {
    calls,
    source: {
      token: async () => { calls.token += 1; return current ?? grant(); },
      rejected: async () => { calls.rejected += 1; return grant(); },
    },
  };
}

const CASES = {
  async deadline(p) {
    return attempt(() => fetchNonceTicket({
      appId: APP_ID, accessToken: p.accessToken, userId: 'lifecycle_user', endpoint: p.endpoint, timeoutMs: 300, retries: 5,
    }));
  },

  async 'default-timeout'(p) {
    return attempt(() => fetchNonceTicket({ appId: APP_ID, accessToken: p.accessToken, userId: 'lifecycle_user', endpoint: p.endpoint }));
  },

  async 'token-not-retried'(p) {
    return attempt(() => client(p, { retries: 5 }).accessToken());
  },

  async 'failure-memory'(p, shift) {
    const c = client(p);
    const first = await attempt(() => c.accessToken());
    shift(-10_000);
    const again = [];
    for (const call of [() => c.accessToken(), () => c.signTicket(), () => c.nonceTicket('u')]) again.push(await attempt(call));
    return { first, again };
  },

  async 'forced-1'(p) {
    const c = client(p);
    const token = await c.accessToken();
    return { token, state: c.exportState() };
  },

  async 'forced-2'(p, shift) {
    const c = FaceIdClient.importState({ appId: APP_ID, secret: SECRET, endpoint: p.endpoint }, p.state);
    shift(${MINUTE_MS} + 1000);
    const refusal = await attempt(() => c.nonceTicket('alice'));
    const fallback = await attempt(() => c.accessToken());
    return { refusal, fallback };
  },

  async arrivals(p) {
    const c = client(p);
    const token = await attempt(() => c.accessToken());
    const nonce = token.ok ? await attempt(() => c.nonceTicket('u')) : null;
    return { token, nonce };
  },

  async 'import-state'(p) {
    const c = client(p);
    await c.signTicket();
    const good = JSON.parse(c.exportState());
    const options = { appId: APP_ID, secret: SECRET, endpoint: p.endpoint };
    const variant = (change) => {
      const state = structuredClone(good);
      change(state);
      return JSON.stringify(state);
    };
    const futureText = variant((s) => {
      s.token.obtained_at += ${HOUR_MS};
      s.token.grant.expires_at += ${HOUR_MS};
    });
    const outlivingText = variant((s) => { s.token.sign_ticket.expires_at = s.token.grant.expires_at + 1; });
    return {
      good: attemptSync(() => FaceIdClient.importState(options, JSON.stringify(good)) && 'imported'),
      future: attemptSync(() => FaceIdClient.importState(options, futureText)),
      outliving: attemptSync(() => FaceIdClient.importState(options, outlivingText)),
    };
  },

  async 'ticket-lifetimes'(p) {
    const c = client(p);
    const token = await c.accessToken();
    const nonce = await c.nonceTicket('u');
    const sign = await c.signTicket();
    const signature = await c.sdkSignature('u');
    return { token, nonce, sign, signature };
  },

  async 'source-reuse'(p) {
    const { calls, source } = emulatorSource(p.endpoint);
    const c = new FaceIdClient({ appId: APP_ID, tokenSource: source, endpoint: p.endpoint });
    const tickets = [];
    for (let i = 0; i < 3; i += 1) tickets.push(await attempt(() => c.nonceTicket('u' + i)));
    return { tickets, calls };
  },

  async 'source-rejected'(p) {
    const { calls, source } = emulatorSource(p.endpoint);
    const c = new FaceIdClient({ appId: APP_ID, tokenSource: source, endpoint: p.endpoint });
    const first = await attempt(() => c.nonceTicket('u'));
    const expired = await (await fetch(p.endpoint + '/__emulator/expire-tokens', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appId: APP_ID }),
    })).json();
    const second = await attempt(() => c.nonceTicket('u'));
    return { first, expired, second, calls };
  },
};

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const p = Object.fromEntries(url.searchParams);
    const run = CASES[p.case];
    if (!run) return Response.json({ crashed: 'no case ' + p.case }, { status: 404 });
    const real = Date.now;
    const shift = (offsetMs) => { Date.now = () => real() + offsetMs; };
    try {
      return Response.json({ result: await run(p, shift) });
    } catch (e) {
      return Response.json({ crashed: describeError(e), stack: String(e?.stack) }, { status: 500 });
    } finally {
      Date.now = real;
    }
  },
};
`;

let emu;
let mf;
workerAgainstEmulator('faceid-edge-workerd-lifecycle-test', WORKER, (started) => ({ mf, emu } = started));

const counts = () => requestCounts(emu);
const fault = (body) => control(emu, 'POST', 'fault', body);

/** Runs case `name` in the worker with `params` (endpoint defaults to the emulator); resolves to its result. */
async function runCase(name, params = {}) {
  const query = new URLSearchParams({ case: name, endpoint: emu.url, ...params });
  const response = await mf.dispatchFetch(`http://worker.test/run?${query}`);
  const answer = await response.json();
  assert.equal(response.status, 200, `the worker itself failed: ${JSON.stringify(answer)}`);
  return answer.result;
}

/** Asserts that `outcome` (an `attempt` of the worker) rejected with a FaceIdError of `kind`; returns the error. */
function failed(outcome, kind) {
  assert.equal(outcome?.ok, false, `expected a ${kind} rejection, got ${JSON.stringify(outcome)}`);
  const { error } = outcome;
  assert.equal(error.isError, true, 'not an Error');
  assert.equal(error.name, 'FaceIdError');
  assert.equal(error.kind, kind, error.message);
  return error;
}

function succeeded(outcome) {
  assert.equal(outcome?.ok, true, `expected success, got ${JSON.stringify(outcome)}`);
  return outcome.value;
}

describe('token lifecycle inside workerd (wrangler bundle, Miniflare)', () => {
  it('deadline: a 300 ms call against a 3 s server ends with timeout at 300 ms or later, after one request', async () => {
    const accessToken = await issueToken(emu);
    await fault({ mode: 'slow', delayMs: 3000, path: 'nonce' });
    const outcome = await runCase('deadline', { accessToken });
    const error = failed(outcome, 'timeout');
    console.log(`workerd deadline: timeoutMs 300 against a 3 s server settled after ${outcome.elapsed} ms`);
    assert.equal(error.timeoutMs, 300);
    assert.ok(outcome.elapsed >= 300, `settled after ${outcome.elapsed} ms, before its deadline`);
    assert.equal((await counts()).nonce, 1, 'a timeout is not retried');
  });

  it('deadline: a 4 s answer with the default timeout succeeds with one request', async () => {
    const accessToken = await issueToken(emu);
    await fault({ mode: 'slow', delayMs: 4000, path: 'nonce', count: 1 });
    const outcome = await runCase('default-timeout', { accessToken });
    assert.equal(succeeded(outcome).value.length, 64);
    assert.ok(outcome.elapsed >= 3900, `answered after ${outcome.elapsed} ms: the slow fault did not apply`);
    assert.equal((await counts()).nonce, 1);
  });

  it('token requests are never retried, even with retries 5 and a 503', async () => {
    await fault({ mode: 'http_error', status: 503, path: 'access_token', count: 1 });
    const error = failed(await runCase('token-not-retried'), 'http');
    assert.equal(error.status, 503);
    assert.equal((await counts()).access_token, 1);
  });

  it('a failure is remembered: the same error at once, with retry_after_ms, and no request', async () => {
    await fault({ mode: 'api_error', path: 'access_token' });
    const { first, again } = await runCase('failure-memory');
    const firstError = failed(first, 'api');
    assert.ok(firstError.retry_after_ms > 0 && firstError.retry_after_ms <= 1000, `retry_after_ms ${firstError.retry_after_ms}`);
    assert.equal(again.length, 3);
    for (const outcome of again) {
      const error = failed(outcome, 'api');
      for (const key of ['code', 'msg', 'transaction_time']) assert.equal(error[key], firstError[key], key);
      assert.ok(error.retry_after_ms > 9000, `retry_after_ms ${error.retry_after_ms}`);
    }
    assert.deepEqual(await counts(), { access_token: 1, sign: 0, nonce: 0 });
  });

  it('forced refresh keeps the refused token as the fallback; the trigger rejects with the refusal', async () => {
    const { token, state } = await runCase('forced-1');
    assert.equal((await counts()).access_token, 1);
    await fault({
      faults: [
        { mode: 'http_error', status: 503, path: 'access_token' },
        { mode: 'api_error', path: 'nonce', count: 1 },
      ],
    });
    const { refusal, fallback } = await runCase('forced-2', { state });
    const error = failed(refusal, 'api');
    assert.equal(error.code, '500001', 'the ticket request\'s own error, not the mint\'s');
    assert.deepEqual(await counts(), { access_token: 2, sign: 0, nonce: 1 }, 'one failed forced mint');
    assert.equal(succeeded(fallback).value, token.value, 'the refused token is still served');
    assert.equal((await counts()).access_token, 2, 'no mint during the wait');
  });

  describe('arrivals are checked', () => {

    it('a 90-character token is used', async () => {
      const service = await credentialService(90, 'ticket-value');
      try {
        const { token, nonce } = await runCase('arrivals', { endpoint: service.url });
        assert.equal(succeeded(token).value.length, 90);
        assert.equal(succeeded(nonce).value, 'ticket-value');
        assert.equal(service.requests(), 2);
      } finally {
        await service.close();
      }
    });

    it('a 129-character token is bad_response and counted as a failure', async () => {
      const service = await credentialService(129, 'ticket-value');
      try {
        const { token, nonce } = await runCase('arrivals', { endpoint: service.url });
        const error = failed(token, 'bad_response');
        assert.match(error.message, /1-128 visible ASCII/);
        assert.ok(error.retry_after_ms > 0, 'counted as a failure');
        assert.ok(!error.message.includes('T'.repeat(129)));
        assert.equal(nonce, null);
        assert.equal(service.requests(), 1);
      } finally {
        await service.close();
      }
    });
  });

  it('importState refuses a token obtained an hour from now, and a SIGN ticket that outlives its token', async () => {
    const { good, future, outliving } = await runCase('import-state');
    assert.equal(good.ok, true, `the unchanged state was refused: ${JSON.stringify(good)}`);
    for (const outcome of [future, outliving]) {
      assert.equal(outcome.ok, false, `accepted: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.error.kind, 'invalid_argument', outcome.error.message);
      assert.equal(outcome.error.field, 'state');
    }
    assert.deepEqual(await counts(), { access_token: 1, sign: 1, nonce: 0 });
  });

  it('NONCE, SIGN and SDK signature expire with a token of 100 s', async () => {
    await control(emu, 'POST', 'reset', { tokenExpireIn: 100 });
    const { token, nonce, sign, signature } = await runCase('ticket-lifetimes');
    assert.equal(token.expire_in, 100);
    assert.equal(nonce.expire_in, 120);
    assert.equal(sign.expire_in, 3600);
    for (const expiresAt of [nonce.expires_at, sign.expires_at, signature.expires_at]) {
      assert.equal(expiresAt, token.expires_at);
    }
  });

  describe('tokenSource', () => {
    it('sends no token request of its own and reuses the source token', async () => {
      const { tickets, calls } = await runCase('source-reuse');
      for (const outcome of tickets) assert.equal(succeeded(outcome).value.length, 64);
      assert.deepEqual(calls, { token: 1, rejected: 0 });
      assert.deepEqual(await counts(), { access_token: 1, sign: 0, nonce: 3 }, 'the one token request is the source\'s');
    });

    it('asks the source again after a refusal, and retries once with the new token', async () => {
      const { first, expired, second, calls } = await runCase('source-rejected');
      assert.equal(succeeded(first).value.length, 64);
      assert.equal(expired.ok, true, JSON.stringify(expired));
      assert.equal(succeeded(second).value.length, 64);
      assert.deepEqual(calls, { token: 1, rejected: 1 });
      assert.deepEqual(await counts(), { access_token: 2, sign: 0, nonce: 3 }, 'refused once, retried once');
    });
  });
});
