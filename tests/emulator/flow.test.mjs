// Tests of the emulator's verification flow (H5), over real HTTP. Run: node --test tests/emulator/
// Signatures are computed here with node:crypto, independently of the emulator's faceIdSign.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  DEFAULT_APP_ID, DEFAULT_SECRET, EMULATOR_PHOTO, EMULATOR_VIDEO, FLOW_CODES, startEmulator,
} from './emulator.mjs';

const APP = DEFAULT_APP_ID;
const USER = 'user_001';
const NONCE = 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T';
const NAME = '张三丰';
const ID_NO = '11010519491231002X';
const CALLBACK = 'https://partner.example/faceid/done?state=a%20b';

let emu;
let orderSeq = 0;

before(async () => {
  emu = await startEmulator();
});
after(() => emu.close());
beforeEach(() => post('/__emulator/reset', {}));

// ---------------------------------------------------------------------------
// helpers

/** sha1 over the values sorted by UTF-16 code units and joined, upper-case hex. */
function sha1Sign(values) {
  return createHash('sha1').update([...values].sort().join('')).digest('hex').toUpperCase();
}

async function post(path, body, headers = { 'content-type': 'application/json' }) {
  const res = await fetch(emu.url + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function get(path, params) {
  const query = params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined))}` : '';
  const res = await fetch(`${emu.url}${path}${query}`, { redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function getJson(path, params) {
  const res = await fetch(`${emu.url}${path}?${new URLSearchParams(params)}`);
  return res.json();
}

async function newToken() {
  const body = await getJson('/api/oauth2/access_token', {
    app_id: APP, secret: DEFAULT_SECRET, grant_type: 'client_credential', version: '1.0.0',
  });
  assert.equal(body.code, '0', body.msg);
  return body.access_token;
}

async function ticket(token, type, userId = USER) {
  const params = { app_id: APP, access_token: token, type, version: '1.0.0' };
  if (type === 'NONCE') params.user_id = userId;
  const body = await getJson('/api/oauth2/api_ticket', params);
  assert.equal(body.code, '0', body.msg);
  return body.tickets[0].value;
}

function nextOrderNo() {
  orderSeq += 1;
  return `order${orderSeq}`;
}

function registerBody(signTicket, fields = {}) {
  const body = { appId: APP, orderNo: nextOrderNo(), name: NAME, idNo: ID_NO, userId: USER, version: '1.0.0', nonce: NONCE, ...fields };
  body.sign ??= sha1Sign([body.appId, body.userId, body.nonce, body.version, signTicket]);
  return body;
}

function register(body, orderNoInQuery = body.orderNo) {
  return post(`/api/server/getAdvFaceId?orderNo=${orderNoInQuery}`, body);
}

function query(signTicket, orderNo, fields = {}) {
  const body = { appId: APP, version: '1.0.0', nonce: NONCE, orderNo, ...fields };
  body.sign ??= sha1Sign([body.appId, body.orderNo, body.nonce, body.version, signTicket]);
  return post(`/api/v2/base/queryfacerecord?orderNo=${orderNo}`, body);
}

/** The login parameters of an order, signed with a NONCE ticket over the seven values. */
function loginParams(order, nonceTicket, fields = {}) {
  const params = {
    appId: APP, version: '1.0.0', nonce: NONCE, orderNo: order.orderNo, faceId: order.faceId,
    url: CALLBACK, from: 'browser', userId: USER, redirectType: '1', ...fields,
  };
  params.sign ??= sha1Sign([params.appId, params.userId, params.orderNo, params.version, params.faceId, nonceTicket, params.nonce]);
  return params;
}

function login(params) {
  return get('/api/web/login', params);
}

function linkOf(page, id) {
  const match = new RegExp(`<a id="${id}" href="([^"]+)"`).exec(page.text);
  assert.ok(match, page.text);
  return match[1].replaceAll('&amp;', '&');
}

/** A registered order, its SIGN ticket, and a fresh NONCE ticket for its user. */
async function registeredOrder() {
  const token = await newToken();
  const signTicket = await ticket(token, 'SIGN');
  const body = registerBody(signTicket);
  const { body: answer } = await register(body);
  assert.equal(answer.code, '0', answer.msg);
  return { token, signTicket, orderNo: body.orderNo, faceId: answer.result.faceId, nonceTicket: await ticket(token, 'NONCE') };
}

