// Conformance of the benchmark's baseline: bench/plain-client.mjs must keep the package's contract,
// or the comparison in bench/run.mjs means nothing. Each case runs against the real package
// (pkg/node.mjs, by path) and the plain client side by side, with the FaceID emulator, and
// asserts the same outcome: result keys, or error name/kind/field/extra fields/message.
//   node --test bench/plain-client.test.mjs
//
// No assertion depends on how fast this machine is: a wait that must hold is held by moving
// `Date.now` back (the emulator runs in this process and sees the same clock), never by racing a
// timer; the only timed assertions are lower bounds the clients must wait out, and upper bounds
// seconds away from what they check.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import { DEFAULT_APP_ID, DEFAULT_SECRET, startEmulator } from '../tests/emulator/emulator.mjs';
import { PKG_DIR, closedPort, control, issueToken, listen, shiftClock } from '../tests/node/support.mjs';
import * as plain from './plain-client.mjs';

const RESULT_KEYS = ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value'];
const CREDENTIAL_KEYS = ['expire_in', 'expires_at', 'value'];
const MINUTE_MS = 60_000;

let ours;
let emu;
let token;

before(async () => {
  // pkg/ may be being rebuilt by someone else: wait for it rather than fail.
  for (let i = 0; !existsSync(join(PKG_DIR, 'node/faceid_edge_bg.wasm')) && i < 240; i++) await sleep(250);
  ours = await import(pathToFileURL(join(PKG_DIR, 'node.mjs')).href);
  emu = await startEmulator();
});

after(async () => {
  shiftClock(0);
  await emu?.close();
});

beforeEach(async () => {
  shiftClock(0);
  await control(emu, 'POST', 'reset', {});
  token = await issueToken(emu);
});

afterEach(async () => {
  shiftClock(0);
  await control(emu, 'DELETE', 'fault');
});

/** Everything a caller can observe of a rejection, except the stack. `retry_after_ms` depends on
 * the clock, so only its presence is compared (and its value in the message masked). */
function shape(error) {
  const { name, kind, field, code, msg, transaction_time, status, timeoutMs, detail, reason } = error;
  const message = error.message.replace(/\(not asked again for \d+ ms\)$/, '(not asked again for … ms)');
  return {
    isError: error instanceof Error, name, kind, field, code, msg, transaction_time, status, timeoutMs, detail, reason,
    retry_after_ms: typeof error.retry_after_ms, message,
  };
}

/** Runs `call(impl)` for the package, then for the plain client, each on the real clock; `arm`
 * runs before each. */
async function both(call, arm = async () => {}) {
  const outcomes = [];
  for (const impl of [ours, plain]) {
    shiftClock(0);
    await arm();
    try {
      outcomes.push({ value: await call(impl) });
    } catch (error) {
      outcomes.push({ error: shape(error) });
    }
  }
  return outcomes;
}

/** Both resolve to the same value; returns it. */
async function sameValue(call, arm) {
  const [a, b] = await both(call, arm);
  assert.ok(!a.error, `the package rejected: ${a.error?.message}`);
  assert.deepEqual(b, a);
  return a.value;
}

/** Both reject with the same observable error, of `kind`; returns it. */
async function sameError(kind, call, arm) {
  const [a, b] = await both(call, arm);
  assert.ok(a.error, `the package resolved: ${JSON.stringify(a.value)}`);
  assert.deepEqual(b, a);
  assert.equal(a.error.kind, kind, a.error.message);
  assert.equal(a.error.name, 'FaceIdError');
  return a.error;
}

/** The rejection of `promise`, as observed. */
async function rejection(promise) {
  try {
    return { resolved: await promise };
  } catch (error) {
    return shape(error);
  }
}

/** Runs `call` and resolves to its outcome (value or error shape) and how many requests of the
 * emulator's `counter` ('access_token', 'sign', 'nonce') it cost. */
async function counted(counter, call) {
  const before = counters()[counter];
  const outcome = await rejection(call());
  return { outcome, requests: counters()[counter] - before };
}

const options = (overrides = {}) => ({
  appId: DEFAULT_APP_ID, accessToken: token, userId: 'conform_1', endpoint: emu.url, ...overrides,
});
const clientOptions = (overrides = {}) => ({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url, ...overrides });
/** Arms a fault: for one request, or (`count: undefined`) until cleared. */
const arm = (body) => control(emu, 'POST', 'fault', { count: 1, path: 'api_ticket', ...body });
/** `arm` before each client's call. */
const fault = (body) => () => arm(body);
const counters = () => ({ access_token: 0, sign: 0, nonce: 0, ...emu.state.counters[DEFAULT_APP_ID] });
const ticketRequests = () => emu.state.log.filter((entry) => entry.path === '/api/oauth2/api_ticket').length;

