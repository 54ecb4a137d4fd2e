// Conformance of the benchmark's baseline: bench/plain-client.mjs must keep the package's contract,
// or the comparison in bench/run.mjs means nothing. Each case runs against the real package
// (pkg/node.mjs, by path) and the plain client side by side, with the FaceID emulator, and
// asserts the same outcome: result keys, or error name/kind/field/extra fields/message.
//   node --test bench/plain-client.test.mjs

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import { DEFAULT_APP_ID, DEFAULT_SECRET, startEmulator } from '../tests/emulator/emulator.mjs';
import { PKG_DIR, closedPort, control, issueToken } from '../tests/node/support.mjs';
import * as plain from './plain-client.mjs';

const RESULT_KEYS = ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value'];
const CREDENTIAL_KEYS = ['expire_in', 'expires_at', 'value'];

let ours;
let emu;
let token;

before(async () => {
  // pkg/ may be being rebuilt by someone else: wait for it rather than fail.
  for (let i = 0; !existsSync(join(PKG_DIR, 'node/faceid_edge_bg.wasm')) && i < 240; i++) await sleep(250);
  ours = await import(pathToFileURL(join(PKG_DIR, 'node.mjs')).href);
  emu = await startEmulator();
});

after(() => emu?.close());

beforeEach(async () => {
  await control(emu, 'POST', 'reset', {});
  token = await issueToken(emu);
});

afterEach(() => control(emu, 'DELETE', 'fault'));

/** Everything a caller can observe of a rejection, except the stack. */
function shape(error) {
  const { name, kind, field, code, msg, transaction_time, status, timeoutMs, message } = error;
  return { isError: error instanceof Error, name, kind, field, code, msg, transaction_time, status, timeoutMs, message };
}

