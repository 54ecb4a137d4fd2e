// FaceIdClient, sign() and nonceString() of the installed npm package, imported BY NAME, against
// the in-process FaceID emulator: the caching rules of tests/client.rs, through the JS API.
//
// Token age is simulated by shifting `Date.now` in this process; the emulator runs here too and
// sees the same clock, which is like real time passing. `afterEach` always restores the clock.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, DEFAULT_SECRET, closedPort, control, realNow, rejection, requestCounts, shiftClock,
  withEmulator,
} from './support.mjs';

const KINDS = ['invalid_argument', 'api', 'http', 'network', 'timeout', 'aborted', 'bad_response'];
const CREDENTIAL_KEYS = ['expire_in', 'expires_at', 'value'];
const SDK_KEYS = ['appId', 'expires_at', 'nonce', 'sign', 'userId', 'version'];
const MINUTE_MS = 60_000;
const TOKEN_LIFETIME_S = 7200; // the emulator's default tokenExpireIn

let pkg;
let emu;
withEmulator((started) => ({ pkg, emu } = started));

/** The emulator's request counters of the default app, zeros if it saw none. */
const counts = () => requestCounts(emu);

async function expectCounts(access_token, sign, nonce, message) {
  assert.deepEqual(await counts(), { access_token, sign, nonce }, message);
}

const fault = (body) => control(emu, 'POST', 'fault', body);
const rotate = () => control(emu, 'POST', 'rotate', { appId: DEFAULT_APP_ID });
const expireTokens = () => control(emu, 'POST', 'expire-tokens', { appId: DEFAULT_APP_ID });
const sdkStart = (signature) => control(emu, 'POST', 'sdk-start', {
  appId: signature.appId, userId: signature.userId, version: signature.version,
  nonce: signature.nonce, sign: signature.sign,
});

/**
 * Checks `error` is a FaceIdError of `kind` with `props`, and that none of `secrets` appears in
 * its message, stack, string form or JSON (own properties included). Returns it.
 */