describe('fetchNonceTicket: package vs plain client', () => {
  it('happy path: same keys, same shape, same request sent', async () => {
    const [a, b] = await both((impl) => impl.fetchNonceTicket(options()));
    for (const { value } of [a, b]) {
      assert.deepEqual(Object.keys(value).sort(), RESULT_KEYS);
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.equal(value.expire_in, 120);
      assert.equal(value.value.length, 64);
    }
    assert.deepEqual(Object.keys(b.value), Object.keys(a.value), 'same key order');
    const [first, second] = emu.state.log.slice(-2);
    assert.deepEqual(second.query, first.query);
    assert.equal(second.path, first.path);
  });

  const invalid = [
    ['userId', { userId: 'not valid' }], ['userId', { userId: 'a'.repeat(31) }], ['userId', { userId: 42 }],
    ['userId', { userId: undefined }], ['appId', { appId: 'IDAXXXXX9' }], ['accessToken', { accessToken: 'a b' }],
    ['accessToken', { accessToken: '' }], ['accessToken', { accessToken: 'a'.repeat(129) }],
    ['version', { version: '1/0' }], ['endpoint', { endpoint: 'http://example.com' }],
    ['endpoint', { endpoint: 'https://h/?a=1' }], ['endpoint', { endpoint: 'https://h:0' }],
    ['endpoint', { endpoint: 'https://u@h' }], ['endpoint', { endpoint: 'http://127.0.0.256' }],
    ['timeoutMs', { timeoutMs: 0 }], ['timeoutMs', { timeoutMs: 1.5 }], ['timeoutMs', { timeoutMs: '100' }],
    ['signal', { signal: {} }], ['retries', { retries: 6 }], ['retries', { retries: 0.5 }], ['retries', { retries: '2' }],
  ];
  for (const [field, overrides] of invalid) {
    it(`invalid ${field} ${JSON.stringify(overrides).slice(0, 60)}: same invalid_argument, nothing sent`, async () => {
      const sent = emu.state.log.length;
      const error = await sameError('invalid_argument', (impl) => impl.fetchNonceTicket(options(overrides)));
      assert.equal(error.field, field);
      assert.equal(emu.state.log.length, sent);
    });
  }

  it('options that are not an object: same invalid_argument', async () => {
    for (const value of [null, 'x', undefined]) {
      assert.equal((await sameError('invalid_argument', (impl) => impl.fetchNonceTicket(value))).field, 'options');
    }
  });

  it('api error: same code, msg and transaction_time', async () => {
    const error = await sameError('api', (impl) => impl.fetchNonceTicket(options({ accessToken: 'Q'.repeat(64) })));
    assert.equal(error.code, '400201');
    assert.match(error.transaction_time, /^\d{14}$/);
  });

  it('http 503 without retries: same status', async () => {
    const error = await sameError('http', (impl) => impl.fetchNonceTicket(options({ retries: 0 })), fault({ mode: 'http_error', status: 503 }));
    assert.equal(error.status, 503);
  });

  it('quick failures (429, 502, 503, 504, a dropped connection) are retried: both succeed on the second request', async () => {
    const quick = [429, 502, 503, 504].map((status) => ({ mode: 'http_error', status }));
    for (const body of [...quick, { mode: 'drop' }]) {
      const value = await sameValue(async (impl) => {
        const { outcome, requests } = await counted('nonce', () => impl.fetchNonceTicket(options()));
        return { keys: Object.keys(outcome.resolved ?? outcome).sort(), requests };
      }, fault(body));
      assert.deepEqual(value, { keys: RESULT_KEYS, requests: 2 }, JSON.stringify(body));
    }
  });

  it('retries stop at `retries`; HTTP 500 and 404 are never retried', async () => {
    const requests = async (status, retries) => {
      const value = await sameValue(async (impl) => {
        const { outcome, requests: sent } = await counted('nonce', () => impl.fetchNonceTicket(options({ retries })));
        return { status: outcome.status, sent };
      }, fault({ mode: 'http_error', status, count: undefined }));
      assert.equal(value.status, status);
      return value.sent;
    };
    assert.deepEqual([await requests(503, 3), await requests(500, 3), await requests(404, 3)], [4, 1, 1]);
  });

  it('a Retry-After that does not fit before the deadline ends the call with that http error, after one request', async () => {
    const value = await sameValue(async (impl) => {
      const { outcome, requests } = await counted('nonce', () => impl.fetchNonceTicket(options({ timeoutMs: 5000 })));
      return { outcome, requests };
    }, fault({ mode: 'http_error', status: 503, retryAfter: 60 }));
    assert.equal(value.outcome.status, 503);
    assert.equal(value.requests, 1);
  });

  it('a Retry-After that fits is waited out: both succeed after it, on the second request', async () => {
    const value = await sameValue(async (impl) => {
      const started = performance.now();
      const { outcome, requests } = await counted('nonce', () => impl.fetchNonceTicket(options()));
      // A lower bound the client must wait out, not a race: timers may fire a hair early.
      return { keys: Object.keys(outcome.resolved ?? outcome).sort(), requests, waited: performance.now() - started >= 990 };
    }, fault({ mode: 'http_error', status: 503, retryAfter: 1 }));
    assert.deepEqual(value, { keys: RESULT_KEYS, requests: 2, waited: true });
  });

  it('an attempt may use all the time left: a slow answer that fits succeeds with one request', async () => {
    // 2 s of a 4 s limit, with 5 retries: an equal share of the time per attempt would be 0.67 s.
    const value = await sameValue(async (impl) => {
      const { outcome, requests } = await counted('nonce', () => impl.fetchNonceTicket(options({ timeoutMs: 4000, retries: 5 })));
      return { keys: Object.keys(outcome.resolved ?? outcome).sort(), requests };
    }, fault({ mode: 'slow', delayMs: 2000 }));
    assert.deepEqual(value, { keys: RESULT_KEYS, requests: 1 });
  });

  it('a redirect is never followed: the same error, and no followed request', async () => {
    await sameError('network', (impl) => impl.fetchNonceTicket(options()), fault({ mode: 'redirect', count: undefined }));
    assert.ok(!emu.state.log.some((entry) => entry.query.followed_redirect), 'a redirect was followed');
  });

  for (const mode of ['html', 'invalid_json', 'empty_tickets', 'no_value', 'bad_expire_in']) {
    it(`${mode} → the same bad_response`, async () => {
      await sameError('bad_response', (impl) => impl.fetchNonceTicket(options()), fault({ mode }));
    });
  }

  it('oversized → the same bad_response, the download cut short', async () => {
    const started = Date.now();
    await sameError('bad_response', (impl) => impl.fetchNonceTicket(options()), fault({ mode: 'oversized' }));
    assert.ok(Date.now() - started < 5000);
  });

  it('a stalled body times out the same way (the timeout covers the body)', async () => {
    const error = await sameError('timeout', (impl) => impl.fetchNonceTicket(options({ timeoutMs: 300, retries: 0 })), fault({ mode: 'stall_body' }));
    assert.equal(error.timeoutMs, 300);
  });

  it('a timeout is not retried, and never comes before timeoutMs', async () => {
    const value = await sameValue(async (impl) => {
      const started = performance.now();
      const { outcome, requests } = await counted('nonce', () => impl.fetchNonceTicket(options({ timeoutMs: 300, retries: 5 })));
      const took = performance.now() - started;
      // Not before the limit; and long before the 10 s answer, so no one waited for it.
      return { outcome, requests, inTime: took >= 299 && took < 9000 };
    }, fault({ mode: 'slow', delayMs: 10_000, count: undefined }));
    assert.equal(value.outcome.kind, 'timeout');
    assert.equal(value.outcome.timeoutMs, 300);
    assert.deepEqual([value.requests, value.inTime], [1, true]);
  });

  it('aborted: before sending and while waiting', async () => {
    await sameError('aborted', (impl) => impl.fetchNonceTicket(options({ signal: AbortSignal.abort() })));
    await sameError('aborted', (impl) => impl.fetchNonceTicket(options({ signal: AbortSignal.timeout(100) })),
      fault({ mode: 'slow', delayMs: 3000, count: undefined }));
  });

  it('network: the same error and detail for a closed port', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const error = await sameError('network', (impl) => impl.fetchNonceTicket(options({ endpoint, retries: 0 })));
    assert.match(error.detail, /fetch failed/);
  });
});

