// FaceID emulator: a zero-dependency local imitation of the FaceID credential chain
// (access_token, SIGN and NONCE api_ticket), the H5 verification flow, and a control API for tests.
// The protocol is described in shared/spec/FACEID-API.md; the codes this emulator
// answers with are its own and are listed in README.md beside this file.

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:http';

export const DEFAULT_APP_ID = 'IDAEMU01';
export const DEFAULT_SECRET = 'emulator-secret-0123456789abcdef0123456789abcdef0123456789abcdef';

export const DEFAULT_CONFIG = Object.freeze({
  apps: Object.freeze({ [DEFAULT_APP_ID]: DEFAULT_SECRET }),
  tokenExpireIn: 7200,
  signExpireIn: 3600,
  nonceExpireIn: 120,
  tokenOverlapMs: 60000,
});

export const CODES = Object.freeze({
  OK: '0',
  METHOD_NOT_ALLOWED: '400001',
  INVALID_PARAMETER: '400101',
  UNKNOWN_APP: '400102',
  WRONG_SECRET: '400103',
  BAD_GRANT_TYPE: '400104',
  INVALID_TOKEN: '400201',
  TOKEN_EXPIRED: '400202',
  BAD_TICKET_TYPE: '400301',
  SIGNATURE_MISMATCH: '400401',
  TICKET_USED_OR_EXPIRED: '400402',
  NOT_FOUND: '404001',
  SERVICE_ERROR: '500001',
});

export const FAULT_MODES = Object.freeze([
  'http_error', 'html', 'invalid_json', 'empty_tickets', 'no_value', 'bad_expire_in',
  'api_error', 'slow', 'drop', 'oversized', 'stall_body', 'redirect', 'random',
]);

// What `random` draws from by default: every way the service fails in production, plus another
// process rotating the token.
const RANDOM_MODES = Object.freeze(['http_error', 'drop', 'slow', 'html', 'invalid_json', 'api_error', 'rotate']);

const FACEID_PATHS = Object.freeze({
  '/api/oauth2/access_token': 'access_token',
  '/api/oauth2/api_ticket': 'api_ticket',
});
// Where a fault may be armed: an endpoint, or one ticket type. A request takes the most precise
// armed fault: its ticket type's, then its endpoint's, then the any-path one (path null).
const FAULT_PATHS = Object.freeze(['access_token', 'api_ticket', 'sign', 'nonce']);
const TICKET_TYPE_PATHS = Object.freeze({ SIGN: 'sign', NONCE: 'nonce' });
// What may follow Retry-After as a raw string: visible ASCII, spaces and tabs (no line breaks).
const HEADER_VALUE_RE = /^[\t\x20-\x7e]*$/;

const CORS_HEADERS = Object.freeze({
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': '*, content-type, authorization',
  // Browsers hide every other response header from a cross-origin caller.
  'Access-Control-Expose-Headers': 'Retry-After',
});

const JSON_TYPE = 'application/json; charset=utf-8';
const SUCCESS_MSG = '请求成功';
const SERVICE_ERROR_MSG = '服务异常，请稍后重试';
const VERSION_RE = /^[A-Za-z0-9._-]{1,20}$/;
const USER_ID_RE = /^[A-Za-z0-9_-]{1,30}$/;
const MAX_CONTROL_BODY = 1024 * 1024;
const OVERSIZED_CHUNK = 'x'.repeat(16 * 1024);
const OVERSIZED_TOTAL = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Helpers shared with tests

/**
 * The FaceID signature: the values sorted by plain UTF-16 code unit order,
 * concatenated without separator, SHA-1, upper-case hex (as the official samples).
 */
export function faceIdSign(values) {
  const sorted = values.map(String).sort();
  return createHash('sha1').update(sorted.join(''), 'utf8').digest('hex').toUpperCase();
}

/** yyyyMMddHHmmss in UTC+8, the service's (undocumented, probable) time zone. */
export function formatFaceIdTime(ms) {
  return new Date(ms + 8 * 3600 * 1000).toISOString().replace(/\D/g, '').slice(0, 14);
}

// 64 characters of [A-Za-z0-9_-]: 48 random bytes are exactly 64 base64url characters.
function randomToken() {
  return randomBytes(48).toString('base64url');
}

// bizSeqNo must be unique: a process-wide counter guarantees it within one process,
// the random middle part makes two processes unlikely to collide.
let bizSeq = 0;
const bizInstance = String(randomInt(0, 1e8)).padStart(8, '0');
function nextBizSeqNo(now) {
  bizSeq += 1;
  return formatFaceIdTime(now).slice(2) + bizInstance + String(bizSeq).padStart(12, '0');
}

// Own-property lookups, so that ids such as "__proto__" or "toString" are never "known".
function hasOwn(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}
function setOwn(object, key, value) {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------
// Configuration

// A bad control-API body or config: answered with HTTP 400, never a crash.
class InputError extends Error {
  constructor(message, code = CODES.INVALID_PARAMETER) {
    super(message);
    this.code = code;
  }
}

// Merges overrides over base, rejecting unknown keys and bad values so that a typo
// in a test's config fails loudly instead of silently using a default.
function buildConfig(overrides = {}, base = DEFAULT_CONFIG) {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new InputError('config must be a JSON object');
  }
  for (const key of Object.keys(overrides)) {
    if (!hasOwn(DEFAULT_CONFIG, key)) throw new InputError(`unknown config key: ${key}`);
  }
  const config = { ...base, ...overrides };
  config.apps = checkApps(config.apps);
  for (const key of ['tokenExpireIn', 'signExpireIn', 'nonceExpireIn']) {
    if (typeof config[key] !== 'number' || !(config[key] > 0) || !Number.isFinite(config[key])) {
      throw new InputError(`${key} must be a positive number of seconds`);
    }
  }
  if (typeof config.tokenOverlapMs !== 'number' || !(config.tokenOverlapMs >= 0)
    || !Number.isFinite(config.tokenOverlapMs)) {
    throw new InputError('tokenOverlapMs must be a number of milliseconds >= 0');
  }
  return Object.freeze(config);
}

