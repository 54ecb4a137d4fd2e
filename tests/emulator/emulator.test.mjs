// Tests of the FaceID emulator itself, over real HTTP. Run: node --test tests/emulator/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';

import { DEFAULT_APP_ID, DEFAULT_SECRET, faceIdSign, startEmulator } from './emulator.mjs';

const APP = DEFAULT_APP_ID;
const SECRET = DEFAULT_SECRET;
const TOKEN_RE = /^[A-Za-z0-9_-]{64}$/;
const TIME_RE = /^\d{14}$/;
const NONCE = 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T';

let emu;

before(async () => {
  emu = await startEmulator();
});
after(() => emu.close());
beforeEach(() => control('POST', '/__emulator/reset'));

// ---------------------------------------------------------------------------
// helpers

async function call(path, init) {
  const res = await fetch(emu.url + path, init);
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, text, body: isJson && text ? JSON.parse(text) : undefined };
}

function control(method, path, body) {
  const init = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  return call(path, init);
}

const reset = (config) => control('POST', '/__emulator/reset', config);
const arm = (fault) => control('POST', '/__emulator/fault', fault);

function tokenParams(overrides = {}) {
  return { app_id: APP, secret: SECRET, grant_type: 'client_credential', version: '1.0.0', ...overrides };
}

// Builds a query string; a value of undefined drops the parameter.
function query(params) {
  const defined = Object.entries(params).filter(([, value]) => value !== undefined);
  return new URLSearchParams(defined).toString();
}

const requestToken = (overrides) => call(`/api/oauth2/access_token?${query(tokenParams(overrides))}`);

async function newToken(appId = APP, secret = SECRET) {
  const { body } = await requestToken({ app_id: appId, secret });
  assert.equal(body.code, '0', body.msg);
  return body.access_token;
}

function requestTicket(token, type, overrides = {}) {
  const params = { app_id: APP, access_token: token, type, version: '1.0.0', ...overrides };
  if (type === 'NONCE' && !('user_id' in overrides)) params.user_id = 'user_001';
  return call(`/api/oauth2/api_ticket?${query(params)}`);
}

async function ticketValue(token, type, overrides) {
  const { body } = await requestTicket(token, type, overrides);
  assert.equal(body.code, '0', body.msg);
  return body.tickets[0].value;
}

function sdkStart(fields) {
  return control('POST', '/__emulator/sdk-start', { appId: APP, userId: 'user_001', version: '1.0.0', nonce: NONCE, ...fields });
}

function assertNoSecrets(body, ...secrets) {
  const text = JSON.stringify(body);
  for (const secret of secrets) assert.ok(!text.includes(secret), 'a message leaks a secret or token');
}

// Requests path and aborts once the emulator has logged the request, not on a timer (busy CI
// machines). The emulator runs in this process: its handling up to any delay is done by then.
async function leaveOnceReceived(path) {
  const logged = emu.state.log.length;
  const controller = new AbortController();
  const pending = fetch(emu.url + path, { signal: controller.signal });
  pending.catch(() => {}); // judged below; keep it from being an unhandled rejection meanwhile
  while (emu.state.log.length === logged) await sleep(10);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
}

// ---------------------------------------------------------------------------

describe('signature helper', () => {
  it('matches the documented vectors', () => {
    assert.equal(faceIdSign(['IDAXXXXX', 'userID19959248596551', NONCE, '1.0.0',
      'XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS']), 'D7606F1741DDCF90757DA924EDCF152A200AC7F0');
    assert.equal(faceIdSign(['appId001', 'aabc1457895464', NONCE, '1.0.0',
      'FxlAe3HFtEy73Um0pJNzIUriwtfnS3KRcPXiesd5ulS4XRAIcT0FbfaP52dwZf5S']), '993D057C652D97FD90D5D298F2E5DC4B8D893CBC');
    assert.equal(faceIdSign(['appId001', '19959248596551', 'testName', '4300000000000', '19959248596551', '1.0.0',
      'duSz9ptwyW1Xn7r6gYItxz3feMdJ8Na5x7JZuoxurE7RcI5TdwCE4KT2eEeNNDoe']), '11670F8BD6181CF71FB4656534253A0627D835CF');
  });
});

