// The deployable worker (www/) in Cloudflare's workerd through Miniflare, against the emulator
// over real HTTP: every route and status, auth and CORS, the Durable Object token owner and its
// alarm, one H5 verification end to end (the callback allowlist, callbacks judged by the object
// across a token refresh), and that no response ever carries the secret, an access token or a
// SIGN ticket, nor any response or workerd line the person's name or ID number.
//
// The worker is bundled exactly as `wrangler deploy` would bundle it, and run as three worker
// instances (separate isolates with separate memory) sharing one Durable Object namespace.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { faceIdSign, startEmulator } from '../emulator/emulator.mjs';
import {
  assertError, credentialWatch, emulatorBindings, recordingCaller, startFleet as startWorkerFleet,
} from './fleet.mjs';
import {
  DEFAULT_APP_ID, DEFAULT_SECRET, REPO, bundleWorker, control, eventually, listen, standInService, walkH5,
} from './support.mjs';

const API_KEY = 'worker-test-key-5d1c';
const ALLOWED_ORIGIN = 'https://app.example';
let emu;
let bundleDir;
/** The emulator's credentials, checked at the end against every response. */
let watch;
/** Every response body and header value any test saw: checked for credentials at the end. */
const seen = [];
const call = recordingCaller(seen, API_KEY);
/** Every line workerd printed in the fleets that were given it. */
const output = [];