describe('FaceIdClient: package vs plain client', () => {
  it('nonceTicket, accessToken, signTicket, sdkSignature: same keys', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      const ticket = await client.nonceTicket('conform_2');
      const access = await client.accessToken();
      const signTicket = await client.signTicket();
      const signature = await client.sdkSignature('conform_3');
      const accepted = (await control(emu, 'POST', 'sdk-start', signature)).code;
      return { ticket: Object.keys(ticket), access: Object.keys(access), sign: Object.keys(signTicket), signature: Object.keys(signature), accepted };
    });
    assert.deepEqual([...value.ticket].sort(), RESULT_KEYS);
    assert.deepEqual([...value.access].sort(), CREDENTIAL_KEYS);
    assert.equal(value.accepted, '0', 'the emulator accepts the SDK signature');
  });

  it('single flight: 50 simultaneous accessToken() and signTicket() on a cold client make one request each', async () => {
    const value = await sameValue(async (impl) => {
      const before = counters();
      const client = new impl.FaceIdClient(clientOptions());
      const tokens = await Promise.all(Array.from({ length: 50 }, () => client.accessToken()));
      await Promise.all(Array.from({ length: 50 }, () => client.signTicket()));
      const now = counters();
      return { tokens: new Set(tokens.map((t) => t.value)).size, access_token: now.access_token - before.access_token, sign: now.sign - before.sign };
    });
    assert.deepEqual(value, { tokens: 1, access_token: 1, sign: 1 });
  });

  /** A saved state holding `value` as a token obtained `ageMs` ago, as exportState() writes it. */
  const savedToken = (value, ageMs, extra = {}) => {
    const obtained = Date.now() - ageMs;
    return JSON.stringify({
      v: 1, app_id: DEFAULT_APP_ID, token: { grant: { value, expire_in: 7200, expires_at: obtained + 7_200_000 }, obtained_at: obtained, sign_ticket: null },
      last_forced_refresh: null, previous_sign_ticket: null, ...extra,
    });
  };

  it('refresh rules: a refused token over a minute old is replaced once and the request retried', async () => {
    const value = await sameValue(async (impl) => {
      const before = counters().access_token;
      const client = impl.FaceIdClient.importState(clientOptions(), savedToken('Q'.repeat(64), 2 * MINUTE_MS));
      const ticket = await client.nonceTicket('conform_4');
      const again = await client.nonceTicket('conform_4');
      const exported = JSON.parse(client.exportState());
      return { keys: Object.keys(ticket).sort(), again: again.expire_in, tokens: counters().access_token - before, state: Object.keys(exported), forced: typeof exported.last_forced_refresh };
    });
    assert.deepEqual([value.tokens, value.forced], [1, 'number']);
  });

  it('a refused young token is not replaced: same api error', async () => {
    await sameError('api', (impl) => impl.FaceIdClient.importState(clientOptions(), savedToken('Q'.repeat(64), 0)).nonceTicket('conform_5'));
  });

  it('aborted while the ticket request runs, and before anything', async () => {
    await sameError('aborted', (impl) => new impl.FaceIdClient(clientOptions()).nonceTicket('conform_6', { signal: AbortSignal.abort() }));
    await sameError('aborted', async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      await client.accessToken();
      await arm({ mode: 'slow', delayMs: 3000 });
      return client.nonceTicket('conform_6', { signal: AbortSignal.timeout(100) });
    });
  });

  const badOptions = [
    ['appId', { appId: '' }], ['secret', { secret: 'a b' }], ['secret', { secret: 'a'.repeat(65) }], ['secret', { secret: undefined }],
    ['secret', { secret: 7 }], ['endpoint', { endpoint: 'ftp://h' }], ['version', { version: '' }],
    ['timeoutMs', { timeoutMs: 120_001 }], ['retries', { retries: -1 }],
    ['refreshAfterSeconds', { refreshAfterSeconds: 0 }], ['refreshAfterSeconds', { refreshAfterSeconds: 86_400.5 }],
  ];
  for (const [field, overrides] of badOptions) {
    it(`constructor with a bad ${field} ${JSON.stringify(overrides)}: the same synchronous invalid_argument`, async () => {
      // Not async: only a synchronous throw counts as a rejection here.
      const error = await sameError('invalid_argument', (impl) => new impl.FaceIdClient(clientOptions(overrides)));
      assert.equal(error.field, field);
    });
  }

  it('bad userId, bad state: same errors', async () => {
    assert.equal((await sameError('invalid_argument', (impl) => new impl.FaceIdClient(clientOptions()).nonceTicket('a.b'))).field, 'userId');
    for (const state of ['not json', '{}', 7, JSON.stringify({ v: 1, app_id: 'OTHER' }), JSON.stringify({ v: 2, app_id: DEFAULT_APP_ID })]) {
      const error = await sameError('invalid_argument', (impl) => impl.FaceIdClient.importState(clientOptions(), state));
      assert.equal(error.field, 'state');
    }
  });
});