describe('access_token', () => {
  it('issues a token shaped like the real service', async () => {
    const { status, headers, body } = await requestToken();
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(body.code, '0');
    assert.equal(body.msg, '请求成功');
    assert.equal(body.success, true);
    assert.match(body.bizSeqNo, /^\d{32}$/);
    assert.match(body.transactionTime, TIME_RE);
    assert.match(body.expire_time, TIME_RE);
    assert.match(body.access_token, TOKEN_RE);
    assert.equal(body.expire_in, '7200');
  });

  it('gives unique tokens and bizSeqNo', async () => {
    const a = (await requestToken()).body;
    const b = (await requestToken()).body;
    assert.notEqual(a.access_token, b.access_token);
    assert.notEqual(a.bizSeqNo, b.bizSeqNo);
  });

  it('validates every parameter, answering HTTP 200 with a code', async () => {
    const cases = [
      [{ app_id: undefined }, '400101', 'app_id'],
      [{ secret: undefined }, '400101', 'secret'],
      [{ grant_type: undefined }, '400101', 'grant_type'],
      [{ version: undefined }, '400101', 'version'],
      [{ version: '1'.repeat(21) }, '400101', 'version'],
      [{ version: '1.0 0' }, '400101', 'version'],
      [{ app_id: 'IDANOPE1' }, '400102', 'app_id'],
      [{ app_id: 'toString' }, '400102', 'app_id'],
      [{ secret: 'wrong-secret' }, '400103', 'secret'],
      [{ grant_type: 'CLIENT_CREDENTIAL' }, '400104', 'grant_type'],
    ];
    for (const [overrides, code, name] of cases) {
      const { status, body } = await requestToken(overrides);
      assert.equal(status, 200);
      assert.equal(body.code, code, JSON.stringify(overrides));
      assert.equal(body.success, false);
      assert.match(body.transactionTime, TIME_RE);
      assert.ok(body.msg.includes(name), `msg names ${name}: ${body.msg}`);
      assertNoSecrets(body, SECRET, 'wrong-secret');
    }
  });

  it('answers 405 JSON to other methods', async () => {
    const { status, body } = await call(`/api/oauth2/access_token?${query(tokenParams())}`, { method: 'POST' });
    assert.equal(status, 405);
    assert.equal(body.code, '400001');
  });
});