function startFleet({ persist, bindings = {} } = {}) {
  return startWorkerFleet({
    bundleDir,
    persist,
    output,
    bindings: emulatorBindings(emu.url, API_KEY, {
      FACEID_TIMEOUT_MS: '1000',
      ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example`,
      ...bindings,
    }),
  });
}

const counters = async () => (await control(emu, 'GET', '/counters')).apps[DEFAULT_APP_ID]
  ?? { access_token: 0, sign: 0, nonce: 0 };
const requestLog = async () => (await control(emu, 'GET', '/log')).requests;

before(async () => {
  emu = await startEmulator();
  watch = credentialWatch(emu, [DEFAULT_SECRET]);
  bundleDir = await bundleWorker(join(REPO, 'www'));
});

after(async () => {
  try {
    const checked = await watch.assertNoneIn([...seen, ...output]);
    assert.ok(seen.length > 100 && checked > 1, 'the check saw responses and credentials');
  } finally {
    await emu?.close();
  }
});

describe('routes, statuses, auth and CORS', () => {
  let fleet;
  let worker;
  before(async () => {
    fleet = await startFleet();
    [worker] = fleet.workers;
  });
  after(() => fleet.mf.dispose());
  beforeEach(() => control(emu, 'DELETE', '/fault'));

  it('serves the demo page at / without auth', async () => {
    const page = await call(worker, '/', { auth: false });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(page.text, /Get verification parameters/);
  });

  it('GET /faceid/nonce answers a fresh one-time ticket', async () => {
    const before = Date.now();
    const first = await call(worker, '/faceid/nonce?user_id=alice');
    const second = await call(worker, '/faceid/nonce?user_id=alice');
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(Object.keys(first.json).sort(), ['expire_in', 'expires_at', 'value']);
    assert.equal(first.json.expire_in, 120);
    assert.ok(first.json.expires_at >= before + 120_000 && first.json.expires_at <= Date.now() + 120_000);
    assert.notEqual(first.json.value, second.json.value);
    assert.equal(first.headers.get('cache-control'), 'no-store');
  });

  it('POST /faceid/sdk-signature answers parameters the SDK accepts once', async () => {
    const reply = await call(worker, '/faceid/sdk-signature', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'bob_2' }),
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ['appId', 'expires_at', 'nonce', 'sign', 'userId', 'version']);
    assert.deepEqual([reply.json.appId, reply.json.userId, reply.json.version], [DEFAULT_APP_ID, 'bob_2', '1.0.0']);
    assert.match(reply.json.nonce, /^[A-Za-z0-9]{32}$/);
    const start = (params) => control(emu, 'POST', '/sdk-start', params);
    assert.equal((await start(reply.json)).code, '0');
    assert.equal((await start(reply.json)).code, '400402', 'the NONCE ticket is single-use');
    assert.equal((await start({ ...reply.json, userId: 'bob_3' })).code, '400401', 'the signature covers userId');
  });

  it('refuses callers without the right bearer key, sending nothing upstream', async () => {
    const before = (await requestLog()).length;
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: API_KEY },
      { authorization: `bearer ${API_KEY}x` }, { authorization: `Basic ${API_KEY}` }]) {
      assertError(await call(worker, '/faceid/nonce?user_id=alice', { auth: false, headers }), 401, 'unauthorized');
    }
    assert.equal((await requestLog()).length, before);
  });

  it('answers invalid input with 400/405/404/413/415 and sends nothing upstream', async () => {
    const before = (await requestLog()).length;
    const post = (body, type = 'application/json') => call(worker, '/faceid/sdk-signature', {
      method: 'POST', headers: { 'content-type': type }, body,
    });
    assertError(await call(worker, '/faceid/nonce?user_id=a%20b'), 400, 'invalid_argument', 'userId');
    assertError(await call(worker, '/faceid/nonce?user_id=x%26type%3DSIGN'), 400, 'invalid_argument', 'userId');
    assertError(await call(worker, `/faceid/nonce?user_id=${'a'.repeat(31)}`), 400, 'invalid_argument', 'userId');
    assertError(await call(worker, '/faceid/nonce'), 400, 'invalid_argument', 'userId');
    assertError(await post('{"userId":'), 400, 'invalid_argument', 'body');
    assertError(await post('[1]'), 400, 'invalid_argument', 'body');
    assertError(await post('{"userId":42}'), 400, 'invalid_argument', 'userId');
    assertError(await post('{"userId":"ok"}', 'text/plain'), 415, 'invalid_argument', 'body');
    assertError(await post(JSON.stringify({ userId: 'a', pad: 'x'.repeat(5000) })), 413, 'invalid_argument', 'body');
    assertError(await call(worker, '/faceid/nonce?user_id=a', { method: 'POST' }), 405, 'method_not_allowed');
    assertError(await call(worker, '/faceid/sdk-signature'), 405, 'method_not_allowed');
    assertError(await call(worker, '/faceid/other'), 404, 'not_found');
    assert.equal((await requestLog()).length, before);
  });

  it('maps upstream failures to 502, 503 and 504', async () => {
    const cases = [
      [{ mode: 'api_error' }, 502, 'api'],
      [{ mode: 'http_error', status: 500 }, 502, 'http'],
      // A quick failure, retried by the client within the time limit, and still failing.
      [{ mode: 'http_error', status: 503 }, 502, 'http'],
      [{ mode: 'html' }, 502, 'bad_response'],
      [{ mode: 'empty_tickets' }, 502, 'bad_response'],
      [{ mode: 'drop' }, 503, 'network'],
      [{ mode: 'slow', delayMs: 3000 }, 504, 'timeout'],
    ];
    for (const [fault, status, kind] of cases) {
      await control(emu, 'POST', '/fault', { ...fault, path: 'api_ticket' });
      assertError(await call(worker, '/faceid/nonce?user_id=carol'), status, kind);
    }
    await control(emu, 'DELETE', '/fault');
    assert.equal((await call(worker, '/faceid/nonce?user_id=carol')).status, 200, 'the isolate survived');
  });

  it('never follows a redirect from upstream (workerd sends redirect: "manual")', async () => {
    await control(emu, 'POST', '/fault', { mode: 'redirect', path: 'api_ticket' });
    assertError(await call(worker, '/faceid/nonce?user_id=frank'), 502, 'http');
    await control(emu, 'DELETE', '/fault');
    assert.ok(!(await requestLog()).some(({ query }) => 'followed_redirect' in query), 'a redirect was followed');
  });

  it('allows CORS only for the configured origins', async () => {
    const allowed = await call(worker, '/faceid/nonce?user_id=dave', { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    const foreign = await call(worker, '/faceid/nonce?user_id=dave', { headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);

    const preflight = (origin) => call(worker, '/faceid/sdk-signature', {
      method: 'OPTIONS', auth: false,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    const ok = await preflight('https://other.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://other.example');
    assert.match(ok.headers.get('access-control-allow-headers'), /authorization/);
    assert.match(ok.headers.get('access-control-allow-methods'), /POST/);
    assertError(await preflight('https://evil.example'), 403, 'forbidden_origin');
    const flowPreflight = (path, method) => call(worker, path, {
      method: 'OPTIONS', auth: false, headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': method },
    });
    for (const [path, method] of [['/faceid/orders', 'POST'], ['/faceid/callbacks/verify', 'POST'], ['/faceid/orders/abc1', 'GET']]) {
      const reply = await flowPreflight(path, method);
      assert.equal(reply.status, 204, path);
      assert.equal(reply.headers.get('access-control-allow-methods'), `${method}, OPTIONS`, path);
    }
  });

  it('without ALLOWED_CALLBACKS, no callback URL is allowed', async () => {
    const before = (await requestLog()).length;
    const reply = await call(worker, '/faceid/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u1', name: 'N', idNo: '1', callbackUrl: 'http://127.0.0.1:8787/' }),
    });
    assertError(reply, 400, 'invalid_argument', 'callbackUrl');
    assert.equal((await requestLog()).length, before);
  });
});

describe('misconfiguration', () => {
  it('an invalid binding is a 500 naming the binding, never its value, and nothing goes upstream', async () => {
    const before = (await requestLog()).length;
    const cases = [
      ['FACEID_SECRET', 'not a valid secret', /secret/],
      ['FACEID_APP_ID', 'not-an-app-id', /appId/],
      ['FACEID_ENDPOINT', 'http://faceid.example', /endpoint/],
      ['FACEID_TIMEOUT_MS', 'soon', /timeoutMs/],
      ['FACEID_REFRESH_AFTER_SECONDS', '-5', /refreshAfterSeconds/],
    ];
    for (const [binding, value, rule] of cases) {
      const fleet = await startFleet({ bindings: { [binding]: value } });
      try {
        // The isolate finds it itself: the object's answer would arrive through the token source
        // as a `network` failure (503).
        const reply = await call(fleet.workers[0], '/faceid/nonce?user_id=alice');
        assertError(reply, 500, 'configuration');
        assert.match(reply.json.error.message, new RegExp(`FaceID bindings are invalid: ${binding}: .*${rule.source}`));
        assert.ok(!reply.text.includes(value), reply.text);
      } finally {
        await fleet.mf.dispose();
      }
    }
    assert.equal((await requestLog()).length, before);
  });
});

describe('the Durable Object owns the token', () => {
  it('a burst across three worker instances makes exactly one token request: the object\'s', async () => {
    await watch.reset();
    const fleet = await startFleet();
    try {
      // Both routes: the isolates' clients take the token from the object and never mint one.
      const burst = Array.from({ length: 150 }, (_, i) => (i % 5 === 0
        ? call(fleet.workers[i % 3], '/faceid/sdk-signature', {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: `user_${i}` }),
        })
        : call(fleet.workers[i % 3], `/faceid/nonce?user_id=user_${i}`)));
      const replies = await Promise.all(burst);
      assert.deepEqual(replies.filter((r) => r.status !== 200).map((r) => r.text), []);
      assert.equal(new Set(replies.map((r) => r.json.value ?? r.json.sign)).size, 150);
      const counts = await counters();
      console.log(`fleet burst: 150 requests over 3 instances -> access_token=${counts.access_token} nonce=${counts.nonce}`);
      assert.deepEqual([counts.access_token, counts.nonce], [1, 150]);

      // Evicted and restarted (a new runtime, the same storage): no new token.
      await fleet.mf.dispose();
      const restarted = await startFleet({ persist: fleet.persist });
      try {
        assert.equal((await call(restarted.workers[1], '/faceid/nonce?user_id=again')).status, 200);
        const after = await counters();
        console.log(`after restart: access_token=${after.access_token} nonce=${after.nonce}`);
        assert.deepEqual([after.access_token, after.nonce], [1, 151]);
      } finally {
        await restarted.mf.dispose();
      }
    } finally {
      await fleet.mf.dispose().catch(() => {});
    }
  });

  it('refreshes ahead of time on its alarm, and isolates recover from a replaced token', async () => {
    await watch.reset({ tokenOverlapMs: 50 });
    const fleet = await startFleet({ bindings: { FACEID_REFRESH_AFTER_SECONDS: '5' } });
    try {
      const [first, second] = fleet.workers;
      assert.equal((await call(first, '/faceid/nonce?user_id=eve')).status, 200);
      assert.equal((await counters()).access_token, 1);
      // The alarm is armed for when the token is due (5 s): the object refreshes by itself, and
      // the next refresh is 5 s away again.
      await eventually('the alarm refreshed the token', async () => (await counters()).access_token >= 2);
      assert.equal((await counters()).access_token, 2);
      // The emulator counts a request as it mints: wait out the old token's 50 ms overlap.
      await sleep(300);

      // The first instance's client still holds the old token (reused for up to 30 s), which the
      // service stopped accepting 50 ms after the new one: refused, it asks the object and retries.
      const nonceBefore = (await counters()).nonce;
      const reply = await call(first, '/faceid/nonce?user_id=eve');
      assert.equal(reply.status, 200, reply.text);
      const counts = await counters();
      console.log(`replaced token: access_token=${counts.access_token} nonce=${counts.nonce - nonceBefore} for one request`);
      assert.deepEqual([counts.access_token, counts.nonce - nonceBefore], [2, 2]);
      assert.equal((await call(second, '/faceid/nonce?user_id=eve')).status, 200);
    } finally {
      await fleet.mf.dispose();
    }
  });

  it('a failing refresh re-arms the alarm for the end of the backoff, never sooner: no alarm loop', async () => {
    await watch.reset();
    const fleet = await startFleet({ bindings: { FACEID_REFRESH_AFTER_SECONDS: '2' } });
    try {
      assert.equal((await call(fleet.workers[0], '/faceid/nonce?user_id=quiet')).status, 200);
      await control(emu, 'POST', '/fault', { mode: 'http_error', status: 503, path: 'access_token' });
      // No traffic: only the alarm asks for tokens. Due at 2 s, then waits of at least 0.5, 1,
      // 2 and 4 s after each failure: at most 5 failed requests in 12 s, where an alarm re-armed
      // a second after each failure would send about 10.
      await sleep(12_000);
      const attempts = (await requestLog()).filter(({ path }) => path.endsWith('/access_token')).map(({ at }) => at);
      const gaps = attempts.slice(2).map((at, i) => at - attempts[i + 1]);
      console.log(`failing alarm: ${attempts.length - 1} failed token requests in 12 s without traffic, gaps ${gaps.join(', ')} ms`);
      assert.ok(attempts.length - 1 >= 2 && attempts.length - 1 <= 5, `failed token requests: ${attempts.length - 1}`);
      // Each wait at least half its doubling ceiling (a little slack for delivery on loopback).
      gaps.forEach((gap, i) => assert.ok(gap >= 500 * 2 ** i - 100, `wait ${i + 1} was ${gap} ms`));
    } finally {
      await control(emu, 'DELETE', '/fault');
      await fleet.mf.dispose();
    }
  });

  it('a failed token request is answered with Retry-After, and its kind keeps its status', async () => {
    await watch.reset();
    await control(emu, 'POST', '/fault', { mode: 'http_error', status: 503, path: 'access_token' });
    const fleet = await startFleet();
    try {
      for (const worker of fleet.workers) {
        const reply = await call(worker, '/faceid/nonce?user_id=waiting');
        assertError(reply, 502, 'http');
        const wait = reply.json.error.retry_after_ms;
        // The first failure waits at most 1 s; a loaded machine may see the next ones.
        assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 60_000, reply.text);
        assert.equal(reply.headers.get('retry-after'), String(Math.ceil(wait / 1000)));
      }
    } finally {
      await control(emu, 'DELETE', '/fault');
      await fleet.mf.dispose();
    }
  });
});

describe('server faults are not the caller\'s', () => {
  it('a token that breaks the token rule, from upstream, is a 502, never a 400', async () => {
    // A FaceID service that grants a 200-character token.
    const upstream = await listen((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ code: '0', msg: 'ok', access_token: 'T'.repeat(200), expire_in: '7200' }));
    });
    const fleet = await startFleet({ bindings: { FACEID_ENDPOINT: upstream.url } });
    try {
      assertError(await call(fleet.workers[0], '/faceid/nonce?user_id=alice'), 502, 'bad_response');
      assertError(await call(fleet.workers[1], '/faceid/sdk-signature', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"alice"}',
      }), 502, 'bad_response');
    } finally {
      await fleet.mf.dispose();
      await upstream.close();
    }
  });

  it('the object answers an invalid_argument it did not get from a caller with a 500 and every field', async () => {
    const fleet = await startFleet();
    try {
      const namespace = await fleet.mf.getDurableObjectNamespace('FACEID_CREDENTIALS', 'faceid');
      const object = namespace.get(namespace.idFromName(DEFAULT_APP_ID));
      const response = await object.fetch('https://faceid-credentials/token/rejected', { method: 'POST', body: '{"token":5}' });
      const body = await response.json();
      assert.equal(response.status, 500, JSON.stringify(body));
      assert.deepEqual([body.error.kind, body.error.field], ['invalid_argument', 'token']);
    } finally {
      await fleet.mf.dispose();
    }
  });
});

describe('one H5 verification through the worker', () => {
  /** A distinctive identity: any trace of it in a response or a log line is a leak. */
  const PERSON = { name: '测试者 Quokka-Zephyr', idNo: '99001120260101777X' };
  const CALLBACK_ORIGIN = 'http://127.0.0.1:8787';
  const CALLBACK = `${CALLBACK_ORIGIN}/faceid/done?session=s1`;
  const json = { 'content-type': 'application/json' };
  let fleet;
  let workers;

  const startOrder = (worker, fields) => call(worker, '/faceid/orders', {
    method: 'POST', headers: json, body: JSON.stringify({ userId: 'flow_user', ...PERSON, callbackUrl: CALLBACK, ...fields }),
  });
  const verify = (worker, callback) => call(worker, '/faceid/callbacks/verify', {
    method: 'POST', headers: json, body: JSON.stringify(callback),
  });
  const callbackParams = (callback) => Object.fromEntries(new URL(callback).searchParams);
  /** Registers an order, walks the H5 page choosing `outcome`: the order and the callback's parameters. */
  async function verification(worker, outcome, fields) {
    const start = await startOrder(worker, fields);
    assert.equal(start.status, 200, start.text);
    return { order: start.json, callback: callbackParams(await walkH5(start.json.url, outcome)) };
  }
  /** `text` with every character outside printable ASCII as a JSON `\\u` escape, as some JSON
   * encoders write it. */
  const escapeNonAscii = (text) => text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const flowRequests = async () => (await requestLog()).filter(({ path }) => !path.startsWith('/api/oauth2/')).length;

  before(async () => {
    fleet = await startFleet({ bindings: { ALLOWED_CALLBACKS: `https://partner.example, ${CALLBACK_ORIGIN}` } });
    ({ workers } = fleet);
  });
  after(async () => {
    await fleet.mf.dispose();
    // Checked last: every response of this file and every workerd line, and the emulator's log,
    // raw, percent-encoded and as JSON escapes.
    const traces = Object.values(PERSON).flatMap((value) => [value, ...value.split(' ')])
      .flatMap((value) => [value, encodeURIComponent(value), escapeNonAscii(value)]);
    const texts = [...seen, ...output, JSON.stringify(emu.state.log)];
    assert.ok(seen.some((text) => text.includes('"faceId"')) && output.length > 0, 'the check saw the flow and workerd lines');
    for (const text of texts) {
      for (const trace of traces) assert.ok(!text.includes(trace), `personal data in: ${text.slice(0, 200)}`);
    }
  });
  beforeEach(() => control(emu, 'DELETE', '/fault'));

  it('registers, answers a signed H5 URL back to the callback, verifies the callback and answers the result without files', async () => {
    const before = Date.now();
    const start = await startOrder(workers[0]);
    assert.equal(start.status, 200, start.text);
    assert.deepEqual(Object.keys(start.json).sort(), ['expires_at', 'faceId', 'orderNo', 'url']);
    assert.match(start.json.orderNo, /^[A-Za-z0-9]{32}$/, 'a generated orderNo');
    assert.match(start.json.faceId, /^tx[0-9a-f]{30}$/);
    assert.ok(start.json.expires_at >= before + 120_000 && start.json.expires_at <= Date.now() + 120_000);
    const login = new URL(start.json.url);
    assert.equal(login.origin, emu.url, 'the H5 page is at the optimalDomain the service answered');
    assert.equal(login.pathname, '/api/web/login');
    assert.deepEqual([login.searchParams.get('url'), login.searchParams.get('from'), login.searchParams.get('orderNo')],
      [CALLBACK, 'browser', start.json.orderNo]);

    const callback = await walkH5(start.json.url, 'pass');
    assert.ok(callback.startsWith(`${CALLBACK}&`), callback);
    const verdict = await verify(workers[1], callbackParams(callback));
    assert.equal(verdict.status, 200, verdict.text);
    assert.deepEqual(verdict.json, { verified: true, passed: true, orderNo: start.json.orderNo, code: '0' });

    const record = await call(workers[2], `/faceid/orders/${start.json.orderNo}`);
    assert.equal(record.status, 200, record.text);
    assert.equal(record.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(record.json).sort(),
      ['code', 'liveRate', 'msg', 'occurredTime', 'orderNo', 'passed', 'sdkVersion', 'similarity']);
    assert.deepEqual([record.json.orderNo, record.json.passed, record.json.code, record.json.similarity, record.json.liveRate],
      [start.json.orderNo, true, '0', 98.52, 99]);
    const getFile = (await requestLog()).filter(({ path }) => path === '/api/v2/base/queryfacerecord').map(({ body }) => body.getFile);
    assert.deepEqual(getFile, [undefined], 'no files asked for');
  });

  it('takes the caller\'s orderNo and from; generated orderNos are new each time', async () => {
    const mine = await startOrder(workers[1], { orderNo: `mine${Date.now()}`, from: 'App' });
    assert.equal(mine.status, 200, mine.text);
    assert.match(mine.json.orderNo, /^mine\d+$/);
    assert.equal(new URL(mine.json.url).searchParams.get('from'), 'App');
    const generated = await Promise.all([startOrder(workers[0]), startOrder(workers[2])]);
    assert.notEqual(generated[0].json.orderNo, generated[1].json.orderNo);
    // The order number is the service's: a second registration of it is refused upstream.
    assertError(await startOrder(workers[0], { orderNo: mine.json.orderNo }), 502, 'api');
  });

  it('a failed verification is verified but not passed, and its record says so', async () => {
    const { order, callback } = await verification(workers[2], 'fail');
    const verdict = await verify(workers[0], callback);
    assert.deepEqual(verdict.json, { verified: true, passed: false, orderNo: order.orderNo, code: callback.code });
    assert.notEqual(callback.code, '0');
    const record = await call(workers[1], `/faceid/orders/${order.orderNo}`);
    assert.equal(record.status, 200, record.text);
    assert.deepEqual([record.json.passed, record.json.code, record.json.similarity], [false, callback.code, 12.3]);
  });

  it('a forged or tampered callback is not verified', async () => {
    const { order, callback } = await verification(workers[0], 'fail');
    const forged = [
      { ...callback, code: '0' },
      { ...callback, orderNo: `${order.orderNo}x` },
      { ...callback, newSign: faceIdSign([DEFAULT_APP_ID, order.orderNo, 'a-guessed-ticket', '0']) },
      { ...callback, newSign: undefined },
      { ...callback, code: 0 },
      { ...callback, newSign: [callback.newSign] },
      { code: '0', orderNo: order.orderNo },
      {},
    ];
    for (const body of forged) {
      const verdict = await verify(workers[1], body);
      assert.equal(verdict.status, 200, verdict.text);
      assert.deepEqual([verdict.json.verified, verdict.json.passed], [false, false], JSON.stringify(body));
    }
    assert.equal((await verify(workers[2], callback)).json.verified, true, 'the untampered callback still verifies');
  });

  it('refuses a callback URL outside ALLOWED_CALLBACKS, and registers nothing', async () => {
    const before = await flowRequests();
    const refused = [
      'https://evil.example/faceid/done',
      'http://127.0.0.1:87870/faceid/done',
      'http://127.0.0.1:8787.evil.com/faceid/done',
      'http://127.0.0.1:8787@evil.example/faceid/done',
      'http://evil.example\\@127.0.0.1:8787/',
      'http://user:password@127.0.0.1:8787/faceid/done',
      'https://127.0.0.1:8787/faceid/done',
      'http://127.0.0.1/faceid/done',
      'http://localhost:8787/faceid/done',
      'https://partner.example.evil.example/',
      '//127.0.0.1:8787/faceid/done',
      '/faceid/done',
      'javascript:alert(1)//127.0.0.1:8787',
      '',
      42,
      undefined,
    ];
    for (const [i, callbackUrl] of refused.entries()) {
      const reply = await startOrder(workers[i % 3], { callbackUrl });
      assertError(reply, 400, 'invalid_argument', 'callbackUrl');
    }
    assert.equal(await flowRequests(), before, 'no order was registered');
  });

  it('answers missing or invalid fields with 400 naming the field, sending nothing upstream', async () => {
    const before = (await requestLog()).length;
    const cases = [
      ['userId', { userId: undefined }], ['userId', { userId: 'a b' }],
      ['name', { name: undefined }], ['name', { name: '' }], ['name', { name: 'n'.repeat(65) }], ['name', { name: 7 }],
      ['idNo', { idNo: undefined }], ['idNo', { idNo: '1'.repeat(33) }], ['idNo', { idNo: '1\u0000' }],
      ['orderNo', { orderNo: 'order-1' }], ['orderNo', { orderNo: 'o'.repeat(33) }], ['orderNo', { orderNo: null }],
      ['from', { from: 'desktop' }], ['from', { from: null }],
    ];
    for (const [field, change] of cases) {
      assertError(await startOrder(workers[1], change), 400, 'invalid_argument', field);
    }
    for (const orderNo of ['order-1', '%41bc', 'o'.repeat(33)]) {
      assertError(await call(workers[2], `/faceid/orders/${orderNo}`), 400, 'invalid_argument', 'orderNo');
    }
    assertError(await call(workers[0], '/faceid/orders/a/b'), 404, 'not_found');
    assertError(await call(workers[0], '/faceid/orders'), 405, 'method_not_allowed');
    assertError(await call(workers[0], '/faceid/orders/abc', { method: 'POST' }), 405, 'method_not_allowed');
    assertError(await call(workers[0], '/faceid/callbacks/verify', { method: 'POST', headers: json, body: '{"code":' }),
      400, 'invalid_argument', 'body');
    assertError(await call(workers[0], '/faceid/callbacks/verify', { method: 'POST', body: '{}' }), 415, 'invalid_argument', 'body');
    assert.equal((await requestLog()).length, before);
  });

  it('the largest valid order fits the body limit, even with every character escaped', async () => {
    const longest = {
      userId: 'u'.repeat(30), name: '测'.repeat(64), idNo: '1'.repeat(32), orderNo: `L${Date.now()}`.padEnd(32, '0'),
      callbackUrl: `${CALLBACK_ORIGIN}/faceid/done?return=${'r'.repeat(200)}`, from: 'browser',
    };
    const reply = await call(workers[0], '/faceid/orders', { method: 'POST', headers: json, body: escapeNonAscii(JSON.stringify(longest)) });
    assert.equal(reply.status, 200, reply.text);
  });

  it('requires the bearer key on all three routes', async () => {
    const before = (await requestLog()).length;
    for (const [path, method] of [['/faceid/orders', 'POST'], ['/faceid/callbacks/verify', 'POST'], ['/faceid/orders/abc1', 'GET']]) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
        const body = method === 'POST' ? JSON.stringify({ userId: 'u', ...PERSON, callbackUrl: CALLBACK }) : undefined;
        assertError(await call(workers[0], path, { method, auth: false, headers: { ...json, ...headers }, body }), 401, 'unauthorized');
      }
    }
    assert.equal((await requestLog()).length, before);
  });

  it('an unknown order, or one not finished yet, is the service\'s refusal (502 api)', async () => {
    assertError(await call(workers[0], '/faceid/orders/neverRegistered1'), 502, 'api');
    const start = await startOrder(workers[1]);
    assertError(await call(workers[2], `/faceid/orders/${start.json.orderNo}`), 502, 'api');
  });

  it('a refusal that echoes the name and ID number: the worker answers and logs neither', async () => {
    // A service whose refusal repeats the identity it was sent.
    const echoing = await standInService(({ name, idNo }) => ({ code: '66660001', msg: `姓名 ${name} 与身份证 ${idNo} 不一致` }));
    const fleet = await startFleet({ bindings: { FACEID_ENDPOINT: echoing.url, ALLOWED_CALLBACKS: CALLBACK_ORIGIN } });
    try {
      const reply = await startOrder(fleet.workers[0]);
      assertError(reply, 502, 'api');
      assert.match(reply.json.error.message, /66660001/);
      await eventually('the worker logged the refusal', () => output.some((line) => line.includes('66660001')));
      // Checked with every other text after the last test.
    } finally {
      await fleet.mf.dispose();
      await echoing.close();
    }
  });

  it('a callback that cannot be checked for want of a SIGN ticket is a 502 with Retry-After, never verified: false', async () => {
    // A new object, whose SIGN requests fail: it has no ticket to check any callback with.
    await control(emu, 'POST', '/fault', { mode: 'http_error', status: 503, path: 'sign' });
    const cold = await startFleet({ bindings: { ALLOWED_CALLBACKS: CALLBACK_ORIGIN } });
    try {
      const reply = await verify(cold.workers[1], { code: '0', orderNo: 'order1', newSign: 'A'.repeat(40) });
      assertError(reply, 502, 'http');
      assert.equal(reply.headers.get('retry-after'), String(Math.ceil(reply.json.error.retry_after_ms / 1000)));
    } finally {
      await control(emu, 'DELETE', '/fault');
      await cold.mf.dispose();
    }
  });

  it('a callback signed before a token refresh verifies after it, through the object, also after a restart', async () => {
    // The object's alarm replaces the token after 10 s; the callback is signed with the SIGN
    // ticket of the token before.
    const refreshing = await startFleet({
      bindings: { ALLOWED_CALLBACKS: CALLBACK_ORIGIN, FACEID_REFRESH_AFTER_SECONDS: '10' },
    });
    let restarted;
    try {
      const { order, callback } = await verification(refreshing.workers[0], 'pass');
      const tokens = (await counters()).access_token;
      await eventually('the alarm replaced the token', async () => (await counters()).access_token > tokens, { withinMs: 30_000 });
      const current = emu.state.signTickets.get(emu.state.currentToken.get(DEFAULT_APP_ID));
      assert.ok(!current || faceIdSign([DEFAULT_APP_ID, order.orderNo, current.value, callback.code]) !== callback.newSign,
        'the callback is not signed with the current SIGN ticket');
      const expected = { verified: true, passed: true, orderNo: order.orderNo, code: '0' };
      assert.deepEqual((await verify(refreshing.workers[1], callback)).json, expected);

      // The previous ticket travels in the object's saved state.
      await refreshing.mf.dispose();
      restarted = await startFleet({
        persist: refreshing.persist, bindings: { ALLOWED_CALLBACKS: CALLBACK_ORIGIN, FACEID_REFRESH_AFTER_SECONDS: '10' },
      });
      assert.deepEqual((await verify(restarted.workers[2], callback)).json, expected);
      assert.equal((await counters()).access_token, tokens + 1, 'one refresh: the callback\'s ticket is the previous one');
      assert.equal((await verify(restarted.workers[0], { ...callback, code: '1' })).json.verified, false);
    } finally {
      await refreshing.mf.dispose().catch(() => {});
      await restarted?.mf.dispose();
    }
  });
});