/** Runs `call(impl)` for the package, then for the plain client; `arm` runs before each. */
async function both(call, arm = async () => {}) {
  const outcomes = [];
  for (const impl of [ours, plain]) {
    await arm();
    try {
      outcomes.push({ value: await call(impl) });
    } catch (error) {
      outcomes.push({ error: shape(error) });
    }
  }
  return outcomes;
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

const options = (overrides = {}) => ({
  appId: DEFAULT_APP_ID, accessToken: token, userId: 'conform_1', endpoint: emu.url, ...overrides,
});
/** Arms a fault before each client's call: for one request, or (`count: undefined`) until cleared. */
const fault = (body) => () => control(emu, 'POST', 'fault', { count: 1, path: 'api_ticket', ...body });
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
    ['accessToken', { accessToken: '' }], ['version', { version: '1/0' }], ['endpoint', { endpoint: 'http://example.com' }],
    ['endpoint', { endpoint: 'https://h/?a=1' }], ['endpoint', { endpoint: 'https://h:0' }],
    ['endpoint', { endpoint: 'https://u@h' }], ['endpoint', { endpoint: 'http://127.0.0.256' }],
    ['timeoutMs', { timeoutMs: 0 }], ['timeoutMs', { timeoutMs: 1.5 }], ['timeoutMs', { timeoutMs: '100' }],
    ['signal', { signal: {} }], ['retries', { retries: 6 }], ['retries', { retries: 0.5 }], ['retries', { retries: '2' }],
  ];
  for (const [field, overrides] of invalid) {
    it(`invalid ${field} ${JSON.stringify(overrides)}: same invalid_argument, nothing sent`, async () => {
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

  it('a transient 503, 429 or dropped connection is retried: both succeed on the second request', async () => {
    for (const body of [{ mode: 'http_error', status: 503 }, { mode: 'http_error', status: 429 }, { mode: 'drop' }]) {
      const counts = [];
      const [a, b] = await both(async (impl) => {
        const before = ticketRequests();
        const ticket = await impl.fetchNonceTicket(options());
        counts.push(ticketRequests() - before);
        return Object.keys(ticket).sort();
      }, fault(body));
      assert.deepEqual(b, a);
      assert.deepEqual(a.value, RESULT_KEYS, JSON.stringify(body));
      assert.deepEqual(counts, [2, 2], JSON.stringify(body));
    }
  });

  it('retries stop at `retries`, and a 404 is never retried', async () => {
    const counts = [];
    const count = (call) => async (impl) => {
      const before = ticketRequests();
      try {
        return await call(impl);
      } finally {
        counts.push(ticketRequests() - before);
      }
    };
    await sameError('http', count((impl) => impl.fetchNonceTicket(options({ retries: 3 }))), fault({ mode: 'http_error', status: 500, count: undefined }));
    await sameError('http', count((impl) => impl.fetchNonceTicket(options())), fault({ mode: 'http_error', status: 404, count: undefined }));
    assert.deepEqual(counts, [4, 4, 1, 1]);
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

  it('timeout: same kind and timeoutMs (the whole call, retries included)', async () => {
    const started = Date.now();
    const error = await sameError('timeout', (impl) => impl.fetchNonceTicket(options({ timeoutMs: 300 })),
      fault({ mode: 'slow', delayMs: 3000, count: undefined }));
    assert.equal(error.timeoutMs, 300);
    assert.ok(Date.now() - started < 1500, 'retries stayed within timeoutMs');
  });

  it('aborted: before sending and while waiting', async () => {
    await sameError('aborted', (impl) => impl.fetchNonceTicket(options({ signal: AbortSignal.abort() })));
    await sameError('aborted', (impl) => impl.fetchNonceTicket(options({ signal: AbortSignal.timeout(100) })),
      fault({ mode: 'slow', delayMs: 3000, count: undefined }));
  });

  it('network: the same error for a closed port', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    await sameError('network', (impl) => impl.fetchNonceTicket(options({ endpoint })));
  });
});

describe('FaceIdClient: package vs plain client', () => {
  const clientOptions = (overrides = {}) => ({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url, ...overrides });
  const counters = () => emu.state.counters[DEFAULT_APP_ID] ?? { access_token: 0, sign: 0, nonce: 0 };

  it('nonceTicket, accessToken, signTicket, sdkSignature: same keys', async () => {
    const [a, b] = await both(async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      const ticket = await client.nonceTicket('conform_2');
      const access = await client.accessToken();
      const signTicket = await client.signTicket();
      const signature = await client.sdkSignature('conform_3');
      const accepted = (await control(emu, 'POST', 'sdk-start', signature)).code;
      return { ticket: Object.keys(ticket), access: Object.keys(access), sign: Object.keys(signTicket), signature: Object.keys(signature), accepted };
    });
    assert.deepEqual(b, a);
    assert.deepEqual([...a.value.ticket].sort(), RESULT_KEYS);
    assert.deepEqual([...a.value.access].sort(), CREDENTIAL_KEYS);
    assert.equal(a.value.accepted, '0', 'the emulator accepts the SDK signature');
  });

  it('single flight: 50 simultaneous accessToken() and signTicket() on a cold client make one request each', async () => {
    const [a, b] = await both(async (impl) => {
      const before = { ...counters() };
      const client = new impl.FaceIdClient(clientOptions());
      const tokens = await Promise.all(Array.from({ length: 50 }, () => client.accessToken()));
      await Promise.all(Array.from({ length: 50 }, () => client.signTicket()));
      const now = counters();
      return { tokens: new Set(tokens.map((t) => t.value)).size, access_token: now.access_token - before.access_token, sign: now.sign - before.sign };
    });
    assert.deepEqual(b, a);
    assert.deepEqual(a.value, { tokens: 1, access_token: 1, sign: 1 });
  });

  it('refresh rules: a refused token over a minute old is replaced once and the request retried', async () => {
    const now = Date.now();
    const state = JSON.stringify({
      v: 1, app_id: DEFAULT_APP_ID,
      token: { grant: { value: 'Q'.repeat(64), expire_in: 7200, expires_at: now + 3_600_000 }, obtained_at: now - 120_000 },
    });
    const [a, b] = await both(async (impl) => {
      const before = counters().access_token;
      const client = impl.FaceIdClient.importState(clientOptions(), state);
      const ticket = await client.nonceTicket('conform_4');
      const again = await client.nonceTicket('conform_4').catch((e) => e.kind);
      const exported = JSON.parse(client.exportState());
      return { keys: Object.keys(ticket).sort(), tokens: counters().access_token - before, again: typeof again, state: Object.keys(exported), forced: typeof exported.last_forced_refresh };
    });
    assert.deepEqual(b, a);
    assert.equal(a.value.tokens, 1);
    assert.equal(a.value.forced, 'number');
  });

  it('a refused young token is not replaced: same api error', async () => {
    const state = JSON.stringify({
      v: 1, app_id: DEFAULT_APP_ID,
      token: { grant: { value: 'Q'.repeat(64), expire_in: 7200, expires_at: Date.now() + 3_600_000 }, obtained_at: Date.now() },
    });
    await sameError('api', (impl) => impl.FaceIdClient.importState(clientOptions(), state).nonceTicket('conform_5'));
  });

  it('aborted while the ticket request runs, and before anything', async () => {
    await sameError('aborted', (impl) => new impl.FaceIdClient(clientOptions()).nonceTicket('conform_6', { signal: AbortSignal.abort() }));
    await sameError('aborted', async (impl) => {
      const client = new impl.FaceIdClient(clientOptions());
      await client.accessToken();
      await control(emu, 'POST', 'fault', { mode: 'slow', delayMs: 3000, count: 1, path: 'api_ticket' });
      return client.nonceTicket('conform_6', { signal: AbortSignal.timeout(100) });
    });
  });

  const badOptions = [
    ['appId', { appId: '' }], ['secret', { secret: 'a b' }], ['secret', { secret: undefined }],
    ['endpoint', { endpoint: 'ftp://h' }], ['version', { version: '' }], ['timeoutMs', { timeoutMs: 120_001 }],
    ['retries', { retries: -1 }],
    ['refreshAfterSeconds', { refreshAfterSeconds: 0 }], ['refreshAfterSeconds', { refreshAfterSeconds: 86_400.5 }],
  ];
  for (const [field, overrides] of badOptions) {
    it(`constructor with a bad ${field}: the same synchronous invalid_argument`, async () => {
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