describe('lifecycle: package vs plain client', () => {
  const reset = () => control(emu, 'POST', 'reset', {});

  it('token requests are never retried: a 503 and a timeout each cost one request', async () => {
    const value = await sameValue(async (impl) => {
      const refused = await counted('access_token', async () => {
        await arm({ mode: 'http_error', status: 503, path: 'access_token' });
        return new impl.FaceIdClient(clientOptions({ retries: 5 })).accessToken();
      });
      // A slow mint that the client gave up on still minted, and is not sent again.
      const slow = await counted('access_token', async () => {
        await arm({ mode: 'slow', delayMs: 3000, path: 'access_token' });
        return new impl.FaceIdClient(clientOptions({ retries: 5, timeoutMs: 300 })).accessToken();
      });
      return { refused, slow };
    }, reset);
    assert.equal(value.refused.outcome.status, 503);
    assert.equal(value.slow.outcome.kind, 'timeout');
    assert.deepEqual([value.refused.requests, value.slow.requests], [1, 1]);
    assert.equal(value.refused.outcome.retry_after_ms, 'number', 'the failure is remembered');
  });

  it('a failure is remembered: the same error at once, with retry_after_ms, doubling; a success resets it', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      await arm({ mode: 'api_error', path: 'access_token', count: undefined });
      let first;
      await client.accessToken().catch((error) => { first = error; });
      // Hold the wait: 10 s before the failure, every call answers it without a request.
      shiftClock(-10_000);
      const held = [];
      for (const call of [() => client.accessToken(), () => client.signTicket(), () => client.nonceTicket('u')]) {
        const again = await call().catch((error) => error);
        held.push({ same: ['kind', 'code', 'msg', 'transaction_time'].every((key) => again[key] === first[key]), long: again.retry_after_ms > 9000 });
      }
      const counts = counters();
      shiftClock(1000);
      const second = await client.accessToken().catch((error) => error);
      await control(emu, 'DELETE', 'fault');
      shiftClock(3000);
      const recovered = Object.keys(await client.accessToken()).sort();
      return {
        first: shape(first), firstWait: first.retry_after_ms > 0 && first.retry_after_ms <= 1000, held, counts,
        secondWait: second.retry_after_ms > 950 && second.retry_after_ms <= 2000, recovered, mints: counters().access_token,
      };
    }, reset);
    assert.equal(value.first.kind, 'api');
    assert.ok(value.firstWait && value.secondWait);
    assert.deepEqual(value.held, Array(3).fill({ same: true, long: true }));
    assert.deepEqual(value.counts, { access_token: 1, sign: 0, nonce: 0 });
    assert.deepEqual([value.recovered, value.mints], [CREDENTIAL_KEYS, 3]);
  });

  it('SIGN requests have the same memory, per token', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      await client.accessToken();
      await arm({ mode: 'http_error', status: 500, path: 'sign', count: undefined });
      const first = shape(await client.signTicket().catch((error) => error));
      shiftClock(-10_000);
      const again = await client.signTicket().catch((error) => error);
      return { first, again: shape(again), long: again.retry_after_ms > 9000, sign: counters().sign };
    }, reset);
    assert.equal(value.first.status, 500);
    assert.deepEqual([value.again, value.long, value.sign], [value.first, true, 1]);
  });

  it('a due token: the first caller refreshes and waits; every other caller gets the current token at once', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions({ refreshAfterSeconds: 1200 }));
      const old = await client.accessToken();
      shiftClock(21 * MINUTE_MS);
      await arm({ mode: 'slow', delayMs: 1500, path: 'access_token' });
      const settled = [];
      const first = client.accessToken().then((fresh) => settled.push('first') && fresh);
      const others = Promise.all(Array.from({ length: 20 }, () => client.accessToken()))
        .then((tokens) => settled.push('others') && tokens);
      const [fresh, current] = await Promise.all([first, others]);
      return { settled, othersKept: current.every((t) => t.value === old.value), replaced: fresh.value !== old.value, mints: counters().access_token };
    }, reset);
    assert.deepEqual(value, { settled: ['others', 'first'], othersKept: true, replaced: true, mints: 2 });
  });

  it('forced refresh: the refused token stays the fallback; a failed mint rejects with the refusal; none during the backoff', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      const old = await client.accessToken();
      shiftClock(MINUTE_MS + 1000);
      await control(emu, 'POST', 'fault', {
        faults: [{ mode: 'http_error', status: 503, path: 'access_token' }, { mode: 'api_error', path: 'nonce', count: 1 }],
      });
      const refusal = await rejection(client.nonceTicket('alice'));
      const afterRefusal = counters();
      // Hold the backoff after the failed mint (at most 1 s): 5 s before it.
      shiftClock(MINUTE_MS + 1000 - 5000);
      const kept = (await client.accessToken()).value === old.value;
      const works = (await client.nonceTicket('bob')).expire_in;
      await arm({ mode: 'api_error', path: 'nonce' });
      const refusedInBackoff = await rejection(client.nonceTicket('carol'));
      const mintsInBackoff = counters().access_token;
      await control(emu, 'DELETE', 'fault');
      shiftClock(MINUTE_MS + 3000);
      const replaced = (await client.accessToken()).value !== old.value;
      return { refusal, afterRefusal, kept, works, refusedInBackoff, mintsInBackoff, replaced };
    }, reset);
    assert.equal(value.refusal.code, '500001', 'the ticket request\'s own error, not the mint\'s');
    assert.equal(value.refusedInBackoff.code, '500001');
    assert.deepEqual(value.afterRefusal, { access_token: 2, sign: 0, nonce: 1 });
    assert.deepEqual([value.kept, value.works, value.mintsInBackoff, value.replaced], [true, 120, 2, true]);
  });

  it('nextRefreshAt: now without a token, the due time with one, the end of the wait after a failure', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions({ refreshAfterSeconds: 600 }));
      const cold = Math.abs(client.nextRefreshAt() - Date.now()) < 5000;
      const grant = await client.accessToken();
      const due = client.nextRefreshAt() === grant.expires_at - grant.expire_in * 1000 + 600_000;
      shiftClock(11 * MINUTE_MS);
      await arm({ mode: 'http_error', status: 503, path: 'access_token' });
      const kept = (await client.accessToken()).value === grant.value;
      // Hold the wait (at most 1 s): 10 s before the failure, it still has 10 s and the rest.
      shiftClock(11 * MINUTE_MS - 10_000);
      const wait = client.nextRefreshAt() - Date.now();
      return { cold, due, kept, waiting: wait > 9000 && wait <= 11_000 };
    }, reset);
    assert.deepEqual(value, { cold: true, due: true, kept: true, waiting: true });
  });

  it('a ticket never outlives its token: NONCE, SIGN and SDK signature; expire_in as sent', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      const grant = await client.accessToken();
      const nonce = await client.nonceTicket('u');
      const signTicket = await client.signTicket();
      const signature = await client.sdkSignature('u');
      return {
        expireIn: [nonce.expire_in, signTicket.expire_in],
        capped: [nonce, signTicket, signature].every((t) => t.expires_at === grant.expires_at),
      };
    }, () => control(emu, 'POST', 'reset', { tokenExpireIn: 100 }));
    assert.deepEqual(value, { expireIn: [120, 3600], capped: true });
  });
});