/** Registers an order, logs in and clicks `outcome`; returns the callback URL and the order. */
async function verifiedOrder(outcome) {
  const order = await registeredOrder();
  const page = await login(loginParams(order, order.nonceTicket));
  const finished = await get(linkOf(page, outcome));
  assert.equal(finished.status, 302);
  return { ...order, callback: new URL(finished.headers.get('location')) };
}

// ---------------------------------------------------------------------------

describe('getAdvFaceId', () => {
  it('registers an order signed with the SIGN ticket and points back at the emulator', async () => {
    const token = await newToken();
    const signTicket = await ticket(token, 'SIGN');
    const body = registerBody(signTicket, { sourcePhotoStr: EMULATOR_PHOTO, sourcePhotoType: '2', liveInterType: '1' });
    const { status, body: answer } = await register(body);
    assert.equal(status, 200);
    assert.equal(answer.code, '0', answer.msg);
    assert.equal(answer.success, true);
    assert.match(answer.transactionTime, /^\d{14}$/);
    assert.equal(answer.result.orderNo, body.orderNo);
    assert.match(answer.result.faceId, /^tx[0-9a-f]{30}$/);
    assert.equal(answer.result.optimalDomain, new URL(emu.url).host);
    assert.equal(answer.result.oriCode, '0');
  });

  it('accepts a SIGN ticket of the previous token during its overlap, none after the tokens died', async () => {
    const old = await ticket(await newToken(), 'SIGN');
    await newToken();
    assert.equal((await register(registerBody(old))).body.code, '0');
    await post('/__emulator/expire-tokens', { appId: APP });
    assert.equal((await register(registerBody(old))).body.code, FLOW_CODES.SIGN_MISMATCH);
  });

  it('refuses a wrong sign, a NONCE-signed call, another shape and a duplicate order', async () => {
    const token = await newToken();
    const signTicket = await ticket(token, 'SIGN');
    const nonceTicket = await ticket(token, 'NONCE');
    const cases = [
      registerBody(nonceTicket),
      registerBody(signTicket, { sign: '0'.repeat(40) }),
      registerBody(signTicket, { sign: sha1Sign([APP, 'other', NONCE, '1.0.0', signTicket]) }),
    ];
    const orderNo = nextOrderNo();
    cases.push({ ...registerBody(signTicket), orderNo, sign: sha1Sign([APP, orderNo, NONCE, '1.0.0', signTicket]) });
    for (const body of cases) {
      assert.equal((await register(body)).body.code, FLOW_CODES.SIGN_MISMATCH, JSON.stringify(body.sign));
    }
    const first = registerBody(signTicket);
    assert.equal((await register(first)).body.code, '0');
    const again = await register({ ...first, name: '李四' });
    assert.equal(again.body.code, FLOW_CODES.ORDER_EXISTS);
  });

  it('validates every field, never echoing personal data', async () => {
    const signTicket = await ticket(await newToken(), 'SIGN');
    const cases = [
      [{ appId: undefined }, '400101', 'appId'],
      [{ name: undefined }, '400101', 'name'],
      [{ idNo: '' }, '400101', 'idNo'],
      [{ sign: '' }, '400101', 'sign'],
      [{ orderNo: 'order-1' }, '400101', 'orderNo'],
      [{ orderNo: 'o'.repeat(33) }, '400101', 'orderNo'],
      [{ name: `${NAME}\u0085` }, '400101', 'name'],
      [{ name: '张'.repeat(65) }, '400101', 'name'],
      [{ idNo: '1'.repeat(33) }, '400101', 'idNo'],
      [{ idNo: 12345 }, '400101', 'idNo'],
      [{ nonce: NONCE.slice(1) }, '400101', 'nonce'],
      [{ version: '1.0 0' }, '400101', 'version'],
      [{ userId: 'user@example' }, '400101', 'userId'],
      [{ sourcePhotoStr: 'not base64!', sourcePhotoType: '1' }, '400101', 'sourcePhotoStr'],
      [{ sourcePhotoStr: EMULATOR_PHOTO }, '400101', 'sourcePhotoType'],
      [{ sourcePhotoStr: EMULATOR_PHOTO, sourcePhotoType: '3' }, '400101', 'sourcePhotoType'],
      [{ liveInterType: 1 }, '400101', 'liveInterType'],
      [{ appId: 'IDANOPE1' }, '400102', 'appId'],
    ];
    assert.equal((await register(registerBody(signTicket, { name: '张'.repeat(64), idNo: '1'.repeat(32) }))).body.code, '0');
    for (const [fields, code, name] of cases) {
      const { status, body } = await register(registerBody(signTicket, fields));
      assert.equal(status, 200);
      assert.equal(body.code, code, JSON.stringify(fields));
      assert.ok(body.msg.includes(name), `${body.msg} names ${name}`);
      assert.ok(!JSON.stringify(body).includes(NAME) && !JSON.stringify(body).includes(ID_NO));
    }
    const mismatch = await register(registerBody(signTicket), 'otherOrder');
    assert.equal(mismatch.body.code, '400101', 'the query orderNo must be the body\'s');
  });

  it('wants a POST of a JSON object', async () => {
    const body = JSON.stringify(registerBody('x'));
    assert.equal((await post('/api/server/getAdvFaceId', body, { 'content-type': 'text/plain' })).body.code, '400101');
    assert.equal((await post('/api/server/getAdvFaceId', '{"appId":')).body.code, '400101');
    assert.equal((await post('/api/server/getAdvFaceId', '[1]')).body.code, '400101');
    const wrongMethod = await fetch(`${emu.url}/api/server/getAdvFaceId`);
    assert.equal(wrongMethod.status, 405);
    assert.equal((await wrongMethod.json()).code, '400001');
  });

  it('masks personal data in the request log', async () => {
    const signTicket = await ticket(await newToken(), 'SIGN');
    await register(registerBody(signTicket, { sourcePhotoStr: EMULATOR_PHOTO, sourcePhotoType: '1' }));
    const { requests } = await getJson('/__emulator/log', {});
    const logged = requests.find((r) => r.path === '/api/server/getAdvFaceId');
    assert.equal(logged.method, 'POST');
    assert.equal(logged.body.name, '<masked: 3 characters>');
    assert.equal(logged.body.idNo, '<masked: 18 characters>');
    assert.equal(logged.body.sourcePhotoStr, `<masked: ${EMULATOR_PHOTO.length} characters>`);
    assert.equal(logged.body.userId, USER);
    const text = JSON.stringify(requests);
    for (const personal of [NAME, ID_NO, EMULATOR_PHOTO]) assert.ok(!text.includes(personal));
    assert.deepEqual((await getJson('/__emulator/counters', {})).apps[APP], { access_token: 1, sign: 1, nonce: 0 },
      'flow requests do not count as credential requests');
  });
});

