// One verification end to end through the installed package (imported BY NAME) against the
// in-process emulator: register the order, build the H5 login URL, walk the emulator's H5 page,
// verify the callback, query the result. Every signature is also computed here, with node:crypto.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, DEFAULT_SECRET, control, rejection, shiftClock, standInService, walkH5, withEmulator,
} from './support.mjs';

const PERSON = { name: '张三', idNo: '110101199003071234' };
const CALLBACK = 'http://127.0.0.1:9/verified';
const MINUTE_MS = 60_000;

let api;
let emu;
withEmulator((started) => ({ emu, pkg: { esm: api } } = started));

const newClient = (overrides = {}) => new api.FaceIdClient({
  appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url, ...overrides,
});

/** SHA-1, upper-case hex, of the values sorted by UTF-16 code units: computed independently. */
const referenceSign = (values) => createHash('sha1').update([...values].sort().join(''), 'utf8').digest('hex').toUpperCase();

let orders = 0;
const nextOrderNo = () => `order${Date.now().toString(36)}${(orders += 1)}`;

async function registered(client, overrides = {}) {
  const orderNo = nextOrderNo();
  const order = await client.registerOrder({ orderNo, userId: 'user_flow', ...PERSON, ...overrides });
  return { orderNo, order };
}

function expectNoPersonalData(...texts) {
  for (const text of texts) {
    for (const value of Object.values(PERSON)) assert.ok(!String(text).includes(value), `personal data in: ${text}`);
  }
}

describe('one verification end to end', () => {
  it('registers, starts the H5 page, verifies the callback and queries the passed result', async () => {
    const client = newClient();
    const { orderNo, order } = await registered(client);
    assert.deepEqual(Object.keys(order).sort(), ['faceId', 'optimalDomain', 'orderNo', 'transaction_time']);
    assert.equal(order.orderNo, orderNo);
    assert.equal(order.optimalDomain, new URL(emu.url).host, 'the emulator points back at itself');

    const before = Date.now();
    const login = await client.h5LoginUrl({
      orderNo, faceId: order.faceId, userId: 'user_flow', callbackUrl: CALLBACK, optimalDomain: order.optimalDomain,
    });
    const url = new URL(login.url);
    assert.equal(url.origin, emu.url, 'http only because the host is loopback');
    assert.equal(url.pathname, '/api/web/login');
    const query = Object.fromEntries(url.searchParams);
    assert.deepEqual(Object.keys(query).sort(),
      ['appId', 'faceId', 'from', 'nonce', 'orderNo', 'redirectType', 'sign', 'url', 'userId', 'version']);
    assert.equal(query.url, CALLBACK);
    assert.equal(query.from, 'browser');
    assert.equal(query.redirectType, '1');
    // The seven values, signed with the NONCE ticket the emulator issued for this user.
    const [ticket] = [...emu.state.nonceTickets.entries()].filter(([, t]) => t.userId === 'user_flow').map(([value]) => value);
    assert.equal(query.sign, referenceSign([DEFAULT_APP_ID, 'user_flow', orderNo, '1.0.0', order.faceId, ticket, query.nonce]));
    assert.ok(login.expires_at >= before + 120_000 && login.expires_at <= Date.now() + 120_000);

    const callback = await walkH5(login.url, 'pass');
    assert.ok(callback.startsWith(`${CALLBACK}?`), callback);
    for (const form of [callback, new URL(callback), new URL(callback).searchParams, Object.fromEntries(new URL(callback).searchParams)]) {
      assert.deepEqual(await client.verifyCallback(form), { verified: true, passed: true, orderNo, code: '0' }, inspect(form));
    }

    const record = await client.queryFaceRecord({ orderNo });
    assert.equal(record.orderNo, orderNo);
    assert.equal(record.passed, true);
    assert.equal(record.code, '0');
    assert.equal(typeof record.liveRate, 'number');
    assert.equal(typeof record.similarity, 'number');
    assert.match(record.occurredTime, /^\d{14}$/);
    assert.ok(!('photo' in record) && !('video' in record), 'no files unless asked');
    const withPhoto = await client.queryFaceRecord({ orderNo, files: 'photo' });
    assert.match(withPhoto.photo, /^[A-Za-z0-9+/]+=*$/);
    assert.ok(!('video' in withPhoto));
    const both = await client.queryFaceRecord({ orderNo, files: 'both' });
    assert.ok(both.photo && both.video);

    // Every server call was signed with the SIGN ticket: one token, one SIGN ticket, one NONCE.
    const { apps } = await control(emu, 'GET', 'counters');
    assert.deepEqual({ ...apps[DEFAULT_APP_ID] }, { access_token: 1, sign: 1, nonce: 1 });
    expectNoPersonalData(JSON.stringify(emu.state.log), inspect(client, { showHidden: true }), client.exportState());
  });

  it('a failed verification is verified, not passed, and its record says so', async () => {
    const client = newClient();
    const { orderNo, order } = await registered(client);
    const login = await client.h5LoginUrl({ orderNo, faceId: order.faceId, userId: 'user_flow', callbackUrl: CALLBACK });
    const callback = await walkH5(login.url, 'fail');
    const verdict = await client.verifyCallback(callback);
    assert.equal(verdict.verified, true);
    assert.equal(verdict.passed, false);
    assert.notEqual(verdict.code, '0');
    const record = await client.queryFaceRecord({ orderNo });
    assert.equal(record.passed, false);
    assert.notEqual(record.code, '0');
  });
});