describe('arrivals are checked: package vs plain client', () => {
  /** A FaceID stand-in answering a token of `tokenLength` characters and `ticket` as ticket value. */
  async function oddService(tokenLength, ticket) {
    return listen((request, response) => {
      const body = request.url.startsWith('/api/oauth2/access_token')
        ? { code: '0', access_token: 'T'.repeat(tokenLength), expire_in: 7200 }
        : { code: '0', tickets: [{ value: ticket, expire_in: 120 }] };
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(body));
    });
  }

  it('a 128-character token is used; a 129-character one is bad_response, remembered as a failure', async () => {
    const documented = await oddService(128, 'ticket-value');
    const long = await oddService(129, 'ticket-value');
    try {
      const value = await sameValue(async (impl) => {
        const usable = new impl.FaceIdClient(clientOptions({ endpoint: documented.url }));
        return [(await usable.accessToken()).value.length, (await usable.nonceTicket('u')).value];
      });
      assert.deepEqual(value, [128, 'ticket-value']);
      const error = await sameError('bad_response', (impl) => new impl.FaceIdClient(clientOptions({ endpoint: long.url })).accessToken());
      assert.match(error.reason, /1-128 visible ASCII/);
      assert.equal(error.retry_after_ms, 'number');
    } finally {
      await documented.close();
      await long.close();
    }
  });

  it('an empty, overlong or invisible ticket value is bad_response', async () => {
    for (const ticket of ['', 't'.repeat(129), 'tab\tinside']) {
      const service = await oddService(64, ticket);
      try {
        await sameError('bad_response', (impl) => new impl.FaceIdClient(clientOptions({ endpoint: service.url })).signTicket());
      } finally {
        await service.close();
      }
    }
  });

  it('fetchNonceTicket takes access tokens of up to 128 visible ASCII characters', async () => {
    const service = await oddService(64, 'ticket-value');
    try {
      const value = await sameValue(async (impl) => (await impl.fetchNonceTicket(options({ accessToken: 'a'.repeat(128), endpoint: service.url }))).value);
      assert.equal(value, 'ticket-value');
    } finally {
      await service.close();
    }
  });
});