describe('H5 login page', () => {
  it('checks the seven-value NONCE sign and offers pass and fail', async () => {
    const order = await registeredOrder();
    const page = await login(loginParams(order, order.nonceTicket, { resultType: '1' }));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.equal(page.headers.get('x-faceid-code'), '0');
    assert.match(page.text, /<code id="order">order\d+<\/code>/);
    assert.match(linkOf(page, 'pass'), /^\/api\/web\/finish\?session=[\w-]{64}&outcome=pass$/);
    assert.match(linkOf(page, 'fail'), /^\/api\/web\/finish\?session=[\w-]{64}&outcome=fail$/);
    assert.ok(!page.text.includes(order.nonceTicket) && !page.text.includes(CALLBACK));
  });

  it('accepts lower-case hex and the App origin', async () => {
    const order = await registeredOrder();
    const params = loginParams(order, order.nonceTicket, { from: 'App' });
    const page = await login({ ...params, sign: params.sign.toLowerCase() });
    assert.equal(page.headers.get('x-faceid-code'), '0', page.text);
  });

  it('refuses a replayed NONCE ticket, another user\'s ticket and a ticket whose token died', async () => {
    const order = await registeredOrder();
    const params = loginParams(order, order.nonceTicket);
    assert.equal((await login(params)).headers.get('x-faceid-code'), '0');
    const replay = await login(params);
    assert.equal(replay.headers.get('x-faceid-code'), FLOW_CODES.NONCE_USED_OR_EXPIRED);
    assert.match(replay.text, /<p id="code">400512<\/p>/);

    const otherUsers = await ticket(order.token, 'NONCE', 'user_002');
    assert.equal((await login(loginParams(order, otherUsers))).headers.get('x-faceid-code'), FLOW_CODES.NONCE_OF_OTHER_USER);

    const orphan = await ticket(order.token, 'NONCE');
    await post('/__emulator/expire-tokens', { appId: APP });
    assert.equal((await login(loginParams(order, orphan))).headers.get('x-faceid-code'), FLOW_CODES.NONCE_USED_OR_EXPIRED);
  });

  it('refuses a wrong sign: SIGN ticket, another value, the SDK shape', async () => {
    const order = await registeredOrder();
    const ticketValue = order.nonceTicket;
    for (const sign of [
      loginParams(order, order.signTicket).sign,
      loginParams(order, ticketValue, { version: '2.0.0' }).sign,
      sha1Sign([APP, USER, NONCE, '1.0.0', ticketValue]),
      'not a sign',
    ]) {
      const page = await login(loginParams(order, ticketValue, { sign }));
      assert.equal(page.headers.get('x-faceid-code'), FLOW_CODES.LOGIN_SIGN_MISMATCH, sign);
    }
    assert.equal((await login(loginParams(order, ticketValue))).headers.get('x-faceid-code'), '0', 'the ticket was not used up');
  });

  it('refuses an unknown order, another order\'s faceId, another user and bad parameters', async () => {
    const order = await registeredOrder();
    const codeOf = async (fields) => (await login(loginParams(order, order.nonceTicket, fields))).headers.get('x-faceid-code');
    assert.equal(await codeOf({ orderNo: 'unknown1' }), FLOW_CODES.ORDER_NOT_FOUND);
    assert.equal(await codeOf({ faceId: 'tx0' }), FLOW_CODES.FACE_ID_MISMATCH);
    assert.equal(await codeOf({ userId: 'user_002' }), FLOW_CODES.USER_MISMATCH);
    assert.equal(await codeOf({ appId: 'IDANOPE1' }), '400102');
    for (const fields of [
      { url: undefined }, { url: 'ftp://partner.example/' }, { url: 'https://u:p@partner.example/' }, { url: '/relative' },
      { from: 'app' }, { from: undefined }, { nonce: 'short' }, { redirectType: '2' }, { resultType: 'yes' }, { sign: '' },
    ]) {
      assert.equal(await codeOf(fields), '400101', JSON.stringify(fields));
    }
    const wrongMethod = await fetch(`${emu.url}/api/web/login`, { method: 'POST' });
    assert.equal(wrongMethod.status, 405);
  });
});

