// The token lifecycle under failure, through the installed package (imported BY NAME) against the
// in-process FaceID emulator and small local servers: deadlines, no retried mints, the failure
// memory, a due token, the forced refresh's fallback, checked arrivals, importState's rules,
// ticket lifetimes within their token, and clients that take their token from a TokenSource.
//
// No assertion depends on how fast this machine is: a wait that must hold is held by moving
// `Date.now` back (the emulator runs here and sees the same clock), never by racing a timer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, DEFAULT_SECRET, control, credentialService, issueToken, realNow, rejection, requestCounts, shiftClock,
  withEmulator,
} from './support.mjs';

const MINUTE_MS = 60_000;

let api;
let emu;
withEmulator((started) => ({ emu, pkg: { esm: api } } = started));

const counts = () => requestCounts(emu);

const fault = (body) => control(emu, 'POST', 'fault', body);
const newClient = (overrides = {}) => new api.FaceIdClient({
  appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url, ...overrides,
});
const nonceOptions = async (overrides = {}) => ({
  appId: DEFAULT_APP_ID, accessToken: await issueToken(emu), userId: 'lifecycle_user', endpoint: emu.url, ...overrides,
});

async function failure(promise, kind) {
  const error = await rejection(promise);
  assert.equal(error?.name, 'FaceIdError', String(error));
  assert.equal(error.kind, kind, error.message);
  return error;
}

describe('deadlines: timeoutMs bounds the whole call', () => {
  it('a 300 ms call against a 3 s server ends with timeout at 300 ms or later, after one request', async () => {
    const options = await nonceOptions({ timeoutMs: 300, retries: 5 });
    await fault({ mode: 'slow', delayMs: 3000, path: 'nonce' });
    const before = (await counts()).nonce;
    const started = performance.now();
    const error = await failure(api.fetchNonceTicket(options), 'timeout');
    const took = performance.now() - started;
    console.log(`deadline: timeoutMs 300 against a 3 s server settled after ${took.toFixed(1)} ms`);
    assert.equal(error.timeoutMs, 300);
    assert.ok(took >= 300, `settled after ${took} ms, before its deadline`);
    assert.equal((await counts()).nonce - before, 1, 'a timeout is not retried');
  });

  it('a 4 s answer with the default timeout succeeds with one request', async () => {
    const options = await nonceOptions();
    await fault({ mode: 'slow', delayMs: 4000, path: 'nonce', count: 1 });
    const started = performance.now();
    const ticket = await api.fetchNonceTicket(options);
    const took = performance.now() - started;
    console.log(`deadline: a 4 s answer with the default timeoutMs arrived after ${took.toFixed(0)} ms`);
    assert.equal(ticket.value.length, 64);
    assert.equal((await counts()).nonce, 1);
  });

  it('quick failures are retried, HTTP 500 is not', async () => {
    const options = await nonceOptions({ retries: 2 });
    for (const status of [429, 502, 503, 504]) {
      await fault({ mode: 'http_error', status, path: 'nonce', count: 2 });
      const before = (await counts()).nonce;
      assert.equal((await api.fetchNonceTicket(options)).value.length, 64, `after ${status}`);
      assert.equal((await counts()).nonce - before, 3, `${status}: two retries`);
    }
    await fault({ mode: 'http_error', status: 500, path: 'nonce', count: 1 });
    const before = (await counts()).nonce;
    assert.equal((await failure(api.fetchNonceTicket(options), 'http')).status, 500);
    assert.equal((await counts()).nonce - before, 1);
  });

  it('a Retry-After in seconds is waited for when it fits, and ends the call when it does not', async () => {
    const options = await nonceOptions({ retries: 2 });
    await fault({ mode: 'http_error', status: 503, retryAfter: 1, path: 'nonce', count: 1 });
    const started = performance.now();
    await api.fetchNonceTicket(options);
    assert.ok(performance.now() - started >= 1000, 'retried before Retry-After');
    await fault({ mode: 'http_error', status: 503, retryAfter: 60, path: 'nonce', count: 1 });
    const before = (await counts()).nonce;
    assert.equal((await failure(api.fetchNonceTicket(options), 'http')).status, 503);
    assert.equal((await counts()).nonce - before, 1, 'no retry that the deadline cannot hold');
  });
});