describe('exportState and importState: package vs plain client', () => {
  /** The state's structure: every key, with the type of its value ('null' for null). */
  const skeleton = (json) => JSON.parse(json, (key, value) => {
    if (value === null) return 'null';
    return typeof value === 'object' ? value : typeof value;
  });

  it('the same state: every key, null for none, a replaced SIGN ticket kept as the previous one', async () => {
    const value = await sameValue(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions({ refreshAfterSeconds: 600 }));
      const empty = client.exportState();
      await client.signTicket();
      const withTicket = client.exportState();
      shiftClock(11 * MINUTE_MS);
      await client.signTicket();
      return [empty, withTicket, client.exportState()].map(skeleton);
    });
    assert.deepEqual(value[0], { v: 'number', app_id: 'string', token: 'null', last_forced_refresh: 'null', previous_sign_ticket: 'null' });
    assert.equal(value[1].token.sign_ticket.value, 'string');
    assert.equal(value[2].previous_sign_ticket.value, 'string');
  });

  async function exported() {
    const client = new ours.FaceIdClient(clientOptions());
    await client.signTicket();
    return JSON.parse(client.exportState());
  }

  it('refuses a state that cannot be right, with the same message', async () => {
    const good = await exported();
    const variant = (change) => {
      const state = structuredClone(good);
      change(state);
      return JSON.stringify(state);
    };
    const { grant } = good.token;
    const states = [
      variant((s) => { s.token.grant.value = 'has space'; }),
      variant((s) => { s.token.grant.value = 'T'.repeat(129); }),
      variant((s) => { s.token.sign_ticket.value = ''; }),
      variant((s) => { s.token.sign_ticket.expire_in = 0; }),
      variant((s) => { s.previous_sign_ticket = { ...s.token.sign_ticket, value: 'a b' }; }),
      variant((s) => {
        s.token.obtained_at += 6 * MINUTE_MS;
        s.token.grant.expires_at += 6 * MINUTE_MS;
      }),
      variant((s) => { s.token.grant.expires_at += 6000; }),
      ...[0, 86_401].map((expireIn) => variant((s) => {
        s.token.grant.expire_in = expireIn;
        s.token.grant.expires_at = s.token.obtained_at + expireIn * 1000;
        s.token.sign_ticket = null;
      })),
      variant((s) => { s.last_forced_refresh = Date.now() + MINUTE_MS; }),
      JSON.stringify(good).replace('"last_forced_refresh":null', '"last_forced_refresh":1e400'),
      variant((s) => { s.token.sign_ticket.expires_at = grant.expires_at + 1; }),
      variant((s) => { s.token.sign_ticket.expire_time = 7; }),
      variant((s) => { s.app_id = 'IDAOTHER'; }),
    ];
    const rules = new Set();
    for (const state of states) {
      const error = await sameError('invalid_argument', (impl) => impl.FaceIdClient.importState(clientOptions(), state));
      assert.equal(error.field, 'state');
      rules.add(error.message);
    }
    assert.ok(rules.size >= 8, `only ${rules.size} different rules`);
  });

  it('takes a state within the tolerances, and resumes without a request', async () => {
    const good = await exported();
    good.token.grant.expires_at += 4000;
    good.last_forced_refresh = Date.now() - 1;
    const value = await sameValue(async (impl) => {
      const before = counters();
      const resumed = impl.FaceIdClient.importState(clientOptions(), JSON.stringify(good));
      const same = (await resumed.accessToken()).value === good.token.grant.value
        && (await resumed.signTicket()).value === good.token.sign_ticket.value;
      const now = counters();
      return { same, requests: now.access_token + now.sign - before.access_token - before.sign };
    });
    assert.deepEqual(value, { same: true, requests: 0 });
  });
});