describe('pass and fail', () => {
  it('pass redirects to the callback with code 0 and a newSign of the current SIGN ticket', async () => {
    const { callback, orderNo, faceId, signTicket } = await verifiedOrder('pass');
    assert.equal(`${callback.origin}${callback.pathname}`, 'https://partner.example/faceid/done');
    const params = callback.searchParams;
    assert.equal(params.get('state'), 'a b', 'the callback keeps its own query');
    assert.equal(params.get('code'), '0');
    assert.equal(params.get('orderNo'), orderNo);
    assert.equal(params.get('h5faceId'), faceId);
    assert.equal(params.get('newSign'), sha1Sign([APP, orderNo, signTicket, '0']));
  });

  it('fail redirects with the emulator\'s failure code, signed too', async () => {
    const { callback, orderNo, signTicket } = await verifiedOrder('fail');
    assert.equal(callback.searchParams.get('code'), FLOW_CODES.VERIFICATION_FAILED);
    assert.equal(callback.searchParams.get('newSign'), sha1Sign([APP, orderNo, signTicket, FLOW_CODES.VERIFICATION_FAILED]));
  });

  it('a session is used once; an unknown session or outcome is refused', async () => {
    const order = await registeredOrder();
    const page = await login(loginParams(order, order.nonceTicket));
    const pass = linkOf(page, 'pass');
    assert.equal((await get(pass)).status, 302);
    const again = await get(pass);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-faceid-code'), FLOW_CODES.SESSION_UNKNOWN);
    assert.equal((await get('/api/web/finish', { session: 'nope', outcome: 'pass' })).headers.get('x-faceid-code'), FLOW_CODES.SESSION_UNKNOWN);
    assert.equal((await get(linkOf(page, 'fail').replace('outcome=fail', 'outcome=maybe'))).headers.get('x-faceid-code'), '400101');
  });
});