describe('token lifetime', () => {
  it('keeps the previous token for tokenOverlapMs and kills older ones at once', async () => {
    await reset({ tokenOverlapMs: 200 });
    const t1 = await newToken();
    const t2 = await newToken();
    assert.equal((await requestTicket(t1, 'SIGN')).body.code, '0', 'previous token still in its window');
    const t3 = await newToken();
    const dead = (await requestTicket(t1, 'SIGN')).body;
    assert.equal(dead.code, '400202', 'the token before the previous one dies at once');
    assertNoSecrets(dead, t1);
    assert.equal((await requestTicket(t2, 'SIGN')).body.code, '0');
    await sleep(250);
    assert.equal((await requestTicket(t2, 'SIGN')).body.code, '400202');
    assert.equal((await requestTicket(t3, 'SIGN')).body.code, '0');
  });

  it('expires a token after tokenExpireIn', async () => {
    await reset({ tokenExpireIn: 0.2 });
    const { body } = await requestToken();
    assert.equal(body.expire_in, '0.2');
    assert.equal((await requestTicket(body.access_token, 'NONCE')).body.code, '0');
    await sleep(250);
    assert.equal((await requestTicket(body.access_token, 'NONCE')).body.code, '400202');
  });

  it('rejects unknown tokens and tokens of another app', async () => {
    await reset({ apps: { [APP]: SECRET, IDAOTHER: 'other-secret' } });
    const other = await newToken('IDAOTHER', 'other-secret');
    const fake = 'A'.repeat(64);
    const unknown = (await requestTicket(fake, 'SIGN')).body;
    assert.equal(unknown.code, '400201');
    assertNoSecrets(unknown, fake);
    assert.equal((await requestTicket(other, 'SIGN')).body.code, '400201');
  });

  it('rotate puts the current token into its overlap window without revealing the new one', async () => {
    await reset({ tokenOverlapMs: 100 });
    const t1 = await newToken();
    const rotated = await control('POST', '/__emulator/rotate', { appId: APP });
    assert.deepEqual(rotated.body, { ok: true });
    assert.equal((await requestTicket(t1, 'SIGN')).body.code, '0');
    await sleep(150);
    assert.equal((await requestTicket(t1, 'SIGN')).body.code, '400202');
    const unknown = await control('POST', '/__emulator/rotate', { appId: 'IDANOPE1' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, '400102');
  });

  it('expire-tokens kills every token of the app at once', async () => {
    const t1 = await newToken();
    const t2 = await newToken();
    assert.deepEqual((await control('POST', '/__emulator/expire-tokens', { appId: APP })).body, { ok: true });
    assert.equal((await requestTicket(t1, 'SIGN')).body.code, '400202');
    assert.equal((await requestTicket(t2, 'SIGN')).body.code, '400202');
    assert.equal((await requestTicket(await newToken(), 'SIGN')).body.code, '0');
  });
});

describe('api_ticket', () => {
  it('validates parameters', async () => {
    const token = await newToken();
    const cases = [
      ['SIGN', { app_id: undefined }, '400101'],
      ['SIGN', { access_token: undefined }, '400101'],
      ['SIGN', { version: undefined }, '400101'],
      [undefined, {}, '400101'],
      ['sign', {}, '400301'],
      ['NONCE', { user_id: undefined }, '400101'],
      ['NONCE', { user_id: 'u'.repeat(31) }, '400101'],
      ['NONCE', { user_id: 'user@example' }, '400101'],
      ['SIGN', { app_id: 'IDANOPE1' }, '400102'],
    ];
    for (const [type, overrides, code] of cases) {
      const { status, body } = await requestTicket(token, type, overrides);
      assert.equal(status, 200);
      assert.equal(body.code, code, `${type} ${JSON.stringify(overrides)}`);
      assertNoSecrets(body, token);
    }
    assert.equal((await requestTicket(token, 'NONCE', { user_id: 'u'.repeat(30) })).body.code, '0');
  });

  it('reuses one SIGN ticket per token, and it dies with its token', async () => {
    const t1 = await newToken();
    const first = (await requestTicket(t1, 'SIGN')).body;
    assert.equal(first.tickets.length, 1);
    assert.match(first.tickets[0].value, TOKEN_RE);
    assert.equal(first.tickets[0].expire_in, '3600');
    assert.match(first.tickets[0].expire_time, TIME_RE);
    assert.equal(await ticketValue(t1, 'SIGN'), first.tickets[0].value);
    const t2 = await newToken();
    assert.notEqual(await ticketValue(t2, 'SIGN'), first.tickets[0].value);
    await control('POST', '/__emulator/expire-tokens', { appId: APP });
    assert.equal((await requestTicket(t2, 'SIGN')).body.code, '400202');
  });

  it('renews the SIGN ticket after signExpireIn', async () => {
    await reset({ signExpireIn: 0.2 });
    const token = await newToken();
    const first = await ticketValue(token, 'SIGN');
    await sleep(250);
    assert.notEqual(await ticketValue(token, 'SIGN'), first);
  });

  it('gives a fresh NONCE ticket every time, expire_in "120"', async () => {
    const token = await newToken();
    const values = new Set();
    for (let i = 0; i < 3; i += 1) {
      const { body } = await requestTicket(token, 'NONCE');
      assert.equal(body.tickets[0].expire_in, '120');
      assert.match(body.tickets[0].value, TOKEN_RE);
      values.add(body.tickets[0].value);
    }
    assert.equal(values.size, 3);
  });
});

describe('sdk-start', () => {
  async function nonceFor(userId = 'user_001') {
    return ticketValue(await newToken(), 'NONCE', { user_id: userId });
  }
  const signWith = (ticket, userId = 'user_001', version = '1.0.0') => faceIdSign([APP, userId, NONCE, version, ticket]);

  it('accepts a correct signature once', async () => {
    const ticket = await nonceFor();
    const ok = await sdkStart({ sign: signWith(ticket) });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.code, '0');
    assert.equal(ok.body.success, true);
    assert.equal((await sdkStart({ sign: signWith(ticket) })).body.code, '400402');
  });

  it('accepts lower-case hex', async () => {
    const ticket = await nonceFor();
    assert.equal((await sdkStart({ sign: signWith(ticket).toLowerCase() })).body.code, '0');
  });

  it('rejects a wrong signature, user or ticket type', async () => {
    const ticket = await nonceFor();
    assert.equal((await sdkStart({ sign: signWith(ticket, 'user_001', '2.0.0') })).body.code, '400401');
    assert.equal((await sdkStart({ userId: 'user_002', sign: signWith(ticket, 'user_002') })).body.code, '400401');
    const signTicket = await ticketValue(await newToken(), 'SIGN');
    assert.equal((await sdkStart({ sign: signWith(signTicket) })).body.code, '400401');
    assert.equal((await sdkStart({ sign: undefined })).body.code, '400101');
  });

  it('rejects an expired ticket or one whose token died', async () => {
    await reset({ nonceExpireIn: 0.2 });
    const old = await nonceFor();
    await sleep(250);
    assert.equal((await sdkStart({ sign: signWith(old) })).body.code, '400402');
    const orphan = await nonceFor();
    await control('POST', '/__emulator/expire-tokens', { appId: APP });
    assert.equal((await sdkStart({ sign: signWith(orphan) })).body.code, '400402');
  });
});