describe('token requests', () => {
  it('are never retried: every one that arrives mints a token', async () => {
    const client = newClient({ retries: 5 });
    await fault({ mode: 'http_error', status: 503, path: 'access_token', count: 1 });
    await failure(client.accessToken(), 'http');
    assert.equal((await counts()).access_token, 1);
    // A slow mint that the client gave up on still minted: and was not sent again.
    const slow = newClient({ retries: 5, timeoutMs: 300 });
    await fault({ mode: 'slow', delayMs: 3000, path: 'access_token', count: 1 });
    await failure(slow.accessToken(), 'timeout');
    assert.equal((await counts()).access_token, 2);
  });

  it('a failure is remembered: the same error at once, with retry_after_ms, and no request', async () => {
    const client = newClient();
    await fault({ mode: 'api_error', path: 'access_token' });
    const first = await failure(client.accessToken(), 'api');
    assert.ok(first.retry_after_ms > 0 && first.retry_after_ms <= 1000, `retry_after_ms ${first.retry_after_ms}`);
    shiftClock(-10_000);
    for (const call of [() => client.accessToken(), () => client.signTicket(), () => client.nonceTicket('u')]) {
      const again = await failure(call(), 'api');
      for (const key of ['code', 'msg', 'transaction_time']) assert.equal(again[key], first[key], key);
      assert.ok(again.retry_after_ms > 9000, `retry_after_ms ${again.retry_after_ms}`);
    }
    assert.deepEqual(await counts(), { access_token: 1, sign: 0, nonce: 0 });
    // After the wait one request; a second failure doubles the wait; a success forgets them.
    shiftClock(1000);
    const second = await failure(client.accessToken(), 'api');
    assert.ok(second.retry_after_ms > 1000 - 50 && second.retry_after_ms <= 2000, `retry_after_ms ${second.retry_after_ms}`);
    await control(emu, 'DELETE', 'fault');
    shiftClock(3000);
    await client.accessToken();
    assert.equal((await counts()).access_token, 3);
  });
});

describe('a due token', () => {
  it('the first caller refreshes and waits; every other caller gets the current token at once', async () => {
    const client = newClient({ refreshAfterSeconds: 1200 });
    const old = await client.accessToken();
    shiftClock(21 * MINUTE_MS);
    await fault({ mode: 'slow', delayMs: 1500, path: 'access_token', count: 1 });
    const settled = [];
    const first = client.accessToken().then((token) => settled.push('first') && token);
    const others = Promise.all(Array.from({ length: 20 }, () => client.accessToken()))
      .then((tokens) => settled.push('others') && tokens);
    const [fresh, current] = await Promise.all([first, others]);
    assert.deepEqual(settled, ['others', 'first'], 'the others did not wait for the refresh');
    assert.ok(current.every((token) => token.value === old.value));
    assert.notEqual(fresh.value, old.value);
    assert.equal((await counts()).access_token, 2, 'one refresh');
  });
});

describe('forced refresh', () => {
  it('keeps the refused token as the fallback; a failed mint rejects the trigger with the refusal', async () => {
    const client = newClient();
    const old = await client.accessToken();
    shiftClock(MINUTE_MS + 1000);
    await fault({
      faults: [
        { mode: 'http_error', status: 503, path: 'access_token' },
        { mode: 'api_error', path: 'nonce', count: 1 },
      ],
    });
    const refusal = await failure(client.nonceTicket('alice'), 'api');
    assert.equal(refusal.code, '500001', 'the ticket request\'s own error, not the mint\'s');
    assert.deepEqual(await counts(), { access_token: 2, sign: 0, nonce: 1 });
    assert.equal((await client.accessToken()).value, old.value, 'the refused token is still served');
    assert.equal((await client.nonceTicket('bob')).value.length, 64, 'and still works');
    assert.equal((await counts()).access_token, 2, 'no mint during the wait');
    await control(emu, 'DELETE', 'fault');
    shiftClock(MINUTE_MS + 3000);
    assert.notEqual((await client.accessToken()).value, old.value, 'replaced once the wait is over');
  });
});

describe('arrivals are checked', () => {

  it('a 90-character token is used; a 129-character one is bad_response and counted as a failure', async () => {
    const documented = await credentialService(90, 'ticket-value');
    const usable = newClient({ endpoint: documented.url });
    assert.equal((await usable.accessToken()).value.length, 90);
    assert.equal((await usable.nonceTicket('u')).value, 'ticket-value');
    await documented.close();

    const long = await credentialService(129, 'ticket-value');
    const client = newClient({ endpoint: long.url });
    const error = await failure(client.accessToken(), 'bad_response');
    assert.match(error.message, /1-128 visible ASCII/);
    assert.ok(error.retry_after_ms > 0, 'counted as a failure');
    assert.ok(!error.message.includes('T'.repeat(129)));
    await long.close();
  });

  it('an empty or overlong ticket value is bad_response', async () => {
    for (const ticket of ['', 't'.repeat(129), 'tab\tinside']) {
      const service = await credentialService(64, ticket);
      await failure(newClient({ endpoint: service.url }).signTicket(), 'bad_response');
      await service.close();
    }
  });

  it('fetchNonceTicket takes access tokens of up to 128 visible ASCII characters', async () => {
    const service = await credentialService(64, 'ticket-value');
    const options = { appId: DEFAULT_APP_ID, userId: 'u', endpoint: service.url };
    assert.equal((await api.fetchNonceTicket({ ...options, accessToken: 'a'.repeat(128) })).value, 'ticket-value');
    const error = await failure(api.fetchNonceTicket({ ...options, accessToken: 'a'.repeat(129) }), 'invalid_argument');
    assert.equal(error.field, 'accessToken');
    await service.close();
  });
});