function checkError(error, kind, props = {}, secrets = []) {
  assert.ok(KINDS.includes(kind));
  assert.ok(error instanceof Error, `not an Error: ${inspect(error)}`);
  assert.equal(error.name, 'FaceIdError');
  assert.equal(error.kind, kind, `kind ${error.kind}, expected ${kind}: ${error.message}`);
  for (const [key, value] of Object.entries(props)) assert.equal(error[key], value, `${key} of: ${error.message}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'empty message');
  const views = [
    error.message,
    String(error.stack),
    String(error),
    inspect(error, { showHidden: true, depth: 5 }),
    JSON.stringify(error),
    JSON.stringify(error, Object.getOwnPropertyNames(error)),
  ];
  for (const secret of [DEFAULT_SECRET, ...secrets]) {
    if (typeof secret !== 'string' || secret.length < 8) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      for (const view of views) assert.ok(!view.includes(form), `a credential leaked into: ${view}`);
    }
  }
  return error;
}

/** Awaits the rejection of `promise` and checks it with `checkError`. */
async function expectFailure(promise, kind, props, secrets) {
  return checkError(await rejection(promise), kind, props, secrets);
}

/** Runs `fn`, which must throw synchronously, and checks the error with `checkError`. */
function expectThrow(fn, kind, props, secrets) {
  let thrown;
  assert.throws(() => {
    try {
      fn();
    } catch (error) {
      thrown = error;
      throw error;
    }
  });
  return checkError(thrown, kind, props, secrets);
}

function checkCredential(credential, expireIn, sentAfter, receivedBefore) {
  assert.equal(Object.getPrototypeOf(credential), Object.prototype, 'not a plain object');
  assert.deepEqual(Object.keys(credential).sort(), CREDENTIAL_KEYS);
  assert.equal(typeof credential.value, 'string');
  assert.ok(credential.value.length > 0);
  assert.equal(credential.expire_in, expireIn);
  assert.equal(typeof credential.expires_at, 'number');
  assert.ok(credential.expires_at >= sentAfter + expireIn * 1000, `expires_at ${credential.expires_at} too early`);
  assert.ok(credential.expires_at <= receivedBefore + expireIn * 1000, `expires_at ${credential.expires_at} too late`);
}

/** SHA-1, upper-case hex, of the values sorted by UTF-16 code units: computed here, independently. */
function referenceSign(values) {
  return createHash('sha1').update([...values].sort().join(''), 'utf8').digest('hex').toUpperCase();
}

const describeFlavor = (flavor, body) => describe(`${flavor === 'esm' ? 'ESM import' : 'CommonJS require'} of faceid-edge`, () => {
  let api;
  before(() => {
    api = pkg[flavor];
    assert.equal(typeof api.FaceIdClient, 'function');
  });
  // One attempt per request, so request counts show the caching rules alone; retries are
  // tested in package.test.mjs and tests/retries.test.mjs.
  const baseOptions = (overrides = {}) => ({
    appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url, timeoutMs: 5000, retries: 0, ...overrides,
  });
  const newClient = (overrides) => new api.FaceIdClient(baseOptions(overrides));
  body({ api: () => api, baseOptions, newClient });
});

describeFlavor('esm', ({ api, baseOptions, newClient }) => {
  describe('results', () => {
    it('accessToken, signTicket and nonceTicket resolve to plain objects with the documented keys', async () => {
      const client = newClient();
      const t0 = Date.now();
      const token = await client.accessToken();
      checkCredential(token, TOKEN_LIFETIME_S, t0, Date.now());
      assert.equal(token.value.length, 64);
      const t1 = Date.now();
      const signTicket = await client.signTicket();
      checkCredential(signTicket, 3600, t1, Date.now());
      const t2 = Date.now();
      const nonce = await client.nonceTicket('user_01');
      assert.equal(Object.getPrototypeOf(nonce), Object.prototype);
      assert.deepEqual(Object.keys(nonce).sort(), ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value']);
      assert.equal(nonce.expire_in, 120);
      assert.ok(nonce.expires_at >= t2 + 120_000 && nonce.expires_at <= Date.now() + 120_000);
      assert.match(nonce.expire_time, /^\d{14}$/);
      assert.match(nonce.transaction_time, /^\d{14}$/);
      assert.equal(nonce.value.length, 64);
      await expectCounts(1, 1, 1);
      const log = emu.state.log;
      assert.equal(log[0].path, '/api/oauth2/access_token');
      assert.equal(log[1].query.access_token, token.value, 'the SIGN ticket is fetched with the cached token');
      assert.equal(log[2].query.access_token, token.value, 'the NONCE ticket is fetched with the cached token');
      assert.equal(log[2].query.user_id, 'user_01');
    });
  });

  describe('token caching', () => {
    it('fetches a token only when there is none, then reuses it', async () => {
      const client = newClient();
      await expectCounts(0, 0, 0, 'constructing sends nothing');
      const first = await client.accessToken();
      for (let i = 0; i < 5; i += 1) assert.deepEqual(await client.accessToken(), first);
      await client.signTicket();
      await client.nonceTicket('a');
      await client.nonceTicket('b');
      await expectCounts(1, 1, 2);
    });

    it('refreshes a token older than refreshAfterSeconds, and its SIGN ticket with it', async () => {
      const client = newClient({ refreshAfterSeconds: 0.3 });
      const token = await client.accessToken();
      const sign = await client.signTicket();
      assert.deepEqual(await client.accessToken(), token, 'a young token is reused');
      assert.equal((await client.signTicket()).value, sign.value, 'the SIGN ticket is cached');
      await expectCounts(1, 1, 0);

      await sleep(400);
      const tickets = await Promise.all(Array.from({ length: 200 }, () => client.signTicket()));
      const newToken = await client.accessToken();
      assert.notEqual(newToken.value, token.value);
      // The first caller starts the one refresh and waits for it; the others use the current
      // token, and its SIGN ticket, at once.
      assert.notEqual(tickets[0].value, sign.value, 'a new token means a new SIGN ticket');
      assert.deepEqual(new Set(tickets.slice(1).map((t) => t.value)), new Set([sign.value]));
      assert.equal(emu.state.log.at(-1).query.access_token, newToken.value, 'fetched with the new token');
      await expectCounts(2, 2, 0, '200 callers of a due token: one refresh and one SIGN request');
    });

    it('the default refreshAfterSeconds is 1200', async () => {
      const client = newClient();
      const token = await client.accessToken();
      shiftClock(1199 * 1000);
      assert.equal((await client.accessToken()).value, token.value, 'a token of 1199 s is reused');
      await expectCounts(1, 0, 0);
      shiftClock(1201 * 1000);
      assert.notEqual((await client.accessToken()).value, token.value, 'a token of 1201 s is replaced');
      await expectCounts(2, 0, 0);
    });

    it('refreshes a token expiring within 60 s even when it is young', async () => {
      // refreshAfterSeconds at its maximum, so only the expiry margin can trigger the refresh.
      const client = newClient({ refreshAfterSeconds: 86400 });
      const token = await client.accessToken();
      shiftClock(token.expires_at - 61_000 - realNow());
      assert.equal((await client.accessToken()).value, token.value, '61 s left: kept');
      await expectCounts(1, 0, 0);
      shiftClock(token.expires_at - 59_000 - realNow());
      const refreshed = await client.accessToken();
      assert.notEqual(refreshed.value, token.value, '59 s left: replaced');
      await expectCounts(2, 0, 0);
    });

    it('accepts refreshAfterSeconds 0.5 and refreshes after it', async () => {
      const client = newClient({ refreshAfterSeconds: 0.5 });
      const token = await client.accessToken();
      await sleep(200);
      assert.equal((await client.accessToken()).value, token.value, 'reused at 0.2 s');
      await sleep(400);
      assert.notEqual((await client.accessToken()).value, token.value, 'replaced at 0.6 s');
      await expectCounts(2, 0, 0);
    });
  });

  describe('single-flight', () => {
    it('1000 simultaneous signTicket() on a cold client: 1 token request, 1 SIGN request', async () => {
      const client = newClient();
      const tickets = await Promise.all(Array.from({ length: 1000 }, () => client.signTicket()));
      const c = await counts();
      console.log(`single-flight signTicket x1000: access_token=${c.access_token} sign=${c.sign}`);
      assert.equal(new Set(tickets.map((t) => t.value)).size, 1);
      assert.deepEqual(c, { access_token: 1, sign: 1, nonce: 0 });
    });

    it('1000 simultaneous nonceTicket() on a cold client: 1 token request, 1000 distinct NONCE tickets', async () => {
      const client = newClient();
      const tickets = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.nonceTicket(`user_${i}`)));
      const c = await counts();
      console.log(`single-flight nonceTicket x1000: access_token=${c.access_token} nonce=${c.nonce}`);
      assert.equal(new Set(tickets.map((t) => t.value)).size, 1000, 'NONCE tickets are never shared');
      assert.deepEqual(c, { access_token: 1, sign: 0, nonce: 1000 });
    });

    it('1000 simultaneous accessToken() on a cold client: 1 token request', async () => {
      const client = newClient();
      const tokens = await Promise.all(Array.from({ length: 1000 }, () => client.accessToken()));
      assert.equal(new Set(tokens.map((t) => t.value)).size, 1);
      await expectCounts(1, 0, 0);
    });

    it('a failed token request fails every waiter once; the next asks again only after the wait', async () => {
      const client = newClient();
      await fault({ mode: 'http_error', status: 503, path: 'access_token', count: 1 });
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => client.signTicket()));
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        checkError(result.reason, 'http', { status: 503 });
        assert.ok(result.reason.retry_after_ms > 0 && result.reason.retry_after_ms <= 1000);
      }
      await expectCounts(1, 0, 0, 'the 50 callers shared one failed request');
      // Held back inside the wait (0.5-1 s after one failure): the failure again, at once.
      shiftClock(-10_000);
      const again = await expectFailure(client.signTicket(), 'http', { status: 503 });
      assert.ok(again.retry_after_ms > 9000, `retry_after_ms ${again.retry_after_ms}`);
      await expectCounts(1, 0, 0, 'no token request during the wait');
      shiftClock(1000);
      await client.signTicket();
      await expectCounts(2, 1, 0);
    });
  });

  describe('SIGN and NONCE tickets', () => {
    it('the SIGN ticket is cached with its token', async () => {
      const client = newClient();
      const first = await client.signTicket();
      for (let i = 0; i < 5; i += 1) assert.deepEqual(await client.signTicket(), first);
      await expectCounts(1, 1, 0);
    });

    it('NONCE tickets are never cached, not even for the same user', async () => {
      const client = newClient();
      const a = await client.nonceTicket('same_user');
      const b = await client.nonceTicket('same_user');
      const c = await client.nonceTicket('same_user');
      assert.equal(new Set([a.value, b.value, c.value]).size, 3);
      await expectCounts(1, 0, 3);
    });
  });

  describe('sdkSignature', () => {
    it('signs a fresh NONCE ticket and nonce; the emulator accepts it once', async () => {
      // A NONCE lifetime other than the default, so expires_at must come from the ticket.
      await control(emu, 'POST', 'reset', { nonceExpireIn: 90 });
      const client = newClient();
      const t0 = Date.now();
      const signature = await client.sdkSignature('carol_7');
      const t1 = Date.now();
      assert.equal(Object.getPrototypeOf(signature), Object.prototype);
      assert.deepEqual(Object.keys(signature).sort(), SDK_KEYS);
      assert.equal(signature.appId, DEFAULT_APP_ID);
      assert.equal(signature.userId, 'carol_7');
      assert.equal(signature.version, '1.0.0');
      assert.match(signature.nonce, /^[A-Za-z0-9]{32}$/);
      assert.match(signature.sign, /^[0-9A-F]{40}$/);
      assert.ok(signature.expires_at >= t0 + 90_000 && signature.expires_at <= t1 + 90_000,
        `expires_at ${signature.expires_at} is not the NONCE ticket's (sent in [${t0}, ${t1}], 90 s)`);
      await expectCounts(1, 0, 1, 'one fresh NONCE request');
      assert.equal(emu.state.log.at(-1).query.user_id, 'carol_7');

      assert.equal((await sdkStart(signature)).code, '0', 'the signature starts the SDK');
      const second = await sdkStart(signature);
      assert.notEqual(second.code, '0', 'a NONCE ticket starts the SDK only once');
      assert.equal(second.code, '400402');

      const other = await client.sdkSignature('carol_7');
      assert.notEqual(other.nonce, signature.nonce, 'a fresh nonce each time');
      assert.notEqual(other.sign, signature.sign);
      await expectCounts(1, 0, 2, 'a fresh NONCE ticket each time');
      assert.equal((await sdkStart(other)).code, '0');
    });

    it('a tampered signature is refused by the emulator (the check can fail)', async () => {
      const client = newClient();
      const signature = await client.sdkSignature('dave');
      assert.equal((await sdkStart({ ...signature, nonce: signature.nonce.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) })).code, '400401');
      assert.equal((await sdkStart({ ...signature, userId: 'eve' })).code, '400401');
      assert.equal((await sdkStart(signature)).code, '0');
    });

    it('uses the configured version in the request and the signature', async () => {
      const client = newClient({ version: '2.1.0-beta_3' });
      const signature = await client.sdkSignature('frank');
      assert.equal(signature.version, '2.1.0-beta_3');
      assert.equal(emu.state.log.at(-1).query.version, '2.1.0-beta_3');
      assert.equal((await sdkStart(signature)).code, '0');
    });

    it('an invalid userId rejects invalid_argument and sends nothing', async () => {
      const client = newClient();
      for (const bad of ['', 'a'.repeat(31), 'a b', 123, undefined]) {
        await expectFailure(client.sdkSignature(bad), 'invalid_argument', { field: 'userId' });
      }
      assert.equal(emu.state.log.length, 0);
    });
  });

  describe('forced refresh of a refused token', () => {
    it('a token rotated elsewhere (> 60 s old) is replaced once and the request retried', async () => {
      await control(emu, 'POST', 'reset', { tokenOverlapMs: 50 });
      const client = newClient();
      const old = await client.accessToken();
      await rotate();
      await sleep(100);
      shiftClock(MINUTE_MS + 1000);
      const ticket = await client.nonceTicket('alice');
      const token = await client.accessToken();
      const c = await counts();
      console.log(`rotation + nonceTicket: access_token=${c.access_token} nonce=${c.nonce}`);
      assert.equal(ticket.value.length, 64);
      assert.notEqual(token.value, old.value);
      // Our first token; the refused NONCE request; the forced refresh; the retry.
      assert.deepEqual(c, { access_token: 2, sign: 0, nonce: 2 });
      const log = emu.state.log;
      assert.equal(log.at(-2).path, '/api/oauth2/access_token', 'the refresh came right before the retry');
      assert.equal(log.at(-1).query.access_token, token.value, 'the retry used the new token');
    });

    it('a token under 60 s old refused by the service is not replaced', async () => {
      const client = newClient();
      const token = await client.accessToken();
      await expireTokens();
      await expectFailure(client.nonceTicket('alice'), 'api', { code: '400202' }, [token.value]);
      await expectCounts(1, 0, 1, 'no forced refresh for a token under a minute old');
      await expectFailure(client.signTicket(), 'api', { code: '400202' }, [token.value]);
      await expectCounts(1, 1, 1);
      assert.equal((await client.accessToken()).value, token.value, 'the young token is still the one served');
      await expectCounts(1, 1, 1);
    });

    it('at most one forced refresh per minute: a second refused request gives up', async () => {
      const client = newClient();
      await client.accessToken();
      shiftClock(MINUTE_MS + 1000);
      await fault({ mode: 'api_error', path: 'api_ticket' });
      await expectFailure(client.signTicket(), 'api', { code: '500001' });
      const first = await counts();
      console.log(`rate limit, first refused signTicket: access_token=${first.access_token} sign=${first.sign}`);
      assert.deepEqual(first, { access_token: 2, sign: 2, nonce: 0 }, 'one forced refresh, one retry');
      // Held back inside the SIGN request's wait: the refusal again, at once, and no request.
      shiftClock(MINUTE_MS + 1000 - 10_000);
      for (let i = 0; i < 5; i += 1) {
        const again = await expectFailure(client.signTicket(), 'api', { code: '500001' });
        assert.ok(again.retry_after_ms > 0, 'a remembered failure says when it ends');
      }
      await expectCounts(2, 2, 0, 'SIGN requests wait out a failure');
      // After the wait: asked again, and no forced refresh of the young replacement.
      shiftClock(MINUTE_MS + 1000 + 10_000);
      await expectFailure(client.signTicket(), 'api', { code: '500001' });
      const c = await counts();
      console.log(`rate limit, one more after the wait: access_token=${c.access_token} sign=${c.sign}`);
      assert.deepEqual(c, { access_token: 2, sign: 3, nonce: 0 }, 'no forced refresh within the minute');
    });

    it('the once-a-minute limit holds on its own, for an old token (timing resumed via exportState)', async () => {
      // The clock alone cannot make a token over a minute old whose client forced a refresh less
      // than a minute ago (the forced refresh mints the token). The exported state carries that
      // timing: mark a forced refresh 30 s before "now" and resume from it.
      const first = newClient();
      await first.accessToken();
      const state = JSON.parse(first.exportState());
      assert.ok('last_forced_refresh' in state, `no last_forced_refresh in ${Object.keys(state)}`);
      shiftClock(MINUTE_MS + 1000);
      state.last_forced_refresh = Date.now() - 30_000;
      const resumed = api().FaceIdClient.importState(baseOptions(), JSON.stringify(state));
      await fault({ mode: 'api_error', path: 'api_ticket' });
      await expectFailure(resumed.signTicket(), 'api', { code: '500001' });
      await expectCounts(1, 1, 0, 'a forced refresh 30 s ago forbids another');

      // Control: the same old token, no forced refresh in the last minute: one is made.
      state.last_forced_refresh = Date.now() - 61_000;
      const allowed = api().FaceIdClient.importState(baseOptions(), JSON.stringify(state));
      await expectFailure(allowed.signTicket(), 'api', { code: '500001' });
      await expectCounts(2, 3, 0);
    });

    it('tokenRejected replaces a token only when it is over a minute old, once a minute', async () => {
      const client = newClient();
      const token = await client.accessToken();
      assert.deepEqual(await client.tokenRejected(token.value), token, 'a token under a minute old is kept');
      assert.deepEqual(await client.tokenRejected('some-older-token'), token, 'an unknown token changes nothing');
      await expectCounts(1, 0, 0);

      shiftClock(MINUTE_MS + 1000);
      const replaced = await client.tokenRejected(token.value);
      const again = await client.tokenRejected(replaced.value);
      assert.notEqual(replaced.value, token.value);
      assert.deepEqual(again, replaced, 'one forced refresh a minute');
      assert.deepEqual(await client.accessToken(), replaced);
      await expectCounts(2, 0, 0);
      // The old token was dropped with its SIGN ticket: a SIGN request with the new token.
      await client.signTicket();
      assert.equal(emu.state.log.at(-1).query.access_token, replaced.value);
    });

    it('tokenRejected with a non-string rejects invalid_argument', async () => {
      const client = newClient();
      for (const bad of [undefined, null, 42, {}]) {
        await expectFailure(client.tokenRejected(bad), 'invalid_argument', { field: 'token' });
      }
      assert.equal(emu.state.log.length, 0);
    });
  });

  describe('a failed scheduled refresh', () => {
    it('keeps serving the valid token, asks once per wait, and fails only once it expired', async () => {
      const client = newClient();
      const token = await client.accessToken();
      await fault({ mode: 'http_error', status: 503, path: 'access_token' });
      // Due, and each refresh fails. Every step jumps past the previous wait (at most 32 s after
      // six failures): each asks once and keeps serving the valid token.
      let offset = 20 * MINUTE_MS;
      for (let failures = 1; failures <= 7; failures += 1) {
        offset += MINUTE_MS + 1000;
        shiftClock(offset);
        assert.equal((await client.accessToken()).value, token.value);
        await expectCounts(1 + failures, 0, 0);
        assert.ok(client.nextRefreshAt() > Date.now(), 'the next refresh waits for the end of the wait');
      }
      // Inside a wait of at least 30 s now: callers use the valid token without a request.
      const ticket = await client.nonceTicket('bob');
      assert.equal(emu.state.log.at(-1).query.access_token, token.value);
      assert.equal(ticket.value.length, 64);
      assert.equal((await client.accessToken()).value, token.value);
      await expectCounts(8, 0, 1, 'no token request during the wait');
      assert.ok(client.nextRefreshAt() >= Date.now() + 29_000, 'the owner is told when to try again');

      // Expired (its emulator copy too): the next call asks and fails, the one after fails at once.
      offset = token.expires_at - realNow() + 1;
      shiftClock(offset);
      const failed = await expectFailure(client.accessToken(), 'http', { status: 503 }, [token.value]);
      assert.ok(failed.retry_after_ms >= 29_000, `retry_after_ms ${failed.retry_after_ms}`);
      await expectFailure(client.signTicket(), 'http', { status: 503 }, [token.value]);
      await expectCounts(9, 0, 1, 'no request with the expired token, none during the wait');

      await control(emu, 'DELETE', 'fault');
      shiftClock(offset + MINUTE_MS + 1000);
      const fresh = await client.accessToken();
      assert.notEqual(fresh.value, token.value);
      await expectCounts(10, 0, 1);
    });
  });

  describe('exportState / importState', () => {
    it('carries token and SIGN ticket without the secret; a resumed client makes no token request', async () => {
      const first = newClient();
      const token = await first.accessToken();
      const sign = await first.signTicket();
      const state = first.exportState();
      assert.equal(typeof state, 'string');
      assert.doesNotThrow(() => JSON.parse(state), 'the state is JSON');
      assert.ok(!state.includes(DEFAULT_SECRET), 'the secret is in the state');
      assert.ok(state.includes(token.value) && state.includes(sign.value), 'the state lacks the token or the SIGN ticket');

      const resumed = api().FaceIdClient.importState(baseOptions(), state);
      assert.ok(resumed instanceof api().FaceIdClient);
      assert.deepEqual(await resumed.accessToken(), token);
      assert.deepEqual(await resumed.signTicket(), sign);
      await resumed.nonceTicket('gina');
      await expectCounts(1, 1, 1, 'the resumed client made no token or SIGN request');
      assert.equal(emu.state.log.at(-1).query.access_token, token.value);
      assert.ok(!resumed.exportState().includes(DEFAULT_SECRET));
      assert.ok(!newClient().exportState().includes(DEFAULT_SECRET));
    });

    it('a resumed client keeps the timing: an old token is still refreshed', async () => {
      const first = newClient({ refreshAfterSeconds: 0.3 });
      const token = await first.accessToken();
      const state = first.exportState();
      await sleep(400);
      const resumed = api().FaceIdClient.importState(baseOptions({ refreshAfterSeconds: 0.3 }), state);
      assert.notEqual((await resumed.accessToken()).value, token.value);
      await expectCounts(2, 0, 0);
    });

    it('the state of a cold client resumes as a cold client', async () => {
      const resumed = api().FaceIdClient.importState(baseOptions(), newClient().exportState());
      await resumed.signTicket();
      await expectCounts(1, 1, 0);
    });

    it('refuses another appId, a non-string and garbage with invalid_argument (field "state")', async () => {
      const first = newClient();
      const token = await first.accessToken();
      const sign = await first.signTicket();
      const state = first.exportState();
      const secrets = [token.value, sign.value];
      const { FaceIdClient } = api();
      expectThrow(() => FaceIdClient.importState(baseOptions({ appId: 'IDAOTHER' }), state),
        'invalid_argument', { field: 'state' }, secrets);
      for (const bad of [undefined, null, 42, {}, [state], Buffer.from(state)]) {
        expectThrow(() => FaceIdClient.importState(baseOptions(), bad), 'invalid_argument', { field: 'state' }, secrets);
      }
      for (const garbage of ['', 'not json', '{}', '[]', 'null', '"state"', state.slice(0, -1), `${state}x`]) {
        expectThrow(() => FaceIdClient.importState(baseOptions(), garbage), 'invalid_argument', { field: 'state' }, secrets);
      }
      // The options are checked as by the constructor.
      expectThrow(() => FaceIdClient.importState(baseOptions({ secret: '' }), state), 'invalid_argument', { field: 'secret' }, secrets);
      await expectCounts(1, 1, 0);
    });
  });

  describe('constructor options', () => {
    const invalid = {
      appId: ['', 'IDAXXXXX9', 'IDA-XXXX', 'IDA XXXX', 42, null],
      secret: ['', 's'.repeat(65), 'has space', 'caf\u00e9', 42],
      endpoint: ['', 'not a url', 'ftp://127.0.0.1', 'http://example.com', 42],
      version: ['', '1'.repeat(21), '1.0 0', '1/0', 1],
      timeoutMs: [0, -1, 1.5, 120001, NaN, Infinity, '1000'],
      refreshAfterSeconds: [0, -1, NaN, '10', 86401, Infinity, -0.5],
    };
    for (const [field, values] of Object.entries(invalid)) {
      it(`an invalid ${field} throws invalid_argument with field "${field}"`, () => {
        for (const value of values) {
          const error = expectThrow(() => newClient({ [field]: value }), 'invalid_argument', { field },
            typeof value === 'string' ? [value] : []);
          assert.ok(error.message.includes(field), error.message);
        }
      });
    }

    it('a missing appId or secret throws with its field', () => {
      const { FaceIdClient } = api();
      expectThrow(() => new FaceIdClient({ secret: DEFAULT_SECRET }), 'invalid_argument', { field: 'appId' });
      expectThrow(() => new FaceIdClient({ appId: DEFAULT_APP_ID }), 'invalid_argument', { field: 'secret' });
    });

    it('options that are not an object throw invalid_argument', () => {
      const { FaceIdClient } = api();
      for (const bad of [undefined, null, 'IDAEMU01', 42]) expectThrow(() => new FaceIdClient(bad), 'invalid_argument');
    });

    it('accepts the boundary values', async () => {
      for (const overrides of [
        { refreshAfterSeconds: 0.5 }, { refreshAfterSeconds: 86400 }, { refreshAfterSeconds: 0.001 },
        { timeoutMs: 1 }, { timeoutMs: 120000 }, { version: '1'.repeat(20) }, { version: 'v.1_2-3' },
        { appId: 'I' }, { appId: '12345678' }, { secret: '!'.repeat(64) }, { endpoint: `${emu.url}/` },
      ]) {
        assert.ok(newClient(overrides) instanceof api().FaceIdClient, JSON.stringify(overrides));
      }
      // Defaults: endpoint, version, timeout, refresh; the client works with them filled in.
      assert.ok(new (api().FaceIdClient)({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET }));
      const client = newClient({ refreshAfterSeconds: 0.5 });
      await client.signTicket();
      await expectCounts(1, 1, 0);
    });
  });

  describe('nonceTicket arguments', () => {
    it('an invalid or non-string userId rejects invalid_argument and sends no request', async () => {
      const client = newClient();
      for (const bad of ['', 'a'.repeat(31), 'a b', 'caf\u00e9', 'a/b', 'a\u0000', 123, null, undefined, {}, ['a']]) {
        await expectFailure(client.nonceTicket(bad), 'invalid_argument', { field: 'userId' });
      }
      await sleep(15);
      assert.equal(emu.state.log.length, 0, 'a request reached the emulator (not even a token request is allowed)');
      // A warm client too.
      await client.accessToken();
      await expectFailure(client.nonceTicket('x'.repeat(31)), 'invalid_argument', { field: 'userId' });
      await expectCounts(1, 0, 0);
    });

    it('accepts userIds of 1 and 30 characters of [A-Za-z0-9_-]', async () => {
      const client = newClient();
      for (const userId of ['Z', 'a'.repeat(30), 'A-z_0-9']) {
        await client.nonceTicket(userId);
        assert.equal(emu.state.log.at(-1).query.user_id, userId);
      }
    });

    it('an already aborted signal rejects aborted', async () => {
      const client = newClient();
      await expectFailure(client.nonceTicket('alice', { signal: AbortSignal.abort() }), 'aborted');
      await client.accessToken();
      const controller = new AbortController();
      controller.abort();
      await expectFailure(client.nonceTicket('alice', { signal: controller.signal }), 'aborted');
      const c = await counts();
      assert.equal(c.nonce, 0, 'no NONCE request with an aborted signal');
    });

    it('aborting while the ticket request runs rejects aborted, quickly', async () => {
      const client = newClient();
      await client.accessToken();
      await fault({ mode: 'slow', delayMs: 3000, path: 'api_ticket', count: 1 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const started = realNow();
      await expectFailure(client.nonceTicket('alice', { signal: controller.signal }), 'aborted');
      assert.ok(realNow() - started < 1500, `took ${realNow() - started} ms`);
      const ticket = await client.nonceTicket('alice');
      assert.equal(ticket.value.length, 64, 'the client works afterwards');
    });

    it('aborting while waiting for the token rejects aborted; the token request goes on for others', async () => {
      const client = newClient();
      await fault({ mode: 'slow', delayMs: 600, path: 'access_token', count: 1 });
      const controller = new AbortController();
      const waiting = client.accessToken();
      setTimeout(() => controller.abort(), 50);
      const started = realNow();
      await expectFailure(client.nonceTicket('alice', { signal: controller.signal }), 'aborted');
      assert.ok(realNow() - started < 500, `took ${realNow() - started} ms`);
      const token = await waiting;
      assert.equal(token.value.length, 64);
      await client.nonceTicket('alice');
      await expectCounts(1, 0, 1, 'one token request, no NONCE request for the aborted call');
    });

    it('a signal that is not an AbortSignal rejects invalid_argument', async () => {
      const client = newClient();
      await expectFailure(client.nonceTicket('alice', { signal: 'stop' }), 'invalid_argument', { field: 'signal' });
      assert.equal(emu.state.log.length, 0);
    });
  });

  describe('errors never reveal credentials', () => {
    it('a wrong secret: api error without the secret', async () => {
      const wrong = 'wrong-secret-that-must-not-leak';
      const client = newClient({ secret: wrong });
      await expectFailure(client.accessToken(), 'api', { code: '400103' }, [wrong]);
      await expectFailure(client.signTicket(), 'api', { code: '400103' }, [wrong]);
      await expectFailure(client.nonceTicket('alice'), 'api', { code: '400103' }, [wrong]);
      await expectFailure(client.sdkSignature('alice'), 'api', { code: '400103' }, [wrong]);
      assert.ok(!client.exportState().includes(wrong));
      assert.ok(!inspect(client, { showHidden: true, depth: 5 }).includes(wrong));
      assert.ok(!JSON.stringify(client).includes(wrong));
    });

    it('an unreachable endpoint: network error without the secret', async () => {
      const wrong = 'another-secret-that-must-not-leak';
      const port = await closedPort();
      const client = newClient({ endpoint: `http://127.0.0.1:${port}`, secret: wrong });
      await expectFailure(client.signTicket(), 'network', {}, [wrong]);
      await expectFailure(client.accessToken(), 'network', {}, [wrong]);
    });

    it('failing ticket requests: no access token or SIGN ticket in the error', async () => {
      const client = newClient();
      const token = await client.accessToken();
      const sign = await client.signTicket();
      const secrets = [token.value, sign.value];
      await fault({ mode: 'drop', path: 'api_ticket', count: 1 });
      await expectFailure(client.nonceTicket('alice'), 'network', {}, secrets);
      await fault({ mode: 'invalid_json', path: 'api_ticket', count: 1 });
      await expectFailure(client.nonceTicket('alice'), 'bad_response', {}, secrets);
      await fault({ mode: 'http_error', status: 502, path: 'api_ticket', count: 1 });
      await expectFailure(client.nonceTicket('alice'), 'http', { status: 502 }, secrets);
      await fault({ mode: 'slow', delayMs: 3000, path: 'api_ticket', count: 1 });
      const quick = api().FaceIdClient.importState(baseOptions({ timeoutMs: 100 }), client.exportState());
      await expectFailure(quick.nonceTicket('alice'), 'timeout', { timeoutMs: 100 }, secrets);
      await expireTokens();
      await expectFailure(client.nonceTicket('alice'), 'api', { code: '400202' }, secrets);
      await expectFailure(client.sdkSignature('alice'), 'api', { code: '400202' }, secrets);
    });

    it('failing token requests: no secret in the error', async () => {
      // A client each: a failed token request makes a client wait before it asks again.
      for (const mode of ['invalid_json', 'empty_tickets', 'no_value', 'bad_expire_in', 'html']) {
        await fault({ mode, path: 'access_token', count: 1 });
        await expectFailure(newClient().accessToken(), 'bad_response', {}, [DEFAULT_SECRET]);
      }
      await fault({ mode: 'drop', path: 'access_token', count: 1 });
      await expectFailure(newClient().accessToken(), 'network', {}, [DEFAULT_SECRET]);
    });

    it('a bad secret given to the constructor is not echoed', () => {
      for (const secret of ['this secret has spaces in it', `${'k'.repeat(64)}X`, 'secret-with-\u00fcmlaut']) {
        expectThrow(() => newClient({ secret }), 'invalid_argument', { field: 'secret' }, [secret]);
      }
    });
  });

  describe('sign()', () => {
    it('matches the documented vectors', () => {
      const { sign } = api();
      assert.equal(sign(['IDAXXXXX', 'userID19959248596551', 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T', '1.0.0',
        'XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS']), 'D7606F1741DDCF90757DA924EDCF152A200AC7F0');
      assert.equal(sign(['appId001', 'aabc1457895464', 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T', '1.0.0',
        'FxlAe3HFtEy73Um0pJNzIUriwtfnS3KRcPXiesd5ulS4XRAIcT0FbfaP52dwZf5S']), '993D057C652D97FD90D5D298F2E5DC4B8D893CBC');
      assert.equal(sign(['appId001', '19959248596551', 'testName', '4300000000000', '19959248596551', '1.0.0',
        'duSz9ptwyW1Xn7r6gYItxz3feMdJ8Na5x7JZuoxurE7RcI5TdwCE4KT2eEeNNDoe']), '11670F8BD6181CF71FB4656534253A0627D835CF');
      assert.equal(sign([]), 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709');
    });

    it('sorts by UTF-16 code units, keeps duplicates, hashes UTF-8', () => {
      const { sign } = api();
      // U+FF61 sorts after U+1F600 by UTF-16 code units (0xFF61 > 0xD83D), before it by code points.
      const values = ['\uff61', '\u{1f600}', 'a', 'B', 'b', 'a'];
      assert.equal(sign(values), referenceSign(values));
      const utf16Order = createHash('sha1').update('Baab\u{1f600}\uff61', 'utf8').digest('hex').toUpperCase();
      assert.equal(sign(values), utf16Order);
      assert.notEqual(sign(['a', 'a']), sign(['a']), 'duplicates are kept');
      assert.equal(sign(['b', 'a']), sign(['a', 'b']), 'order of the input does not matter');
      assert.match(sign(['x']), /^[0-9A-F]{40}$/);
    });

    it('agrees with an independent implementation on random inputs', () => {
      const { sign } = api();
      const pool = ['a', 'Z', '0', '_', '-', '.', '\u00e9', '\u4e2d', '\uff61', '\u{1f600}', '\u{10437}', ' '];
      for (let i = 0; i < 300; i += 1) {
        const values = Array.from({ length: 1 + (i % 7) }, (_, j) => Array.from(
          { length: (i * 7 + j * 3) % 6 }, (_, k) => pool[(i * 31 + j * 17 + k * 13) % pool.length],
        ).join(''));
        assert.equal(sign(values), referenceSign(values), JSON.stringify(values));
      }
    });

    it('throws invalid_argument for anything but an array of strings', () => {
      const { sign } = api();
      for (const bad of [undefined, null, 'abc', 42, { 0: 'a', length: 1 }, ['a', 1], [null]]) {
        expectThrow(() => sign(bad), 'invalid_argument', { field: 'values' });
      }
    });
  });

  describe('nonceString()', () => {
    it('returns 32 letters and digits, different every time', () => {
      const { nonceString } = api();
      const seen = new Set();
      for (let i = 0; i < 1000; i += 1) {
        const nonce = nonceString();
        assert.match(nonce, /^[A-Za-z0-9]{32}$/);
        seen.add(nonce);
      }
      assert.equal(seen.size, 1000);
    });

    it('draws from crypto.getRandomValues', () => {
      const { nonceString } = api();
      let calls = 0;
      Object.defineProperty(globalThis.crypto, 'getRandomValues', {
        configurable: true,
        writable: true,
        value: (array) => { calls += 1; array.fill(7); return array; },
      });
      try {
        const a = nonceString();
        const b = nonceString();
        assert.ok(calls >= 2, `getRandomValues called ${calls} times`);
        assert.match(a, /^[A-Za-z0-9]{32}$/);
        assert.equal(a, b, 'with the same random bytes, the same nonce: no other source of randomness');
        assert.equal(new Set(a).size, 1, 'constant random bytes give a constant nonce');
      } finally {
        delete globalThis.crypto.getRandomValues;
      }
      assert.notEqual(nonceString(), nonceString(), 'the real source is back');
    });

    it('on a platform without crypto.getRandomValues, throws a network error with what the platform threw as its cause', () => {
      const { nonceString } = api();
      const missing = new TypeError('crypto.getRandomValues is not a function');
      Object.defineProperty(globalThis.crypto, 'getRandomValues', {
        configurable: true,
        writable: true,
        value: () => { throw missing; },
      });
      try {
        const error = expectThrow(() => nonceString(), 'network', { detail: 'this platform has no crypto.getRandomValues' });
        assert.equal(error.cause, missing);
      } finally {
        delete globalThis.crypto.getRandomValues;
      }
    });
  });
});

describeFlavor('cjs', ({ api, newClient }) => {
  describe('smoke', () => {
    it('constructs, and rejects bad options with a FaceIdError', () => {
      assert.ok(newClient() instanceof api().FaceIdClient);
      expectThrow(() => newClient({ refreshAfterSeconds: 0 }), 'invalid_argument', { field: 'refreshAfterSeconds' });
      assert.equal(typeof api().sign, 'function');
      assert.equal(typeof api().nonceString, 'function');
    });

    it('100 simultaneous signTicket() on a cold client: 1 token request, 1 SIGN request', async () => {
      const client = newClient();
      const tickets = await Promise.all(Array.from({ length: 100 }, () => client.signTicket()));
      const c = await counts();
      console.log(`cjs single-flight signTicket x100: access_token=${c.access_token} sign=${c.sign}`);
      assert.equal(new Set(tickets.map((t) => t.value)).size, 1);
      assert.deepEqual(c, { access_token: 1, sign: 1, nonce: 0 });
    });

    it('sdkSignature is accepted once by the emulator', async () => {
      const client = newClient();
      const signature = await client.sdkSignature('cjs_user');
      assert.deepEqual(Object.keys(signature).sort(), SDK_KEYS);
      assert.equal((await sdkStart(signature)).code, '0');
      assert.notEqual((await sdkStart(signature)).code, '0');
      await expectCounts(1, 0, 1);
    });
  });
});