describe('verifyCallback', () => {
  it('a forged or tampered callback is not verified, and bad input never throws', async () => {
    const client = newClient();
    const { orderNo, order } = await registered(client);
    const login = await client.h5LoginUrl({ orderNo, faceId: order.faceId, userId: 'user_flow', callbackUrl: CALLBACK });
    const good = Object.fromEntries(new URL(await walkH5(login.url, 'fail')).searchParams);
    const forged = [
      { ...good, code: '0' },
      { ...good, orderNo: `${orderNo}x` },
      { ...good, newSign: referenceSign([DEFAULT_APP_ID, orderNo, 'guessed-ticket', '0']) },
      { ...good, newSign: undefined },
      { code: '0', orderNo },
      {}, 'not a url', '', 42, null, undefined, [], new URLSearchParams('code=0'),
      { get code() { throw new Error('hostile getter'); }, orderNo, newSign: good.newSign },
    ];
    for (const input of forged) {
      const verdict = await client.verifyCallback(input);
      assert.equal(verdict.verified, false, inspect(input));
      assert.equal(verdict.passed, false);
    }
    assert.equal((await client.verifyCallback({ ...good, newSign: good.newSign.toLowerCase() })).verified, true,
      'newSign is compared as hex, case-insensitively');
  });

  it('a callback signed with the previous SIGN ticket verifies after a token refresh', async () => {
    const client = newClient();
    const { orderNo, order } = await registered(client);
    const login = await client.h5LoginUrl({ orderNo, faceId: order.faceId, userId: 'user_flow', callbackUrl: CALLBACK });
    const callback = await walkH5(login.url, 'pass');
    // The token (and with it the SIGN ticket) is replaced before the user comes back.
    shiftClock(21 * MINUTE_MS);
    const before = (await control(emu, 'GET', 'counters')).apps[DEFAULT_APP_ID];
    await client.signTicket();
    const afterRefresh = (await control(emu, 'GET', 'counters')).apps[DEFAULT_APP_ID];
    assert.deepEqual([afterRefresh.access_token, afterRefresh.sign], [before.access_token + 1, before.sign + 1]);
    assert.equal((await client.verifyCallback(callback)).verified, true);
    // It travels in the exported state.
    const resumed = api.FaceIdClient.importState({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url }, client.exportState());
    assert.equal((await resumed.verifyCallback(callback)).verified, true);
    assert.equal((await newClient().verifyCallback(callback)).verified, false, 'a client without that ticket cannot verify it');
  });

  it('rejects with the FaceIdError when the SIGN ticket cannot be had', async () => {
    const client = newClient();
    await control(emu, 'POST', 'fault', { mode: 'http_error', status: 503, path: 'access_token' });
    const error = await rejection(client.verifyCallback({ code: '0', orderNo: 'o1', newSign: 'A'.repeat(40) }));
    assert.equal(error.kind, 'http');
    await control(emu, 'DELETE', 'fault');
  });
});