describe('faults', () => {
  it('http_error answers the status for count requests, then recovers', async () => {
    await arm({ mode: 'http_error', status: 503, count: 1 });
    const failed = await requestToken();
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('access-control-allow-origin'), '*');
    assert.equal((await requestToken()).body.code, '0');
    await arm({ mode: 'http_error' });
    assert.equal((await requestToken()).status, 500);
    assert.equal((await requestToken()).status, 500, 'no count: until cleared');
    await control('DELETE', '/__emulator/fault');
    assert.equal((await requestToken()).body.code, '0');
  });

  it('html and invalid_json', async () => {
    await arm({ mode: 'html', count: 1 });
    const html = await requestToken();
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.match(html.text, /^<!DOCTYPE html>/);
    await arm({ mode: 'invalid_json', count: 1 });
    const broken = await fetch(`${emu.url}/api/oauth2/access_token?${query(tokenParams())}`);
    assert.equal(broken.status, 200);
    assert.equal(await broken.text(), '{"code":"0","tickets":[');
  });

  it('broken ticket bodies, limited to api_ticket by path', async () => {
    const expectations = {
      empty_tickets: (body) => assert.deepEqual(body.tickets, []),
      no_value: (body) => assert.deepEqual(body.tickets, [{ expire_in: '120' }]),
      bad_expire_in: (body) => assert.equal(body.tickets[0].expire_in, 'soon'),
    };
    for (const [mode, check] of Object.entries(expectations)) {
      await arm({ mode, path: 'api_ticket', count: 1 });
      const token = await newToken(); // not affected: the fault waits for api_ticket
      const { body } = await requestTicket(token, 'NONCE');
      assert.equal(body.code, '0', mode);
      check(body);
    }
    assert.deepEqual((await control('GET', '/__emulator/fault')).body, { fault: null, faults: [] });
  });

  it('api_error answers code 500001', async () => {
    await arm({ mode: 'api_error', count: 1 });
    const { status, body } = await requestToken();
    assert.equal(status, 200);
    assert.equal(body.code, '500001');
    assert.equal(body.msg, '服务异常，请稍后重试');
    assert.match(body.transactionTime, TIME_RE);
  });

  it('slow waits delayMs, then answers normally', async () => {
    await arm({ mode: 'slow', delayMs: 150, count: 1 });
    const started = Date.now();
    const { body } = await requestToken();
    assert.ok(Date.now() - started >= 140);
    assert.equal(body.code, '0');
  });

  it('slow mints before it delays: a client that leaves still retires the previous token', async () => {
    const older = await newToken();
    const previous = await newToken();
    await arm({ mode: 'slow', delayMs: 60000, path: 'access_token', count: 1 });
    await leaveOnceReceived(`/api/oauth2/access_token?${query(tokenParams())}`);
    assert.equal(emu.state.tokens.size, 3, 'a third token was minted');
    assert.notEqual(emu.state.currentToken.get(APP), previous);
    assert.equal(emu.state.counters[APP].access_token, 3);
    assert.equal((await requestTicket(older, 'SIGN')).body.code, '400202', 'the token before the previous one died');
    assert.equal((await requestTicket(previous, 'SIGN')).body.code, '0', 'the previous one is in its overlap window');
  });

  it('slow issues the NONCE ticket before it delays', async () => {
    const token = await newToken();
    await arm({ mode: 'slow', delayMs: 60000, path: 'api_ticket', count: 1 });
    await leaveOnceReceived(`/api/oauth2/api_ticket?${query({ app_id: APP, access_token: token, type: 'NONCE', version: '1.0.0', user_id: 'user_001' })}`);
    assert.equal(emu.state.nonceTickets.size, 1);
    assert.equal(emu.state.counters[APP].nonce, 1);
    assert.equal(emu.state.log.at(-1).query.type, 'NONCE');
  });

  it('drop closes the connection without an answer', async () => {
    await arm({ mode: 'drop', count: 1 });
    await assert.rejects(fetch(`${emu.url}/api/oauth2/access_token?${query(tokenParams())}`));
  });

  it('oversized streams 8 MiB of JSON string', async () => {
    await arm({ mode: 'oversized', count: 2 });
    const full = await requestToken();
    assert.equal(full.status, 200);
    assert.ok(full.text.startsWith('{"code":"0","msg":"xxxx'));
    assert.equal(full.text.length, '{"code":"0","msg":"'.length + 8 * 1024 * 1024 + 2);
    const res = await fetch(`${emu.url}/api/oauth2/access_token?${query(tokenParams())}`);
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel(); // the client goes away mid-stream; the server must stop writing
    assert.equal((await requestToken()).body.code, '0');
  });

  it('stall_body sends half a body and never finishes', async () => {
    await arm({ mode: 'stall_body', count: 1 });
    const res = await fetch(`${emu.url}/api/oauth2/access_token?${query(tokenParams())}`, { signal: AbortSignal.timeout(150) });
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get('content-length')) > 0);
    await assert.rejects(res.text());
  });

  it('http_error sends Retry-After when given, as seconds or a raw string', async () => {
    const cases = [[429, 1], [500, 0], [502, 30], [503, 120], [504, 'Wed, 21 Oct 2015 07:28:00 GMT'], [503, 'soon']];
    for (const [status, retryAfter] of cases) {
      await arm({ mode: 'http_error', status, retryAfter, count: 1 });
      const failed = await requestToken();
      assert.equal(failed.status, status);
      assert.equal(failed.headers.get('retry-after'), String(retryAfter));
    }
    await arm({ mode: 'http_error', status: 503, count: 1 });
    assert.equal((await requestToken()).headers.get('retry-after'), null, 'no Retry-After unless asked');
    for (const retryAfter of [-1, 1.5, 'a\r\nX-Injected: 1', 'déjà', {}]) {
      const { status, body } = await arm({ mode: 'http_error', status: 503, retryAfter });
      assert.equal(status, 400, JSON.stringify(retryAfter));
      assert.equal(body.code, '400101');
    }
  });

  it('rejects a bad fault', async () => {
    for (const fault of [{ mode: 'nope' }, { mode: 'http_error', status: 200 }, { mode: 'slow', path: 'other' }, { mode: 'drop', count: 0 }]) {
      const { status, body } = await arm(fault);
      assert.equal(status, 400, JSON.stringify(fault));
      assert.equal(body.code, '400101');
    }
  });
});