function checkApps(apps) {
  if (apps === null || typeof apps !== 'object' || Array.isArray(apps)) {
    throw new InputError('apps must be an object mapping app id to secret');
  }
  const copy = {};
  for (const [appId, secret] of Object.entries(apps)) {
    if (appId === '' || typeof secret !== 'string' || secret === '') {
      throw new InputError('apps must map non-empty app ids to non-empty secret strings');
    }
    setOwn(copy, appId, secret);
  }
  return Object.freeze(copy);
}

// ---------------------------------------------------------------------------
// State

// Everything reset clears. The state object itself keeps its identity so that
// `emu.state` stays usable across resets; only its properties are replaced.
function freshState(config) {
  return {
    config,
    tokens: new Map(), // access_token -> { appId, issuedAt, validUntil }
    currentToken: new Map(), // appId -> access_token
    signTickets: new Map(), // access_token -> { value, expiresAt }
    nonceTickets: new Map(), // value -> { appId, token, userId, expiresAt, used }
    faults: new Map(), // path (null: any path) -> armed fault
    orders: new Map(), // appId -> Map(orderNo -> { userId, faceId, result })
    loginSessions: new Map(), // session -> { appId, orderNo, faceId, callback }
    log: [],
    counters: {},
    seq: 0,
  };
}

function resetState(state, config) {
  Object.assign(state, freshState(config));
}

function tokenAlive(state, token, now) {
  const record = state.tokens.get(token);
  return record !== undefined && now < record.validUntil;
}

// One current token per app: the previous one keeps working for tokenOverlapMs
// (the documented ~1 minute coexistence), anything older dies now.
function issueToken(state, appId, now) {
  const previous = state.currentToken.get(appId);
  for (const [token, record] of state.tokens) {
    if (record.appId !== appId || now >= record.validUntil) continue;
    const cutoff = token === previous ? now + state.config.tokenOverlapMs : now;
    record.validUntil = Math.min(record.validUntil, cutoff);
  }
  const token = randomToken();
  state.tokens.set(token, {
    appId,
    issuedAt: now,
    validUntil: now + state.config.tokenExpireIn * 1000,
  });
  state.currentToken.set(appId, token);
  return token;
}

// Like a secret change: every token of the app (and so every ticket) dies at once.
function expireTokens(state, appId, now) {
  for (const record of state.tokens.values()) {
    if (record.appId === appId) record.validUntil = Math.min(record.validUntil, now);
  }
  state.currentToken.delete(appId);
}

function recordRequest(state, req, url, kind) {
  state.seq += 1;
  const query = Object.fromEntries(url.searchParams);
  state.log.push({ seq: state.seq, method: req.method, path: url.pathname, query, at: Date.now() });
  const appId = url.searchParams.get('app_id');
  if (!appId) return; // nothing to key the counter by; the log still has it
  if (!hasOwn(state.counters, appId)) {
    setOwn(state.counters, appId, { access_token: 0, sign: 0, nonce: 0 });
  }
  const counter = state.counters[appId];
  if (kind === 'access_token') counter.access_token += 1;
  else if (url.searchParams.get('type') === 'SIGN') counter.sign += 1;
  else if (url.searchParams.get('type') === 'NONCE') counter.nonce += 1;
}

// ---------------------------------------------------------------------------
// FaceID answers

function success(now, fields) {
  return {
    code: CODES.OK, msg: SUCCESS_MSG, bizSeqNo: nextBizSeqNo(now),
    transactionTime: formatFaceIdTime(now), success: true, ...fields,
  };
}

function failure(now, code, msg) {
  return { code, msg, bizSeqNo: nextBizSeqNo(now), transactionTime: formatFaceIdTime(now), success: false };
}

// Messages name the parameter but never echo its value (the secret and tokens travel here).
function missing(now, name) {
  return failure(now, CODES.INVALID_PARAMETER, `参数错误：缺少 ${name} (missing parameter ${name})`);
}
function malformed(now, name) {
  return failure(now, CODES.INVALID_PARAMETER, `参数错误：${name} 格式不正确 (invalid parameter ${name})`);
}

function checkVersion(now, params) {
  const version = params.get('version');
  if (!version) return missing(now, 'version');
  if (!VERSION_RE.test(version)) return malformed(now, 'version');
  return null;
}

function accessToken(state, params, now) {
  for (const name of ['app_id', 'secret', 'grant_type']) {
    if (!params.get(name)) return missing(now, name);
  }
  const bad = checkVersion(now, params);
  if (bad) return bad;
  if (params.get('grant_type') !== 'client_credential') {
    return failure(now, CODES.BAD_GRANT_TYPE, 'grant_type 不正确，应为 client_credential (bad grant_type)');
  }
  const appId = params.get('app_id');
  const apps = state.config.apps;
  if (!hasOwn(apps, appId)) return failure(now, CODES.UNKNOWN_APP, 'app_id 不存在 (unknown app_id)');
  if (apps[appId] !== params.get('secret')) return failure(now, CODES.WRONG_SECRET, 'secret 不正确 (wrong secret)');
  const token = issueToken(state, appId, now);
  const expireIn = state.config.tokenExpireIn;
  return success(now, {
    access_token: token,
    expire_in: String(expireIn),
    expire_time: formatFaceIdTime(now + expireIn * 1000),
  });
}