describe('tokenSource: package vs plain client', () => {
  /** A source handing out the emulator token `value`, counting calls; `rejected()` mints a new
   * token, or with `keep` hands back the same one. */
  function countingSource({ keep = false } = {}) {
    const calls = { token: 0, rejected: 0 };
    let current = { value: token, expire_in: 7200, expires_at: Date.now() + 7_200_000 };
    return {
      calls,
      source: {
        token: async () => { calls.token += 1; return current; },
        rejected: async () => {
          calls.rejected += 1;
          if (!keep) current = { value: await issueToken(emu), expire_in: 7200, expires_at: Date.now() + 7_200_000 };
          return current;
        },
      },
    };
  }
  const sourceClient = (impl, source) => new impl.FaceIdClient({ appId: DEFAULT_APP_ID, tokenSource: source, endpoint: emu.url });

  it('sends no token request of its own, reuses a source token up to 30 s, shares no request in flight', async () => {
    const value = await sameValue(async (impl) => {
      const before = counters();
      const { calls, source } = countingSource();
      const client = sourceClient(impl, source);
      await Promise.all(Array.from({ length: 5 }, (_, i) => client.nonceTicket(`u${i}`)));
      const concurrent = calls.token;
      await client.signTicket();
      await client.sdkSignature('u');
      shiftClock(29_000);
      await client.nonceTicket('u');
      const reused = calls.token;
      shiftClock(31_000);
      await client.nonceTicket('u');
      const now = counters();
      return { concurrent, reused, asked: calls.token, mints: now.access_token - before.access_token, sign: now.sign - before.sign };
    });
    assert.deepEqual(value, { concurrent: 5, reused: 5, asked: 6, mints: 0, sign: 1 });
  });

  it('after a refusal asks rejected(), and retries once with a different token; the same token back: the refusal', async () => {
    const value = await sameValue(async (impl) => {
      const fresh = countingSource();
      const client = sourceClient(impl, fresh.source);
      await client.nonceTicket('u');
      await control(emu, 'POST', 'expire-tokens', { appId: DEFAULT_APP_ID });
      const retried = (await client.nonceTicket('u')).expire_in;
      const kept = countingSource({ keep: true });
      const stuck = sourceClient(impl, kept.source);
      const refusal = await rejection(stuck.nonceTicket('u'));
      return { retried, fresh: fresh.calls, refusal, kept: kept.calls };
    }, () => control(emu, 'POST', 'reset', {}).then(async () => { token = await issueToken(emu); }));
    assert.equal(value.refusal.code, '400202');
    assert.deepEqual([value.retried, value.fresh, value.kept], [120, { token: 1, rejected: 1 }, { token: 1, rejected: 1 }]);
  });

  it('checks what the source answers', async () => {
    for (const bad of [{}, null, 'token', { value: 'has space', expire_in: 60, expires_at: Date.now() + 60_000 },
      { value: 't', expire_in: 0, expires_at: Date.now() }, { value: 't', expire_in: 60.5, expires_at: Date.now() },
      { value: 't', expire_in: 60, expires_at: 'soon' }, { value: 'T'.repeat(129), expire_in: 60, expires_at: Date.now() }]) {
      await sameError('bad_response', (impl) => sourceClient(impl, { token: () => bad, rejected: () => bad }).accessToken());
    }
  });

  it('passes a FaceIdError of the source on, retry_after_ms included; anything else is network', async () => {
    const rejections = [
      Object.assign(new Error('FaceID answered HTTP 503'), { name: 'FaceIdError', kind: 'http', status: 503, retry_after_ms: 4000 }),
      { kind: 'api', code: '7', msg: 'm', transaction_time: '20260101000000', message: 'x' },
      { kind: 'network', detail: 'reset' }, { kind: 'bad_response', message: 'why' }, { kind: 'timeout', timeoutMs: 5.5 },
      { kind: 'aborted', retry_after_ms: 12.2 }, { kind: 'http', status: 1000 }, { kind: 'invalid_argument', field: 'x' },
      { kind: 'toString' }, new TypeError('owner unreachable'), 'a string', undefined,
    ];
    const shapes = [];
    for (const thrown of rejections) {
      const [a, b] = await both((impl) => sourceClient(impl, { token: async () => { throw thrown; }, rejected: () => undefined }).nonceTicket('u'));
      assert.deepEqual(b, a);
      shapes.push(a.error);
    }
    assert.deepEqual(shapes.slice(0, 2).map((e) => [e.kind, e.status ?? e.code]), [['http', 503], ['api', '7']]);
    assert.match(shapes[0].message, /HTTP 503 \(not asked again for … ms\)$/);
    assert.match(shapes[9].message, /token source failed: owner unreachable/);
    // The wait itself, exactly: it came from the source, not from the clock.
    const wait = await sameValue((impl) => sourceClient(impl, { token: async () => { throw rejections[0]; }, rejected: () => undefined })
      .nonceTicket('u').catch((error) => error.retry_after_ms));
    assert.equal(wait, 4000);
  });

  it('takes exactly one of secret and tokenSource, and checks the source', async () => {
    const source = { token: async () => ({}), rejected: async () => ({}) };
    for (const [field, overrides] of [['tokenSource', { secret: DEFAULT_SECRET, tokenSource: source }], ['secret', {}],
      ['tokenSource', { tokenSource: 42 }], ['tokenSource', { tokenSource: null }], ['tokenSource', { tokenSource: {} }],
      ['tokenSource', { tokenSource: { token: async () => ({}) } }], ['tokenSource', { tokenSource: { token: 1, rejected: 2 } }],
      ['tokenSource', { tokenSource: () => {} }]]) {
      const error = await sameError('invalid_argument', (impl) => new impl.FaceIdClient({ appId: DEFAULT_APP_ID, ...overrides }));
      assert.equal(error.field, field, JSON.stringify(overrides));
    }
  });
});

describe('sign and nonceString: package vs plain client', () => {
  it('the same signatures', () => {
    const cases = [[], ['c', 'a', 'b'], ['中文'], ['\u{1F600}', '\u{FF21}'], ['x'.repeat(1000), 'y', 'y'],
      ['IDAXXXXX', 'userID19959248596551', 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T', '1.0.0',
        'XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS']];
    for (let n = 0; n < 130; n++) cases.push(['z'.repeat(n)]);
    for (const values of cases) assert.equal(plain.sign(values), ours.sign(values), JSON.stringify(values).slice(0, 80));
  });

  it('the same error for a bad argument', () => {
    for (const values of ['abc', [1], null]) {
      const errors = [ours, plain].map((impl) => {
        try {
          impl.sign(values);
          return null;
        } catch (error) {
          return shape(error);
        }
      });
      assert.deepEqual(errors[1], errors[0]);
      assert.equal(errors[0].field, 'values');
    }
  });

  it('nonces: 32 letters and digits', () => {
    for (const impl of [ours, plain]) assert.match(impl.nonceString(), /^[A-Za-z0-9]{32}$/);
  });
});