describe('several faults at once', () => {
  const armAll = (...faults) => arm({ faults });
  const armed = async () => (await control('GET', '/__emulator/fault')).body;

  it('arms one fault per path: token requests get HTTP 503 while ticket requests get an api error', async () => {
    const token = await newToken();
    assert.deepEqual((await armAll(
      { mode: 'http_error', status: 503, path: 'access_token' },
      { mode: 'api_error', path: 'api_ticket' },
    )).body, { ok: true });
    assert.equal((await requestToken()).status, 503);
    assert.equal((await requestTicket(token, 'NONCE')).body.code, '500001');
    assert.equal((await requestTicket(token, 'SIGN')).body.code, '500001');
    const { fault, faults } = await armed();
    assert.equal(fault, null, 'fault names the armed one only when it is alone');
    assert.deepEqual(faults.map((f) => [f.path, f.mode]), [['access_token', 'http_error'], ['api_ticket', 'api_error']]);
    assert.deepEqual((await control('DELETE', '/__emulator/fault')).body, { ok: true });
    assert.deepEqual(await armed(), { fault: null, faults: [] });
    assert.equal((await requestToken()).body.code, '0');
  });

  it('a request takes its ticket type\'s fault, then its endpoint\'s, then the any-path one', async () => {
    const token = await newToken();
    await armAll(
      { mode: 'html' },
      { mode: 'http_error', status: 502, path: 'api_ticket' },
      { mode: 'api_error', path: 'nonce', count: 1 },
    );
    assert.equal((await requestTicket(token, 'NONCE')).body.code, '500001');
    assert.equal((await requestTicket(token, 'NONCE')).status, 502, 'the nonce fault is used up');
    assert.equal((await requestTicket(token, 'SIGN')).status, 502);
    assert.match((await requestToken()).headers.get('content-type'), /^text\/html/);
    assert.deepEqual((await armed()).faults.map((f) => f.path), [null, 'api_ticket']);
  });

  it('a sign fault leaves NONCE requests alone', async () => {
    const token = await newToken();
    await armAll({ mode: 'empty_tickets', path: 'sign' });
    assert.deepEqual((await requestTicket(token, 'SIGN')).body.tickets, []);
    assert.equal((await requestTicket(token, 'NONCE')).body.tickets.length, 1);
  });

  it('counts each fault down on its own', async () => {
    await armAll({ mode: 'http_error', status: 503, path: 'access_token', count: 1 }, { mode: 'api_error', path: 'api_ticket', count: 2 });
    assert.equal((await requestToken()).status, 503);
    const token = await newToken();
    const { fault, faults } = await armed();
    assert.equal(faults.length, 1);
    assert.deepEqual([fault.path, fault.remaining], ['api_ticket', 2], 'fault names the only armed one');
    assert.equal((await requestTicket(token, 'SIGN')).body.code, '500001');
    assert.equal((await requestTicket(token, 'NONCE')).body.code, '500001');
    assert.equal((await requestTicket(token, 'NONCE')).body.code, '0');
    assert.deepEqual(await armed(), { fault: null, faults: [] });
  });

  it('a single-fault body replaces every armed fault, as before', async () => {
    const token = await newToken();
    await armAll({ mode: 'http_error', path: 'access_token' }, { mode: 'api_error', path: 'api_ticket' });
    await arm({ mode: 'html', path: 'access_token' });
    const { fault, faults } = await armed();
    assert.equal(faults.length, 1);
    assert.equal(fault.mode, 'html');
    assert.equal((await requestTicket(token, 'SIGN')).body.code, '0');
  });

  it('rejects a bad list and keeps the faults armed before it', async () => {
    await armAll({ mode: 'html', path: 'sign' });
    const bad = [
      { faults: [{ mode: 'html' }, { mode: 'drop' }] },
      { faults: [{ mode: 'html', path: 'nonce' }, { mode: 'drop', path: 'nonce' }] },
      { faults: [{ mode: 'html' }, { mode: 'nope', path: 'nonce' }] },
      { faults: [null] },
      { faults: { mode: 'html' } },
      { mode: 'html', faults: [] },
    ];
    for (const body of bad) {
      const { status, body: answer } = await arm(body);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(answer.code, '400101');
    }
    assert.deepEqual((await armed()).faults.map((f) => [f.path, f.mode]), [['sign', 'html']]);
  });
});

