// FaceID emulator: a zero-dependency local imitation of the FaceID credential chain
// (access_token, SIGN and NONCE api_ticket) plus a control API for tests.
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
  return sendJson(res, 404, failure(Date.now(), CODES.NOT_FOUND, '接口不存在 (no such path)'));
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