describe('importState', () => {
  async function exported() {
    const client = newClient();
    await client.signTicket();
    return JSON.parse(client.exportState());
  }

  const refused = (state, text = JSON.stringify(state)) => {
    let thrown;
    try {
      api.FaceIdClient.importState({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url }, text);
    } catch (error) {
      thrown = error;
    }
    assert.equal(thrown?.kind, 'invalid_argument', `accepted: ${text}`);
    assert.equal(thrown.field, 'state');
    return thrown;
  };

  it('refuses a state that cannot be right', async () => {
    const good = await exported();
    const variant = (change) => {
      const state = structuredClone(good);
      change(state);
      return state;
    };
    const { token } = good;
    refused(variant((s) => { s.token.grant.value = 'has space'; }));
    refused(variant((s) => { s.token.grant.value = 'T'.repeat(129); }));
    refused(variant((s) => { s.token.sign_ticket.value = ''; }));
    refused(variant((s) => {
      s.token.obtained_at += 6 * MINUTE_MS;
      s.token.grant.expires_at += 6 * MINUTE_MS;
    }));
    refused(variant((s) => { s.token.grant.expires_at += 6000; }));
    for (const expireIn of [0, 86401]) {
      refused(variant((s) => {
        s.token.grant.expire_in = expireIn;
        s.token.grant.expires_at = s.token.obtained_at + expireIn * 1000;
        s.token.sign_ticket = null;
      }));
    }
    refused(variant((s) => { s.last_forced_refresh = Date.now() + MINUTE_MS; }));
    refused(good, JSON.stringify(good).replace('"last_forced_refresh":null', '"last_forced_refresh":1e400'));
    refused(variant((s) => { s.token.sign_ticket.expires_at = token.grant.expires_at + 1; }));
    refused(variant((s) => { s.app_id = 'IDAOTHER'; }));
    // Within the tolerances it is taken, and resumes without a request.
    const skewed = variant((s) => { s.token.grant.expires_at += 4000; s.last_forced_refresh = Date.now() - 1; });
    const resumed = api.FaceIdClient.importState({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url }, JSON.stringify(skewed));
    assert.equal((await resumed.accessToken()).value, token.grant.value);
    assert.deepEqual(await counts(), { access_token: 1, sign: 1, nonce: 0 });
  });
});

describe('a ticket never outlives its token', () => {
  it('NONCE, SIGN and SDK signature expire with the token; expire_in is as sent', async () => {
    await control(emu, 'POST', 'reset', { tokenExpireIn: 100 });
    const client = newClient();
    const token = await client.accessToken();
    const nonce = await client.nonceTicket('u');
    const sign = await client.signTicket();
    const signature = await client.sdkSignature('u');
    assert.equal(nonce.expire_in, 120);
    assert.equal(sign.expire_in, 3600);
    for (const expiresAt of [nonce.expires_at, sign.expires_at, signature.expires_at]) {
      assert.equal(expiresAt, token.expires_at);
    }
  });
});

describe('nextRefreshAt', () => {
  it('is now without a token, the due time with one, and the end of the wait after a failure', async () => {
    const client = newClient({ refreshAfterSeconds: 600 });
    const before = Date.now();
    assert.ok(Math.abs(client.nextRefreshAt() - before) < 5000);
    const token = await client.accessToken();
    const obtained = token.expires_at - token.expire_in * 1000;
    assert.equal(client.nextRefreshAt(), obtained + 600_000);
    shiftClock(11 * MINUTE_MS);
    await fault({ mode: 'http_error', status: 503, path: 'access_token' });
    await client.accessToken();
    const wait = client.nextRefreshAt() - Date.now();
    assert.ok(wait > 0 && wait <= 1000, `the next request in ${wait} ms`);
  });
});