describe('CORS and routing', () => {
  const expectCors = (headers) => {
    assert.equal(headers.get('access-control-allow-origin'), '*');
    assert.equal(headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
    assert.equal(headers.get('access-control-allow-headers'), '*, content-type, authorization');
  };

  it('sends CORS headers on every answer', async () => {
    expectCors((await requestToken()).headers);
    expectCors((await requestToken({ secret: 'x' })).headers);
    expectCors((await call('/health')).headers);
    expectCors((await control('GET', '/__emulator/health')).headers);
    await arm({ mode: 'html', count: 1 });
    expectCors((await requestToken()).headers);
  });

  it('answers OPTIONS with 204 on any path, unlogged', async () => {
    for (const path of ['/api/oauth2/api_ticket', '/__emulator/reset', '/whatever']) {
      const { status, headers } = await call(path, { method: 'OPTIONS' });
      assert.equal(status, 204);
      expectCors(headers);
    }
    assert.deepEqual((await control('GET', '/__emulator/log')).body, { requests: [] });
  });

  it('answers 404 JSON to unknown paths and 405 to wrong control methods', async () => {
    const missing = await call('/api/oauth2/nope');
    assert.equal(missing.status, 404);
    assert.notEqual(missing.body.code, '0');
    const wrong = await control('DELETE', '/__emulator/health');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.ok, false);
  });
});