function apiTicket(state, params, now) {
  for (const name of ['app_id', 'access_token', 'type']) {
    if (!params.get(name)) return missing(now, name);
  }
  const bad = checkVersion(now, params);
  if (bad) return bad;
  const type = params.get('type');
  if (type !== 'SIGN' && type !== 'NONCE') {
    return failure(now, CODES.BAD_TICKET_TYPE, 'type 不正确，应为 SIGN 或 NONCE（大写）(bad ticket type)');
  }
  const userId = params.get('user_id');
  if (type === 'NONCE' && !userId) return missing(now, 'user_id');
  if (type === 'NONCE' && !USER_ID_RE.test(userId)) return malformed(now, 'user_id');
  const appId = params.get('app_id');
  if (!hasOwn(state.config.apps, appId)) return failure(now, CODES.UNKNOWN_APP, 'app_id 不存在 (unknown app_id)');
  const token = params.get('access_token');
  const record = state.tokens.get(token);
  if (!record || record.appId !== appId) {
    return failure(now, CODES.INVALID_TOKEN, 'access_token 无效 (invalid access_token)');
  }
  if (now >= record.validUntil) {
    return failure(now, CODES.TOKEN_EXPIRED, 'access_token 已过期 (access_token expired)');
  }
  const ticket = type === 'SIGN' ? signTicket(state, token, now) : nonceTicket(state, appId, token, userId, now);
  return success(now, { tickets: [ticket] });
}

// One reusable SIGN ticket per token. A repeated request gets the same value with the
// seconds it has left, so a client that trusts expire_in never outlives the ticket.
function signTicket(state, token, now) {
  let ticket = state.signTickets.get(token);
  const fresh = !ticket || now >= ticket.expiresAt;
  if (fresh) {
    ticket = { value: randomToken(), expiresAt: now + state.config.signExpireIn * 1000 };
    state.signTickets.set(token, ticket);
  }
  const expireIn = fresh ? state.config.signExpireIn : Math.round((ticket.expiresAt - now) / 1000);
  return { value: ticket.value, expire_in: String(expireIn), expire_time: formatFaceIdTime(ticket.expiresAt) };
}

// NONCE tickets are fresh every time and bound to (app, token, user) for sdk-start.
function nonceTicket(state, appId, token, userId, now) {
  const value = randomToken();
  const expiresAt = now + state.config.nonceExpireIn * 1000;
  state.nonceTickets.set(value, { appId, token, userId, expiresAt, used: false });
  return { value, expire_in: String(state.config.nonceExpireIn), expire_time: formatFaceIdTime(expiresAt) };
}

// Imitates the SDK checking a start signature: finds the NONCE ticket it was made with.
function sdkStart(state, body, now) {
  for (const name of ['appId', 'userId', 'version', 'nonce', 'sign']) {
    if (typeof body[name] !== 'string' || body[name] === '') return missing(now, name);
  }
  const { appId, userId, version, nonce } = body;
  if (!hasOwn(state.config.apps, appId)) return failure(now, CODES.UNKNOWN_APP, 'appId 不存在 (unknown appId)');
  const wanted = body.sign.toUpperCase();
  for (const [value, ticket] of state.nonceTickets) {
    if (ticket.appId !== appId || ticket.userId !== userId) continue;
    if (faceIdSign([appId, userId, nonce, version, value]) !== wanted) continue;
    if (ticket.used) return failure(now, CODES.TICKET_USED_OR_EXPIRED, 'ticket 已使用 (ticket already used)');
    if (now >= ticket.expiresAt || !tokenAlive(state, ticket.token, now)) {
      return failure(now, CODES.TICKET_USED_OR_EXPIRED, 'ticket 已过期 (ticket expired)');
    }
    ticket.used = true;
    return success(now, {});
  }
  return failure(now, CODES.SIGNATURE_MISMATCH, '签名校验失败 (signature mismatch)');
}

// ---------------------------------------------------------------------------
// HTTP plumbing

function sendJson(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendText(res, status, contentType, body) {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// Tracks whether the client went away, so long-running answers stop working for nobody.
function watchClose(res) {
  const watch = { closed: false, listeners: new Set() };
  res.once('close', () => {
    watch.closed = true;
    for (const listener of watch.listeners) listener();
  });
  return watch;
}

// Resolves after ms, or as soon as the connection closes.
function waitOrClose(watch, ms) {
  if (watch.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      watch.listeners.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    watch.listeners.add(done);
  });
}

function waitDrainOrClose(res, watch) {
  if (watch.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.removeListener('drain', done);
      watch.listeners.delete(done);
      resolve();
    };
    res.once('drain', done);
    watch.listeners.add(done);
  });
}

async function readJsonBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY) throw new InputError('request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InputError('request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('request body must be a JSON object');
  }
  return body;
}

// ---------------------------------------------------------------------------
// Faults