describe('tokenSource', () => {
  /** A source that mints from the emulator, counting calls; `refuse` makes rejected() keep the token. */
  function emulatorSource({ keep = false } = {}) {
    const calls = { token: 0, rejected: 0 };
    let current;
    const grant = async () => {
      const value = await issueToken(emu);
      current = { value, expire_in: 7200, expires_at: Date.now() + 7_200_000 };
      return current;
    };
    return {
      calls,
      source: {
        token: async () => { calls.token += 1; return current ?? grant(); },
        rejected: async () => { calls.rejected += 1; return keep ? current : grant(); },
      },
    };
  }

  it('sends no token request of its own and reuses the source token', async () => {
    const { calls, source } = emulatorSource();
    const client = new api.FaceIdClient({ appId: DEFAULT_APP_ID, tokenSource: source, endpoint: emu.url });
    for (let i = 0; i < 5; i += 1) assert.equal((await client.nonceTicket(`u${i}`)).value.length, 64);
    await client.signTicket();
    await client.sdkSignature('u');
    assert.deepEqual(calls, { token: 1, rejected: 0 });
    assert.deepEqual(await counts(), { access_token: 1, sign: 1, nonce: 6 }, 'the one token request is the source\'s');
    assert.equal(JSON.stringify(client).includes(DEFAULT_SECRET), false);
  });

  it('asks the source again after a refusal, and retries once with a different token', async () => {
    const { calls, source } = emulatorSource();
    const client = new api.FaceIdClient({ appId: DEFAULT_APP_ID, tokenSource: source, endpoint: emu.url });
    await client.nonceTicket('u');
    await control(emu, 'POST', 'expire-tokens', { appId: DEFAULT_APP_ID });
    assert.equal((await client.nonceTicket('u')).value.length, 64);
    assert.deepEqual(calls, { token: 1, rejected: 1 });

    const kept = emulatorSource({ keep: true });
    const stuck = new api.FaceIdClient({ appId: DEFAULT_APP_ID, tokenSource: kept.source, endpoint: emu.url });
    await stuck.nonceTicket('u');
    await control(emu, 'POST', 'expire-tokens', { appId: DEFAULT_APP_ID });
    await failure(stuck.nonceTicket('u'), 'api');
    assert.deepEqual(kept.calls, { token: 1, rejected: 1 }, 'the same token back: the refusal is the answer');
  });

  it('checks what the source answers and passes its FaceIdErrors on', async () => {
    const answering = (answer) => new api.FaceIdClient({
      appId: DEFAULT_APP_ID, endpoint: emu.url, tokenSource: { token: async () => answer(), rejected: async () => answer() },
    });
    for (const bad of [{}, { value: 'has space', expire_in: 60, expires_at: Date.now() + 60_000 },
      { value: 't', expire_in: 0, expires_at: Date.now() }, { value: 't', expire_in: 60, expires_at: 'soon' }]) {
      await failure(answering(() => bad).accessToken(), 'bad_response');
    }
    const backingOff = Object.assign(new Error('FaceID answered HTTP 503'), {
      name: 'FaceIdError', kind: 'http', status: 503, retry_after_ms: 4000,
    });
    const passed = await failure(answering(() => { throw backingOff; }).nonceTicket('u'), 'http');
    assert.equal(passed.status, 503);
    assert.equal(passed.retry_after_ms, 4000);
    const api_ = await failure(answering(() => { throw Object.assign(new Error('x'), { kind: 'api', code: '7', msg: 'm' }); }).accessToken(), 'api');
    assert.equal(api_.code, '7');
    const other = await failure(answering(() => { throw new TypeError('owner unreachable'); }).accessToken(), 'network');
    assert.match(other.message, /token source failed: owner unreachable/);
  });

  it('keeps what a failing token source threw as the cause', async () => {
    const unreachable = new TypeError('owner unreachable');
    const client = new api.FaceIdClient({
      appId: DEFAULT_APP_ID, endpoint: emu.url, tokenSource: { token: async () => { throw unreachable; }, rejected: async () => { throw unreachable; } },
    });
    const error = await failure(client.nonceTicket('u'), 'network');
    assert.equal(error.cause, unreachable);
    assert.equal(error.detail, 'the token source failed: owner unreachable');
  });

  it('takes exactly one of secret and tokenSource', () => {
    const source = { token: async () => ({}), rejected: async () => ({}) };
    const thrown = (options) => {
      try {
        new api.FaceIdClient({ appId: DEFAULT_APP_ID, ...options });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    assert.equal(thrown({ secret: DEFAULT_SECRET, tokenSource: source })?.field, 'tokenSource');
    assert.equal(thrown({})?.field, 'secret');
    for (const bad of [42, {}, { token: async () => ({}) }, { token: 1, rejected: 2 }]) {
      assert.equal(thrown({ tokenSource: bad })?.field, 'tokenSource', JSON.stringify(bad));
    }
  });
});