describe('control API', () => {
  it('health', async () => {
    assert.deepEqual((await control('GET', '/__emulator/health')).body, { ok: true });
  });

  it('logs FaceID requests and counts them per app', async () => {
    const token = await newToken();
    await requestToken({ secret: 'wrong' });
    await requestTicket(token, 'SIGN');
    await requestTicket(token, 'NONCE', { user_id: 'u1' });
    await requestTicket(token, 'sign');
    await requestToken({ app_id: 'IDAOTHER' });
    await control('GET', '/__emulator/health');

    const { requests } = (await control('GET', '/__emulator/log')).body;
    assert.deepEqual(requests.map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(requests.map((r) => r.path.split('/').pop()),
      ['access_token', 'access_token', 'api_ticket', 'api_ticket', 'api_ticket', 'access_token']);
    assert.equal(requests[0].method, 'GET');
    assert.deepEqual(requests[3].query, { app_id: APP, access_token: token, type: 'NONCE', version: '1.0.0', user_id: 'u1' });
    assert.equal(typeof requests[0].at, 'number');
    assert.equal(emu.state.log.length, 6);

    const counters = (await control('GET', '/__emulator/counters')).body;
    assert.deepEqual(counters, {
      apps: { [APP]: { access_token: 2, sign: 1, nonce: 1 }, IDAOTHER: { access_token: 1, sign: 0, nonce: 0 } },
    });
    assert.deepEqual(emu.state.counters, counters.apps);

    await control('DELETE', '/__emulator/log');
    assert.deepEqual(emu.state.log, []);
  });

  it('reset clears state and applies config, missing keys back to defaults', async () => {
    const before = await newToken();
    await arm({ mode: 'html' });
    assert.deepEqual((await reset({ apps: { IDATEST1: 'test-secret' }, tokenExpireIn: 60 })).body, { ok: true });
    assert.deepEqual(emu.state.log, []);
    assert.deepEqual(emu.state.counters, {});
    assert.equal((await requestToken()).body.code, '400102', 'fault cleared, default app replaced');
    const { body } = await requestToken({ app_id: 'IDATEST1', secret: 'test-secret' });
    assert.equal(body.expire_in, '60');

    await reset();
    assert.equal((await requestTicket(before, 'SIGN')).body.code, '400201', 'tokens are forgotten');
    assert.equal((await requestToken()).body.expire_in, '7200');
  });

  it('rejects a bad config', async () => {
    for (const config of [{ tokenExpireIn: -1 }, { nope: 1 }, { apps: [] }, { apps: { A: 1 } }, { tokenOverlapMs: 'x' }]) {
      const { status, body } = await reset(config);
      assert.equal(status, 400, JSON.stringify(config));
      assert.equal(body.code, '400101');
    }
    const notJson = await call('/__emulator/reset', { method: 'POST', body: '{' });
    assert.equal(notJson.status, 400);
  });
});

describe('close()', () => {
  async function closeWithFault(fault) {
    const own = await startEmulator();
    await fetch(`${own.url}/__emulator/fault`, { method: 'POST', body: JSON.stringify(fault) });
    const pending = fetch(`${own.url}/api/oauth2/access_token?${query(tokenParams())}`)
      .then((res) => res.arrayBuffer());
    pending.catch(() => {}); // judged below; keep it from being an unhandled rejection meanwhile
    while (own.state.log.length === 0) await sleep(10);
    await sleep(30); // let the fault start answering
    const started = Date.now();
    await own.close();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1000, `close took ${elapsed} ms`);
    return pending;
  }

  it('returns promptly with a slow request in flight', async () => {
    await assert.rejects(closeWithFault({ mode: 'slow', delayMs: 10000 }));
  });

  it('returns promptly with an oversized answer in flight', async () => {
    await closeWithFault({ mode: 'oversized' }).catch(() => {});
  });

  it('returns promptly with a stalled body in flight', async () => {
    await assert.rejects(closeWithFault({ mode: 'stall_body' }));
  });
});