describe('registerOrder', () => {
  it('checks its input before sending anything, naming the field', async () => {
    const client = newClient();
    const base = { orderNo: 'order1', userId: 'u', ...PERSON };
    const cases = [
      ['orderNo', { orderNo: '' }], ['orderNo', { orderNo: 'o'.repeat(33) }], ['orderNo', { orderNo: 'order-1' }],
      ['name', { name: '' }], ['name', { name: 'n'.repeat(65) }], ['name', { name: 'a\u0000b' }], ['name', { name: 'a\u0085b' }],
      ['idNo', { idNo: '' }], ['idNo', { idNo: '1'.repeat(33) }], ['idNo', { idNo: '1\u007f' }],
      ['userId', { userId: 'a b' }], ['sourcePhoto', { sourcePhoto: 'abc' }], ['sourcePhoto.type', { sourcePhoto: { base64: 'YQ==', type: 3 } }],
      ['liveInterType', { liveInterType: 2 }],
    ];
    for (const [field, change] of cases) {
      const error = await rejection(client.registerOrder({ ...base, ...change }));
      assert.equal(error.kind, 'invalid_argument', `${field}: ${error.message}`);
      assert.equal(error.field, field);
      expectNoPersonalData(error.message, error.stack);
    }
    assert.equal(emu.state.log.length, 0);
    // Lengths count characters, not bytes: 64 CJK characters are a valid name.
    await client.registerOrder({ ...base, orderNo: 'o'.repeat(32), name: '张'.repeat(64), idNo: '1'.repeat(32) });
  });

  it('an order number registered twice is the service\'s api error, with no personal data in it', async () => {
    const client = newClient();
    const { orderNo } = await registered(client);
    const error = await rejection(client.registerOrder({ orderNo, userId: 'user_flow', ...PERSON }));
    assert.equal(error.kind, 'api');
    expectNoPersonalData(error.message, error.msg, JSON.stringify(error));
  });
});

describe('h5LoginUrl', () => {
  it('checks the callback URL and the domain, and encodes every value', async () => {
    const client = newClient();
    const base = { orderNo: 'order1', faceId: 'face1', userId: 'u', callbackUrl: CALLBACK };
    for (const [field, change] of [
      ['callbackUrl', { callbackUrl: 'http://example.com/cb' }], ['callbackUrl', { callbackUrl: 'https://user:pw@example.com/' }],
      ['callbackUrl', { callbackUrl: 'javascript:alert(1)' }], ['callbackUrl', { callbackUrl: 'https://partner.example/两' }],
      ['optimalDomain', { optimalDomain: 'evil.com/path' }],
      ['optimalDomain', { optimalDomain: 'https://evil.com' }], ['from', { from: 'desktop' }], ['resultType', { resultType: 1 }],
    ]) {
      const error = await rejection(client.h5LoginUrl({ ...base, ...change }));
      assert.equal(error.kind, 'invalid_argument', `${field}: ${error.message}`);
      assert.equal(error.field, field);
    }
    assert.equal(emu.state.log.length, 0);
    const login = await client.h5LoginUrl({
      ...base, callbackUrl: 'https://partner.example/cb?a=1&b=%E4%B8%A4', from: 'App', resultType: true, optimalDomain: 'kyc1.qcloud.com',
    });
    const url = new URL(login.url);
    assert.equal(url.origin, 'https://kyc1.qcloud.com');
    assert.equal(url.searchParams.get('url'), 'https://partner.example/cb?a=1&b=%E4%B8%A4');
    assert.ok(login.url.includes('url=https%3A%2F%2Fpartner.example%2Fcb%3Fa%3D1%26b%3D%25E4%25B8%25A4'), login.url);
    assert.equal(url.searchParams.get('from'), 'App');
    assert.equal(url.searchParams.get('resultType'), '1');
  });
});

describe('queryFaceRecord', () => {
  /** A FaceID stand-in whose result answer carries `padding` bytes of video. */
  const bigAnswers = (padding) => standInService(() => ({
    code: '0', msg: 'ok', result: { orderNo: 'big1', liveRate: '99', similarity: '88.5', occurredTime: '20261202120000', video: 'v'.repeat(padding) },
  }));

  it('reads up to 16 MiB when files are asked for, and 64 KiB otherwise', async () => {
    const server = await bigAnswers(200_000);
    const client = newClient({ endpoint: server.url });
    const error = await rejection(client.queryFaceRecord({ orderNo: 'big1' }));
    assert.equal(error.kind, 'bad_response');
    assert.match(error.message, /65536/);
    const record = await client.queryFaceRecord({ orderNo: 'big1', files: 'video' });
    assert.equal(record.video.length, 200_000);
    assert.equal(record.liveRate, 99, 'scores sent as strings become numbers');
    assert.equal(record.similarity, 88.5);
    await server.close();
  });

  it('an unknown order is an api error; a bad files choice is invalid_argument', async () => {
    const client = newClient();
    assert.equal((await rejection(client.queryFaceRecord({ orderNo: 'never1' }))).kind, 'api');
    const error = await rejection(client.queryFaceRecord({ orderNo: 'o1', files: 'all' }));
    assert.equal([error.kind, error.field].join(), 'invalid_argument,files');
  });
});