function buildFault(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InputError('a fault must be an object');
  const { mode, count, delayMs, status, retryAfter, path, seed, rate, modes } = body;
  if (!FAULT_MODES.includes(mode)) throw new InputError(`mode must be one of: ${FAULT_MODES.join(', ')}`);
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    throw new InputError('count must be a positive integer');
  }
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new InputError('delayMs must be a number >= 0');
  }
  if (status !== undefined && !(Number.isInteger(status) && status >= 400 && status <= 599)) {
    throw new InputError('status must be an integer from 400 to 599');
  }
  if (retryAfter !== undefined && !(Number.isInteger(retryAfter) && retryAfter >= 0)
    && !(typeof retryAfter === 'string' && HEADER_VALUE_RE.test(retryAfter))) {
    throw new InputError('retryAfter must be an integer >= 0 (seconds) or a one-line ASCII string');
  }
  if (path !== undefined && !FAULT_PATHS.includes(path)) {
    throw new InputError(`path must be one of: ${FAULT_PATHS.join(', ')}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) throw new InputError('seed must be an integer');
  if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
    throw new InputError('rate must be a number from 0 to 1');
  }
  const randomModes = modes ?? RANDOM_MODES;
  if (!Array.isArray(randomModes) || randomModes.length === 0
    || !randomModes.every((m) => RANDOM_MODES.includes(m) || (FAULT_MODES.includes(m) && m !== 'random'))) {
    throw new InputError(`modes must be a non-empty list of: ${[...FAULT_MODES.filter((m) => m !== 'random'), 'rotate'].join(', ')}`);
  }
  return {
    mode,
    remaining: count ?? null, // null: until cleared
    delayMs: delayMs ?? 5000,
    status: status ?? 500,
    retryAfter: retryAfter === undefined ? null : String(retryAfter),
    path: path ?? null,
    // random: each request fails with probability `rate`, in one of `modes`, drawn from a
    // generator seeded with `seed`, so a run is repeatable.
    rate: rate ?? 0.3,
    modes: randomModes,
    next: mulberry32(seed ?? 1),
    drawn: Object.fromEntries([...randomModes, 'none'].map((m) => [m, 0])),
  };
}

// A small seeded generator (mulberry32): uniform in [0, 1).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The faults a POST /__emulator/fault body arms, keyed by path: either one fault (the body itself)
// or several ({ faults: [...] }), at most one per path.
function buildFaults(body) {
  if (!hasOwn(body, 'faults')) {
    const fault = buildFault(body);
    return new Map([[fault.path, fault]]);
  }
  if (Object.keys(body).length !== 1) throw new InputError('send either one fault or { faults: [...] }, not both');
  if (!Array.isArray(body.faults)) throw new InputError('faults must be a list of faults');
  const faults = new Map();
  for (const spec of body.faults) {
    const fault = buildFault(spec);
    if (faults.has(fault.path)) throw new InputError(`more than one fault for path ${fault.path ?? '(any)'}`);
    faults.set(fault.path, fault);
  }
  return faults;
}

// What GET /__emulator/fault answers: every armed fault, and `fault` for callers that arm one.
function describeFaults(state) {
  const faults = [...state.faults.values()];
  return { fault: faults.length === 1 ? faults[0] : null, faults };
}

// Takes the most precise armed fault for this request and uses up one of its count.
function takeFault(state, kind, params) {
  const type = params.get('type');
  const typePath = kind === 'api_ticket' && hasOwn(TICKET_TYPE_PATHS, type) ? TICKET_TYPE_PATHS[type] : undefined;
  const path = [typePath, kind, null].find((candidate) => candidate !== undefined && state.faults.has(candidate));
  if (path === undefined) return null;
  const fault = state.faults.get(path);
  if (fault.remaining !== null) {
    fault.remaining -= 1;
    if (fault.remaining <= 0) state.faults.delete(path);
  }
  return fault;
}

// The fabricated body of the "looks like success but is broken" modes, shaped for the
// endpoint hit. Faults never touch tokens or tickets (only `slow` answers for real).
function brokenSuccess(mode, kind, now) {
  const expireIn = kind === 'access_token' ? '7200' : '120';
  const good = { value: randomToken(), expire_in: expireIn, expire_time: formatFaceIdTime(now + Number(expireIn) * 1000) };
  const shapes = {
    empty_tickets: kind === 'api_ticket' ? { tickets: [] } : { access_token: '', expire_in: expireIn },
    no_value: kind === 'api_ticket' ? { tickets: [{ expire_in: expireIn }] } : { expire_in: expireIn },
    bad_expire_in: kind === 'api_ticket'
      ? { tickets: [{ ...good, expire_in: 'soon' }] }
      : { access_token: good.value, expire_in: 'soon', expire_time: good.expire_time },
  };
  return success(now, shapes[mode]);
}

async function streamOversized(res, watch) {
  res.writeHead(200, { 'Content-Type': JSON_TYPE });
  res.write('{"code":"0","msg":"');
  let written = 0;
  while (written < OVERSIZED_TOTAL && !watch.closed) {
    // Respect back-pressure: never hold more than one chunk for a slow reader.
    if (!res.write(OVERSIZED_CHUNK)) await waitDrainOrClose(res, watch);
    written += OVERSIZED_CHUNK.length;
  }
  if (!watch.closed) res.end('"}');
}

function stallBody(res, now) {
  const body = Buffer.from(JSON.stringify(success(now, { tickets: [{ value: randomToken(), expire_in: '120' }] })));
  // The full Content-Length promises the rest, which never comes until the client gives up.
  res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': body.length });
  res.write(body.subarray(0, body.length >> 1));
}

// Answers a FaceID request according to the fault. Returns null when the fault gave the answer,
// otherwise how many ms to hold back the normal answer (0, or `delayMs` for `slow`).
async function applyFault(fault, kind, req, res, watch, now, state) {
  switch (fault.mode) {
    case 'random': {
      const mode = fault.next() < fault.rate ? fault.modes[Math.floor(fault.next() * fault.modes.length)] : 'none';
      fault.drawn[mode] += 1;
      if (mode === 'none') return 0;
      if (mode === 'rotate') {
        // Another process fetched a token: ours enters its overlap window.
        const appId = new URL(req.url, 'http://emulator').searchParams.get('app_id');
        if (appId && hasOwn(state.config.apps, appId)) issueToken(state, appId, now);
        return 0;
      }
      return applyFault({ ...fault, mode }, kind, req, res, watch, now, state);
    }
    case 'redirect': {
      // A redirect to the same path: a client that followed it would show up in the log.
      const target = new URL(req.url, 'http://emulator');
      target.searchParams.set('followed_redirect', '1');
      res.writeHead(302, { location: `${target.pathname}${target.search}` });
      res.end();
      return null;
    }
    case 'http_error':
      if (fault.retryAfter !== null) res.setHeader('Retry-After', fault.retryAfter);
      sendText(res, fault.status, 'text/plain; charset=utf-8', `Emulated HTTP ${fault.status} error`);
      return null;
    case 'html':
      sendText(res, 200, 'text/html; charset=utf-8',
        '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>');
      return null;
    case 'invalid_json':
      sendText(res, 200, JSON_TYPE, '{"code":"0","tickets":[');
      return null;
    case 'empty_tickets':
    case 'no_value':
    case 'bad_expire_in':
      sendJson(res, 200, brokenSuccess(fault.mode, kind, now));
      return null;
    case 'api_error':
      sendJson(res, 200, failure(now, CODES.SERVICE_ERROR, SERVICE_ERROR_MSG));
      return null;
    case 'slow':
      return fault.delayMs;
    case 'drop':
      req.socket.destroy();
      return null;
    case 'oversized':
      await streamOversized(res, watch);
      return null;
    case 'stall_body':
      stallBody(res, now);
      return null;
    default:
      throw new Error(`unhandled fault mode ${fault.mode}`);
  }
}

// ---------------------------------------------------------------------------
// Routing

async function handleFaceId(state, req, res, url, kind) {
  recordRequest(state, req, url, kind);
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET, OPTIONS');
    return sendJson(res, 405, failure(Date.now(), CODES.METHOD_NOT_ALLOWED, '请求方法不支持，请使用 GET (method not allowed)'));
  }
  const watch = watchClose(res);
  const fault = takeFault(state, kind, url.searchParams);
  const holdMs = fault ? await applyFault(fault, kind, req, res, watch, Date.now(), state) : 0;
  if (holdMs === null) return undefined;
  // The work comes before the delay, as on a service that is slow to answer: a mint retires the
  // previous token and a ticket is issued even if the client gives up while waiting.
  const now = Date.now();
  const answer = kind === 'access_token' ? accessToken(state, url.searchParams, now) : apiTicket(state, url.searchParams, now);
  if (holdMs > 0) await waitOrClose(watch, holdMs);
  if (watch.closed) return undefined; // the client left: the work is done, the answer goes to nobody
  return sendJson(res, 200, answer);
}

function requireAppId(state, body) {
  if (typeof body.appId !== 'string' || body.appId === '') throw new InputError('appId is required');
  if (!hasOwn(state.config.apps, body.appId)) throw new InputError('unknown appId', CODES.UNKNOWN_APP);
  return body.appId;
}

// Control routes: path -> method -> (state, body, startConfig) => [status, payload].
const CONTROL_ROUTES = {
  '/__emulator/health': {
    GET: () => [200, { ok: true }],
  },
  '/__emulator/reset': {
    POST: (state, body, startConfig) => {
      resetState(state, buildConfig(body, startConfig));
      return [200, { ok: true }];
    },
  },
  '/__emulator/fault': {
    GET: (state) => [200, describeFaults(state)],
    POST: (state, body) => {
      state.faults = buildFaults(body);
      return [200, { ok: true }];
    },
    DELETE: (state) => {
      state.faults = new Map();
      return [200, { ok: true }];
    },
  },
  '/__emulator/rotate': {
    POST: (state, body) => {
      issueToken(state, requireAppId(state, body), Date.now());
      return [200, { ok: true }];
    },
  },
  '/__emulator/expire-tokens': {
    POST: (state, body) => {
      expireTokens(state, requireAppId(state, body), Date.now());
      return [200, { ok: true }];
    },
  },
  '/__emulator/log': {
    GET: (state) => [200, { requests: state.log }],
    DELETE: (state) => {
      state.log = [];
      return [200, { ok: true }];
    },
  },
  '/__emulator/counters': {
    GET: (state) => [200, { apps: state.counters }],
  },
  '/__emulator/sdk-start': {
    // Answers like the service: HTTP 200, the verdict is in `code`.
    POST: (state, body) => [200, sdkStart(state, body, Date.now())],
  },
};

async function handleControl(state, req, res, route, startConfig) {
  const action = route[req.method];
  if (!action) {
    res.setHeader('Allow', [...Object.keys(route), 'OPTIONS'].join(', '));
    return sendJson(res, 405, { ok: false, code: CODES.METHOD_NOT_ALLOWED, msg: 'method not allowed' });
  }
  try {
    const body = req.method === 'POST' ? await readJsonBody(req) : {};
    const [status, payload] = action(state, body, startConfig);
    return sendJson(res, status, payload);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return sendJson(res, 400, { ok: false, code: error.code, msg: error.message });
  }
}

async function handle(state, req, res, startConfig) {
  // CORS on every answer, including faults and 404s: browsers tests read them all.
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { 'Access-Control-Max-Age': '600' });
    return res.end();
  }
  const url = new URL(req.url, 'http://emulator.invalid');
  const kind = hasOwn(FACEID_PATHS, url.pathname) ? FACEID_PATHS[url.pathname] : null;
  if (kind) return handleFaceId(state, req, res, url, kind);
  if (hasOwn(CONTROL_ROUTES, url.pathname)) return handleControl(state, req, res, CONTROL_ROUTES[url.pathname], startConfig);
  if (hasOwn(FLOW_ROUTES, url.pathname)) return handleFlow(state, req, res, url, FLOW_ROUTES[url.pathname]);
  return sendJson(res, 404, failure(Date.now(), CODES.NOT_FOUND, '接口不存在 (no such path)'));
}

// ---------------------------------------------------------------------------
// Verification flow (H5): register the order, the login page, the user's verdict, the result
// query. Server calls are signed with a SIGN ticket, the login URL with a one-time NONCE ticket
// issued for that very user. The request log masks personal data.

export const FLOW_CODES = Object.freeze({
  SIGN_MISMATCH: '400501',
  ORDER_EXISTS: '400502',
  ORDER_NOT_FOUND: '400503',
  FACE_ID_MISMATCH: '400504',
  USER_MISMATCH: '400505',
  NOT_VERIFIED_YET: '400506',
  LOGIN_SIGN_MISMATCH: '400511',
  NONCE_USED_OR_EXPIRED: '400512',
  NONCE_OF_OTHER_USER: '400513',
  SESSION_UNKNOWN: '400514',
  VERIFICATION_FAILED: '400601',
});

/** The photo a result query answers with when asked: a valid 1×1 PNG, base64. */
export const EMULATOR_PHOTO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
/** The "video" a result query answers with when asked: a few bytes, base64, not playable. */
export const EMULATOR_VIDEO = Buffer.from('FaceID emulator video').toString('base64');

const ORDER_NO_RE = /^[A-Za-z0-9]{1,32}$/;
const NONCE_RE = /^[A-Za-z0-9]{32}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})+$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const HTML_TYPE = 'text/html; charset=utf-8';

// What the pass and fail buttons record: scores as the service sends them, strings.
const OUTCOMES = Object.freeze({
  pass: { passed: true, code: CODES.OK, msg: SUCCESS_MSG, liveRate: '99', similarity: '98.52' },
  fail: { passed: false, code: FLOW_CODES.VERIFICATION_FAILED, msg: '人脸比对未通过 (face comparison failed)', liveRate: '99', similarity: '12.30' },
});

// Personal data never reaches the request log.
const MASKED_FIELDS = Object.freeze(['name', 'idNo', 'sourcePhotoStr']);

function plainText(maxChars) {
  return (text) => [...text].length <= maxChars && !CONTROL_RE.test(text);
}

function isHttpUrl(text) {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

// The first missing or malformed field, as a failure answer; null when all are fine.
// `formats` checks a field only when it is present.
function fieldProblem(now, fields, required, formats) {
  for (const name of required) {
    if (fields[name] === undefined || fields[name] === '') return missing(now, name);
  }
  for (const [name, isValid] of formats) {
    const value = fields[name];
    if (value !== undefined && (typeof value !== 'string' || !isValid(value))) return malformed(now, name);
  }
  return null;
}

function unknownApp(now) {
  return failure(now, CODES.UNKNOWN_APP, 'appId 不存在 (unknown appId)');
}

function ordersOf(state, appId) {
  if (!state.orders.has(appId)) state.orders.set(appId, new Map());
  return state.orders.get(appId);
}

// A server call's sign must come from a SIGN ticket of the app that is still valid: unexpired,
// its token alive.
function signedWithSignTicket(state, appId, values, sign, now) {
  const wanted = sign.toUpperCase();
  for (const [token, ticket] of state.signTickets) {
    const record = state.tokens.get(token);
    if (!record || record.appId !== appId || now >= record.validUntil || now >= ticket.expiresAt) continue;
    if (faceIdSign([...values, ticket.value]) === wanted) return true;
  }
  return false;
}

function registerOrder(state, body, { now, query, authority }) {
  const problem = fieldProblem(now, body, ['appId', 'orderNo', 'name', 'idNo', 'userId', 'version', 'nonce', 'sign'], [
    ['appId', () => true], ['sign', () => true],
    ['version', (v) => VERSION_RE.test(v)], ['orderNo', (v) => ORDER_NO_RE.test(v)],
    ['userId', (v) => USER_ID_RE.test(v)], ['nonce', (v) => NONCE_RE.test(v)],
    ['name', plainText(64)], ['idNo', plainText(32)],
    ['sourcePhotoStr', (v) => BASE64_RE.test(v)], ['sourcePhotoType', (v) => v === '1' || v === '2'],
    ['liveInterType', () => true],
  ]);
  if (problem) return problem;
  const { appId, orderNo, userId, version, nonce, sign } = body;
  if (query.has('orderNo') && query.get('orderNo') !== orderNo) return malformed(now, 'orderNo');
  if (body.sourcePhotoStr !== undefined && body.sourcePhotoType === undefined) return missing(now, 'sourcePhotoType');
  if (!hasOwn(state.config.apps, appId)) return unknownApp(now);
  if (!signedWithSignTicket(state, appId, [appId, userId, nonce, version], sign, now)) {
    return failure(now, FLOW_CODES.SIGN_MISMATCH, '签名校验失败 (sign matches no valid SIGN ticket)');
  }
  const orders = ordersOf(state, appId);
  if (orders.has(orderNo)) return failure(now, FLOW_CODES.ORDER_EXISTS, '订单号重复 (orderNo already registered)');
  const faceId = `tx${randomBytes(15).toString('hex')}`;
  // Only what the flow needs: the name, ID number and photo are not kept.
  orders.set(orderNo, { userId, faceId, result: null });
  const transactionTime = formatFaceIdTime(now);
  return success(now, {
    result: {
      bizSeqNo: nextBizSeqNo(now), transactionTime, oriCode: CODES.OK, orderNo, faceId, optimalDomain: authority, success: true,
    },
  });
}

function queryFaceRecord(state, body, { now, query }) {
  const problem = fieldProblem(now, body, ['appId', 'orderNo', 'version', 'nonce', 'sign'], [
    ['appId', () => true], ['sign', () => true],
    ['version', (v) => VERSION_RE.test(v)], ['orderNo', (v) => ORDER_NO_RE.test(v)],
    ['nonce', (v) => NONCE_RE.test(v)], ['getFile', (v) => v === '1' || v === '2' || v === '3'],
  ]);
  if (problem) return problem;
  const { appId, orderNo, version, nonce, sign, getFile } = body;
  if (query.has('orderNo') && query.get('orderNo') !== orderNo) return malformed(now, 'orderNo');
  if (!hasOwn(state.config.apps, appId)) return unknownApp(now);
  if (!signedWithSignTicket(state, appId, [appId, orderNo, nonce, version], sign, now)) {
    return failure(now, FLOW_CODES.SIGN_MISMATCH, '签名校验失败 (sign matches no valid SIGN ticket)');
  }
  const order = ordersOf(state, appId).get(orderNo);
  if (!order) return failure(now, FLOW_CODES.ORDER_NOT_FOUND, '订单不存在 (no such order)');
  if (!order.result) return failure(now, FLOW_CODES.NOT_VERIFIED_YET, '用户尚未完成核身 (not verified yet)');
  const { passed, code, msg, liveRate, similarity, occurredTime } = order.result;
  const result = {
    orderNo, liveRate, similarity, occurredTime, appId,
    ...(getFile === '1' || getFile === '2' ? { photo: EMULATOR_PHOTO } : {}),
    ...(getFile === '1' || getFile === '3' ? { video: EMULATOR_VIDEO } : {}),
    bizSeqNo: nextBizSeqNo(now), sdkVersion: 'emulator-1.0.0',
  };
  // A failed verification is a non-zero code that comes with its result.
  return passed ? success(now, { result }) : { ...failure(now, code, msg), result };
}

// The H5 page: checks the seven-value NONCE sign, consumes the ticket and offers pass and fail.
function loginPage(state, params, { now }) {
  const problem = fieldProblem(now, params, ['appId', 'version', 'nonce', 'orderNo', 'faceId', 'url', 'from', 'userId', 'sign'], [
    ['version', (v) => VERSION_RE.test(v)], ['orderNo', (v) => ORDER_NO_RE.test(v)],
    ['userId', (v) => USER_ID_RE.test(v)], ['nonce', (v) => NONCE_RE.test(v)], ['url', isHttpUrl],
    ['from', (v) => v === 'browser' || v === 'App'],
    ['redirectType', (v) => v === '1'], ['resultType', (v) => v === '1'],
  ]);
  if (problem) return { answer: problem };
  const { appId, version, nonce, orderNo, faceId, url, userId, sign } = params;
  if (!hasOwn(state.config.apps, appId)) return { answer: unknownApp(now) };
  const order = ordersOf(state, appId).get(orderNo);
  if (!order) return { answer: failure(now, FLOW_CODES.ORDER_NOT_FOUND, '订单不存在 (no such order)') };
  if (order.faceId !== faceId) return { answer: failure(now, FLOW_CODES.FACE_ID_MISMATCH, 'faceId 与订单不符 (faceId is not this order\'s)') };
  if (order.userId !== userId) return { answer: failure(now, FLOW_CODES.USER_MISMATCH, 'userId 与订单不符 (userId is not this order\'s)') };
  const wanted = sign.toUpperCase();
  for (const [value, ticket] of state.nonceTickets) {
    if (ticket.appId !== appId) continue;
    if (faceIdSign([appId, userId, orderNo, version, faceId, value, nonce]) !== wanted) continue;
    if (ticket.userId !== userId) {
      return { answer: failure(now, FLOW_CODES.NONCE_OF_OTHER_USER, 'ticket 不属于该用户 (NONCE ticket of another user)') };
    }
    if (ticket.used || now >= ticket.expiresAt || !tokenAlive(state, ticket.token, now)) {
      return { answer: failure(now, FLOW_CODES.NONCE_USED_OR_EXPIRED, 'ticket 已使用或已过期 (NONCE ticket used or expired)') };
    }
    ticket.used = true;
    const session = randomToken();
    state.loginSessions.set(session, { appId, orderNo, faceId, callback: url });
    return { answer: success(now, {}), session, orderNo };
  }
  return { answer: failure(now, FLOW_CODES.LOGIN_SIGN_MISMATCH, '签名校验失败 (sign matches no NONCE ticket)') };
}

// The user's click: records the verdict and sends the browser to the callback, signed with
// the app's current SIGN ticket.
function finishVerification(state, params, { now }) {
  const outcome = hasOwn(OUTCOMES, params.outcome ?? '') ? OUTCOMES[params.outcome] : null;
  if (!outcome) return { answer: malformed(now, 'outcome') };
  const session = state.loginSessions.get(params.session ?? '');
  if (!session) return { answer: failure(now, FLOW_CODES.SESSION_UNKNOWN, '会话不存在或已结束 (no such session)') };
  const token = state.currentToken.get(session.appId);
  if (!token || !tokenAlive(state, token, now)) {
    return { answer: failure(now, CODES.TOKEN_EXPIRED, 'access_token 已过期 (no live token to sign with)') };
  }
  state.loginSessions.delete(params.session);
  const { passed, code, msg, liveRate, similarity } = outcome;
  ordersOf(state, session.appId).get(session.orderNo).result = {
    passed, code, msg, liveRate, similarity, occurredTime: formatFaceIdTime(now),
  };
  const ticket = signTicket(state, token, now).value;
  const callback = new URLSearchParams({
    code, orderNo: session.orderNo, h5faceId: session.faceId,
    newSign: faceIdSign([session.appId, session.orderNo, ticket, code]),
  });
  return { answer: success(now, {}), location: `${session.callback}${session.callback.includes('?') ? '&' : '?'}${callback}` };
}

const HTML_ESCAPES = Object.freeze({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' });

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function sendPage(res, answer, body) {
  const page = `<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">`
    + `<meta name="viewport" content="width=device-width, initial-scale=1"><title>FaceID emulator</title></head>`
    + `<body><h1>FaceID emulator</h1>${body}</body></html>`;
  res.writeHead(200, {
    'Content-Type': HTML_TYPE, 'Content-Length': Buffer.byteLength(page), 'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer', 'X-FaceID-Code': answer.code,
  });
  res.end(page);
}

function sendLoginAnswer(res, { answer, session, orderNo }) {
  if (answer.code !== CODES.OK) {
    return sendPage(res, answer, `<p id="code">${escapeHtml(answer.code)}</p><p id="msg">${escapeHtml(answer.msg)}</p>`);
  }
  const finish = (outcome) => `/api/web/finish?${new URLSearchParams({ session, outcome })}`;
  return sendPage(res, answer, `<p>订单 (order) <code id="order">${escapeHtml(orderNo)}</code></p>`
    + `<p><a id="pass" href="${escapeHtml(finish('pass'))}">pass</a> `
    + `<a id="fail" href="${escapeHtml(finish('fail'))}">fail</a></p>`);
}

function sendFinishAnswer(res, { answer, location }) {
  if (!location) {
    return sendPage(res, answer, `<p id="code">${escapeHtml(answer.code)}</p><p id="msg">${escapeHtml(answer.msg)}</p>`);
  }
  res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
  return res.end();
}

function maskPersonalData(body) {
  const masked = { ...body };
  for (const name of MASKED_FIELDS) {
    if (typeof masked[name] === 'string') masked[name] = `<masked: ${[...masked[name]].length} characters>`;
  }
  return masked;
}

// The address this request reached, as host:port: where the H5 page is served.
function ownAuthority(req) {
  const address = req.socket.localAddress.replace(/^::ffff:/, '');
  return `${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort}`;
}

const FLOW_ROUTES = Object.freeze({
  '/api/server/getAdvFaceId': { method: 'POST', answer: registerOrder },
  '/api/v2/base/queryfacerecord': { method: 'POST', answer: queryFaceRecord },
  '/api/web/login': { method: 'GET', page: loginPage, send: sendLoginAnswer },
  '/api/web/finish': { method: 'GET', page: finishVerification, send: sendFinishAnswer },
});

async function handleFlow(state, req, res, url, route) {
  recordRequest(state, req, url, 'flow');
  const entry = state.log[state.log.length - 1];
  const now = Date.now();
  if (req.method !== route.method) {
    res.setHeader('Allow', `${route.method}, OPTIONS`);
    return sendJson(res, 405, failure(now, CODES.METHOD_NOT_ALLOWED, `请求方法不支持，请使用 ${route.method} (method not allowed)`));
  }
  if (route.page) return route.send(res, route.page(state, Object.fromEntries(url.searchParams), { now }));
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
    return sendJson(res, 200, malformed(now, 'Content-Type'));
  }
  let body;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return sendJson(res, 200, malformed(now, 'body'));
  }
  entry.body = maskPersonalData(body);
  const context = { now: Date.now(), query: url.searchParams, authority: ownAuthority(req) };
  return sendJson(res, 200, route.answer(state, body, context));
}

// ---------------------------------------------------------------------------
// Start

/**
 * Starts an emulator. Resolves to { url, close(), state } once it listens.
 * Options: port (0 = any free port), host, and any config key (see DEFAULT_CONFIG).
 */
export async function startEmulator(options = {}) {
  const { port = 0, host = '127.0.0.1', ...overrides } = options;
  const startConfig = buildConfig(overrides);
  const state = freshState(startConfig);
  const sockets = new Set();

  const server = createServer((req, res) => {
    handle(state, req, res, startConfig).catch((error) => {
      // A bug in the emulator: answer 500 if still possible, never crash the process.
      if (!res.headersSent) sendJson(res, 500, failure(Date.now(), CODES.SERVICE_ERROR, `emulator error: ${error.message}`));
      else res.destroy();
    });
  });
  // Tracked so close() can cut slow, streaming and keep-alive connections at once.
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });

  const address = server.address();
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing = null;
  const close = () => {
    closing ??= new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return { url: `http://${hostPart}:${address.port}`, close, state };
}