describe('CLI', () => {
  it('prints one line when ready, serves apps from the environment, exits on SIGTERM', async () => {
    const server = fileURLToPath(new URL('./server.mjs', import.meta.url));
    const child = spawn(process.execPath, [server, '--port', '0'], {
      env: { ...process.env, FACEID_EMULATOR_APPS: JSON.stringify({ IDACLI01: 'cli-secret' }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = [];
    const reader = createInterface({ input: child.stdout });
    reader.on('line', (line) => lines.push(line));
    const exited = once(child, 'exit');
    try {
      const [first] = await once(reader, 'line');
      const match = /^FaceID emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
      assert.ok(match, first);
      const base = match[1];
      const ok = await (await fetch(`${base}/api/oauth2/access_token?${query(tokenParams({ app_id: 'IDACLI01', secret: 'cli-secret' }))}`)).json();
      assert.equal(ok.code, '0');
      const gone = await (await fetch(`${base}/api/oauth2/access_token?${query(tokenParams())}`)).json();
      assert.equal(gone.code, '400102');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(lines.length, 1);
  });
});

describe('redirect and random faults', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(() => emu.close());

  it('redirect answers 302 to the same path, marked', async () => {
    await fetch(`${emu.url}/__emulator/fault`, { method: 'POST', body: JSON.stringify({ mode: 'redirect', count: 1 }) });
    const response = await fetch(`${emu.url}/api/oauth2/api_ticket?app_id=X`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/api/oauth2/api_ticket?app_id=X&followed_redirect=1');
  });

  it('random faults are repeatable for a seed and follow the rate', async () => {
    const run = async () => {
      await fetch(`${emu.url}/__emulator/reset`, { method: 'POST', body: '{}' });
      await fetch(`${emu.url}/__emulator/fault`, {
        method: 'POST', body: JSON.stringify({ mode: 'random', seed: 42, rate: 0.5, modes: ['http_error', 'html'] }),
      });
      const statuses = [];
      for (let i = 0; i < 40; i += 1) {
        const response = await fetch(`${emu.url}/api/oauth2/api_ticket?app_id=X`);
        statuses.push(`${response.status}:${response.headers.get('content-type')}`);
        await response.arrayBuffer();
      }
      return { statuses, fault: (await (await fetch(`${emu.url}/__emulator/fault`)).json()).fault };
    };
    const first = await run();
    const second = await run();
    assert.deepEqual(first.statuses, second.statuses);
    const { drawn } = first.fault;
    assert.equal(drawn.http_error + drawn.html + drawn.none, 40);
    assert.ok(drawn.none >= 10 && drawn.none <= 30, JSON.stringify(drawn));
  });
});