describe('queryfacerecord', () => {
  it('answers a passed result with scores as strings, and files only when asked', async () => {
    const { orderNo, signTicket } = await verifiedOrder('pass');
    const expectations = [
      [undefined, false, false], ['1', true, true], ['2', true, false], ['3', false, true],
    ];
    for (const [getFile, photo, video] of expectations) {
      const { status, body } = await query(signTicket, orderNo, { getFile });
      assert.equal(status, 200);
      assert.equal(body.code, '0', body.msg);
      const { result } = body;
      assert.equal(result.orderNo, orderNo);
      assert.equal(result.liveRate, '99');
      assert.equal(result.similarity, '98.52');
      assert.match(result.occurredTime, /^\d{14}$/);
      assert.equal(result.appId, APP);
      assert.equal(result.photo, photo ? EMULATOR_PHOTO : undefined, `getFile ${getFile}`);
      assert.equal(result.video, video ? EMULATOR_VIDEO : undefined, `getFile ${getFile}`);
    }
    assert.deepEqual([...Buffer.from(EMULATOR_PHOTO, 'base64').subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('answers a failed verification as a non-zero code with its result', async () => {
    const { orderNo, signTicket } = await verifiedOrder('fail');
    const { body } = await query(signTicket, orderNo);
    assert.equal(body.code, FLOW_CODES.VERIFICATION_FAILED);
    assert.equal(body.success, false);
    assert.equal(body.result.orderNo, orderNo);
    assert.equal(body.result.similarity, '12.30');
  });

  it('answers unknown and unfinished orders without a result', async () => {
    const order = await registeredOrder();
    const unfinished = (await query(order.signTicket, order.orderNo)).body;
    assert.equal(unfinished.code, FLOW_CODES.NOT_VERIFIED_YET);
    assert.equal(unfinished.result, undefined);
    const unknown = (await query(order.signTicket, 'unknown1')).body;
    assert.equal(unknown.code, FLOW_CODES.ORDER_NOT_FOUND);
    assert.equal(unknown.result, undefined);
  });

  it('refuses a wrong sign and bad fields', async () => {
    const { orderNo, signTicket, nonceTicket } = await registeredOrder();
    assert.equal((await query(nonceTicket, orderNo)).body.code, FLOW_CODES.SIGN_MISMATCH);
    assert.equal((await query(signTicket, orderNo, { sign: sha1Sign([APP, USER, NONCE, '1.0.0', signTicket]) })).body.code,
      FLOW_CODES.SIGN_MISMATCH, 'the register shape does not sign a query');
    for (const fields of [{ getFile: '4' }, { getFile: 2 }, { nonce: undefined }, { orderNo: 'a_b' }]) {
      assert.equal((await query(signTicket, orderNo, fields)).body.code, '400101', JSON.stringify(fields));
    }
    assert.equal((await query(signTicket, orderNo, { appId: 'IDANOPE1' })).body.code, '400102');
  });
});

describe('reset', () => {
  it('forgets orders and login sessions', async () => {
    const order = await registeredOrder();
    const page = await login(loginParams(order, order.nonceTicket));
    await post('/__emulator/reset', {});
    assert.equal((await get(linkOf(page, 'pass'))).headers.get('x-faceid-code'), FLOW_CODES.SESSION_UNKNOWN);
    const signTicket = await ticket(await newToken(), 'SIGN');
    assert.equal((await query(signTicket, order.orderNo)).body.code, FLOW_CODES.ORDER_NOT_FOUND);
  });
});
