// The benchmark's baseline: a plain-JS client of the same contract as the `faceid-edge` package
// (README "The JS API"), written as carefully as the Rust one so that the comparison is fair.
// Same exports, same validation rules and order, same result shapes, same error kinds, fields
// and messages, the same 64 KiB body cap, timeout, retries with backoff, redirect refusal, abort
// and token-caching rules. A weaker baseline would make the wasm package look cheap for the
// wrong reason.
// bench/plain-client.test.mjs checks it against the package, side by side.

const DEFAULT_ENDPOINT = 'https://miniprogram-kyc.tencentcloudapi.com';
const DEFAULT_VERSION = '1.0.0';
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_REFRESH_AFTER_S = 1200;
const BODY_LIMIT = 64 * 1024;
const MAX_EXPIRE_IN = 10 * 365 * 24 * 3600;
const EXPIRY_MARGIN_MS = 60_000;
const FORCED_REFRESH_INTERVAL_MS = 60_000;
const TOKEN_PATH = '/api/oauth2/access_token';
const TICKET_PATH = '/api/oauth2/api_ticket';
const NOT_A_STATE = 'is not a state exported by exportState()';

// ---- errors: an Error named "FaceIdError" with `kind` and the extra fields of its kind

function faceIdError(kind, message, extra) {
  const error = new Error(message);
  error.name = 'FaceIdError';
  error.kind = kind;
  return Object.assign(error, extra);
}
const invalid = (field, rule) => faceIdError('invalid_argument', `invalid argument: ${field} ${rule}`, { field });
const badResponse = (reason) => faceIdError('bad_response', `FaceID sent an unusable response: ${reason}`);
const aborted = () => faceIdError('aborted', 'the request was aborted by its signal');
const timedOut = (timeoutMs) => faceIdError('timeout', `FaceID did not answer within ${timeoutMs} ms`, { timeoutMs });

/** The service's `msg` and platform messages may echo a credential: scrub it, raw and encoded. */
function redact(text, credentials) {
  for (const credential of credentials) {
    if (credential) text = text.replaceAll(credential, '<redacted>').replaceAll(percentEncode(credential), '<redacted>');
  }
  return text;
}

// ---- validation: the rules of README "Validation rules", checked in the package's order

const RULES = {
  appId: [/^[A-Za-z0-9]{1,8}$/, 'must be 1-8 ASCII letters or digits'],
  accessToken: [/^[\x21-\x7e]{1,64}$/, 'must be 1-64 visible ASCII characters'],
  secret: [/^[\x21-\x7e]{1,64}$/, 'must be 1-64 visible ASCII characters'],
  userId: [/^[A-Za-z0-9_-]{1,30}$/, 'must be 1-30 characters from A-Z a-z 0-9 _ -'],
  version: [/^[A-Za-z0-9._-]{1,20}$/, 'must be 1-20 characters from A-Z a-z 0-9 . _ -'],
};

function checked(field, value) {
  const [pattern, rule] = RULES[field];
  if (!pattern.test(value)) throw invalid(field, rule);
  return value;
}

/** Reads an options object field by field; `undefined` means "use the default". */
class Options {
  constructor(value) {
    // typeof, not instanceof: null-prototype and cross-realm objects are options too.
    if (typeof value !== 'object' || value === null) throw invalid('options', 'must be an object');
    this.object = value;
  }

  get(field) {
    try {
      return this.object[field]; // a getter or proxy may throw: the caller's bad argument
    } catch {
      throw invalid(field, 'could not be read');
    }
  }

  string(field, required) {
    const value = this.get(field);
    if (value === undefined) {
      if (required) throw invalid(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') throw invalid(field, 'must be a string');
    return value;
  }

  number(field) {
    const value = this.get(field);
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw invalid(field, 'must be a number');
    return value;
  }

  validated(field) {
    return checked(field, this.string(field, true));
  }

  version() {
    const version = this.string('version', false);
    return version === undefined ? DEFAULT_VERSION : checked('version', version);
  }

  endpoint() {
    const url = this.string('endpoint', false);
    return url === undefined ? DEFAULT_ENDPOINT : parseEndpoint(url);
  }

  timeout() {
    const ms = this.number('timeoutMs');
    if (ms === undefined) return DEFAULT_TIMEOUT_MS;
    if (!(Number.isInteger(ms) && ms >= 1 && ms <= 120_000)) throw invalid('timeoutMs', 'must be an integer from 1 to 120000');
    return ms;
  }

  retries() {
    const count = this.number('retries');
    if (count === undefined) return DEFAULT_RETRIES;
    if (!(Number.isInteger(count) && count >= 0 && count <= 5)) throw invalid('retries', 'must be an integer from 0 to 5');
    return count;
  }

  signal() {
    const signal = this.get('signal');
    if (signal === undefined) return undefined;
    if (!(signal instanceof AbortSignal)) throw invalid('signal', 'must be an AbortSignal');
    return signal;
  }
}

// ---- endpoint: https://host[:port][/prefix], or http: to loopback; no query, fragment, user

const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
const endpointError = (rule) => invalid('endpoint', rule);

function parseEndpoint(url) {
  if (/[?#]/.test(url)) throw endpointError('must not contain a query or fragment');
  const separator = url.indexOf('://');
  if (separator < 0) throw endpointError('must be an absolute http(s) URL');
  const scheme = asciiLower(url.slice(0, separator));
  const rest = url.slice(separator + 3);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (authority.includes('@')) throw endpointError('must not contain credentials');
  const host = hostOf(authority);
  if (scheme === 'http') {
    if (!isLoopback(host)) throw endpointError('must use https: (http: only to a loopback host)');
  } else if (scheme !== 'https') {
    throw endpointError('must be an absolute http(s) URL');
  }
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(path)) throw endpointError('has a path with characters that need escaping');
  return `${scheme}://${asciiLower(authority)}${path.replace(/\/+$/, '')}`;
}

function hostOf(authority) {
  let host = authority;
  let port;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw endpointError('has an unterminated IPv6 address');
    const inner = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw endpointError('has an invalid host');
      port = after.slice(1);
    }
    if (!/^[0-9A-Fa-f:]+$/.test(inner)) throw endpointError('has an invalid host');
    host = authority.slice(0, close + 1);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535)) {
    throw endpointError('has an invalid port');
  }
  if (!(host.startsWith('[') || /^[A-Za-z0-9.-]+$/.test(host))) throw endpointError('has an invalid host');
  return host;
}

function isLoopback(host) {
  if (asciiLower(host) === 'localhost' || host === '[::1]') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** RFC 3986: everything but A-Z a-z 0-9 - . _ ~ is %XX (encodeURIComponent also spares !'()*). */
function percentEncode(value) {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function requestUrl(endpoint, path, query) {
  let url = endpoint + path;
  let separator = '?';
  for (const [key, value] of query) {
    url += `${separator}${key}=${percentEncode(value)}`;
    separator = '&';
  }
  return url;
}

// ---- transport: GET through the global fetch, bounded in time and size, cancelled when done

function describe(error) {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : 'the request failed';
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${String(error.name)}: ${String(error.message)}${cause}`;
}

/**
 * Sends GET `url`; resolves to `{ json, sentAt }`. `credential` is scrubbed from any message.
 * Network errors, timeouts, HTTP 5xx and 429 are retried up to `retries` times with full-jitter
 * backoff. All attempts and pauses fit in `timeoutMs`: each attempt gets an equal share of the
 * time left, and a pause that would leave no time for another attempt ends the call.
 */
async function get(url, { timeoutMs, signal, retries }, credential) {
  const attempts = retries + 1;
  const started = Date.now();
  for (let attempt = 0; ;) {
    const share = Math.trunc(Math.max((timeoutMs - (Date.now() - started)) / (attempts - attempt), 1));
    let error;
    try {
      return await getOnce(url, share, signal, credential);
    } catch (failure) {
      // The caller's limit is for the whole call: report that one.
      error = failure.kind === 'timeout' ? timedOut(timeoutMs) : failure;
    }
    attempt += 1;
    if (attempt === attempts || !isTransient(error)) throw error;
    const pause = Math.random() * Math.min((100 * 2 ** Math.min(attempt, 10)) / 2, 1000);
    if (Date.now() - started + pause >= timeoutMs) throw error;
    await sleep(pause, signal);
  }
}

/** Worth another attempt: never invalid_argument, api, bad_response or a 4xx other than 429. */
const isTransient = (error) => error.kind === 'network' || error.kind === 'timeout'
  || (error.kind === 'http' && (error.status >= 500 || error.status === 429));

/** Waits `ms`, or rejects aborted when `signal` fires; the timer never outlives the wait. */
async function sleep(ms, signal) {
  if (signal?.aborted) throw aborted();
  let timer;
  let onAbort;
  try {
    await new Promise((resolve, reject) => {
      timer = setTimeout(resolve, ms);
      onAbort = () => reject(aborted());
      signal?.addEventListener('abort', onAbort);
    });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Set once the runtime refused `redirect: "error"` (workerd has only "follow" and "manual"). */
let redirectManual = false;

/** Redirects are never followed: they would carry the secret or token to another host. With
 * "manual", a redirect arrives as a 3xx (or opaque status 0) and fails as `http`. */
function send(url, signal, manual) {
  return fetch(url, { method: 'GET', signal, redirect: manual ? 'manual' : 'error' });
}

const refusesRedirectError = (error) => error instanceof Error && error.name === 'TypeError' && String(error.message).includes('redirect');

/** One attempt, limited to `timeoutMs`. */
async function getOnce(url, timeoutMs, signal, credential) {
  if (signal?.aborted) throw aborted();
  const controller = new AbortController();
  let didTimeOut = false;
  const timer = setTimeout(() => {
    didTimeOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort);
  // A rejection is the caller's abort, our timeout, or the network, in that order.
  const failure = (error) => {
    if (signal?.aborted) return aborted();
    if (didTimeOut) return timedOut(timeoutMs);
    return faceIdError('network', `could not reach FaceID: ${redact(describe(error), [credential])}`);
  };
  try {
    const sentAt = Date.now();
    let response;
    try {
      const manual = redirectManual;
      try {
        response = await send(url, controller.signal, manual);
      } catch (error) {
        if (manual || !refusesRedirectError(error)) throw error;
        redirectManual = true;
        response = await send(url, controller.signal, true);
      }
    } catch (error) {
      throw failure(error);
    }
    if (!(response instanceof Response)) throw badResponse('fetch did not return a Response');
    if (!response.ok) throw faceIdError('http', `FaceID answered HTTP ${response.status}`, { status: response.status });
    const body = await readCapped(response, failure);
    let json;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw badResponse('the body is not valid JSON');
    }
    return { json, sentAt };
  } finally {
    // Like the package's drop guard: no timer, listener or download outlives the attempt.
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    controller.abort();
  }
}

/** At most BODY_LIMIT bytes, read from the body stream; past that the download is cancelled. */
async function readCapped(response, failure) {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw failure(error);
    }
    if (chunk.done) break;
    if (!(chunk.value instanceof Uint8Array)) throw badResponse('the body stream yielded a non-byte chunk');
    length += chunk.value.length;
    if (length > BODY_LIMIT) {
      reader.cancel().catch(() => {});
      throw badResponse(`the body is larger than ${BODY_LIMIT} bytes`);
    }
    chunks.push(chunk.value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

// ---- answers: JSON.parse output → ticket / token, or an api / bad_response error

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Own members only: nothing inherited passes for an answer field. */
const member = (object, key) => (isObject(object) && Object.hasOwn(object, key) ? object[key] : undefined);
const optionalString = (object, key) => {
  const value = member(object, key);
  return typeof value === 'string' ? value : undefined;
};

function checkCode(answer) {
  if (!isObject(answer)) throw badResponse('the body is not a JSON object');
  let code = member(answer, 'code');
  if (code === undefined) throw badResponse('`code` is missing');
  if (typeof code === 'number') {
    code = code % 1 === 0 && Math.abs(code) < 2 ** 53 ? String(code) : 'non-integer';
  } else if (typeof code !== 'string') {
    throw badResponse('`code` is not a string or number');
  }
  if (code === '0') return;
  const transactionTime = optionalString(answer, 'transactionTime');
  throw faceIdError('api', `FaceID refused the request: code ${code}: ${optionalString(answer, 'msg') ?? ''}`, {
    code,
    msg: optionalString(answer, 'msg') ?? '',
    ...(transactionTime === undefined ? {} : { transaction_time: transactionTime }),
  });
}

function nonEmptyString(object, key) {
  const value = member(object, key);
  if (value === undefined) throw badResponse(`\`${key}\` is missing`);
  if (typeof value !== 'string') throw badResponse(`\`${key}\` is not a string`);
  if (value === '') throw badResponse(`\`${key}\` is empty`);
  return value;
}

/** A positive whole number of seconds, sent as a number or as a decimal string. */
function expireIn(object) {
  const value = member(object, 'expire_in');
  if (value === undefined) throw badResponse('`expire_in` is missing');
  let seconds;
  if (typeof value === 'number' && value % 1 === 0) seconds = value;
  else if (typeof value === 'string' && /^\d{1,12}$/.test(value)) seconds = Number(value);
  if (!(seconds >= 1 && seconds <= MAX_EXPIRE_IN)) throw badResponse('`expire_in` is not a positive whole number of seconds');
  return seconds;
}

function parseTicket(answer, sentAt) {
  checkCode(answer);
  const tickets = member(answer, 'tickets');
  if (tickets === undefined) throw badResponse('`tickets` is missing');
  if (!Array.isArray(tickets)) throw badResponse('`tickets` is not an array');
  if (tickets.length === 0) throw badResponse('`tickets` is empty');
  const ticket = tickets[0];
  if (!isObject(ticket)) throw badResponse('the ticket is not an object');
  const value = nonEmptyString(ticket, 'value');
  const seconds = expireIn(ticket);
  // The package's key order; optional keys absent, never null.
  const result = { value, expire_in: seconds };
  const expireTime = optionalString(ticket, 'expire_time');
  if (expireTime !== undefined) result.expire_time = expireTime;
  const transactionTime = optionalString(answer, 'transactionTime');
  if (transactionTime !== undefined) result.transaction_time = transactionTime;
  result.expires_at = sentAt + seconds * 1000;
  return result;
}

function parseAccessToken(answer, sentAt) {
  checkCode(answer);
  const value = nonEmptyString(answer, 'access_token');
  const seconds = expireIn(answer);
  return { value, expire_in: seconds, expires_at: sentAt + seconds * 1000 };
}

/** One request: URL, send, parse; the credential it carries is scrubbed from every error. */
async function request(url, options, credential, parse) {
  const { json, sentAt } = await get(url, options, credential);
  try {
    return parse(json, sentAt);
  } catch (error) {
    if (error.kind === 'api') {
      error.msg = redact(error.msg, [credential]);
      error.message = `FaceID refused the request: code ${error.code}: ${error.msg}`;
    }
    throw error;
  }
}

// ---- the public API

/** One NONCE ticket, given a token managed by the caller. Never throws synchronously. */
export async function fetchNonceTicket(options) {
  const o = new Options(options);
  const appId = o.validated('appId');
  const accessToken = o.validated('accessToken');
  const userId = o.validated('userId');
  const version = o.version();
  const sendOptions = { endpoint: o.endpoint(), timeoutMs: o.timeout(), signal: o.signal(), retries: o.retries() };
  const url = requestUrl(sendOptions.endpoint, TICKET_PATH, [
    ['app_id', appId], ['access_token', accessToken], ['type', 'NONCE'], ['version', version], ['user_id', userId],
  ]);
  return request(url, sendOptions, accessToken, parseTicket);
}

/** SHA-1 of a byte array, 40 upper-case hex digits. Synchronous, like the package's `sign`. */
function sha1Hex(bytes) {
  const words = new Uint32Array((((bytes.length + 8) >>> 6) + 1) * 16);
  for (let i = 0; i < bytes.length; i++) words[i >>> 2] |= bytes[i] << (24 - (i & 3) * 8);
  words[bytes.length >>> 2] |= 0x80 << (24 - (bytes.length & 3) * 8);
  words[words.length - 2] = Math.floor(bytes.length / 0x20000000);
  words[words.length - 1] = bytes.length * 8;
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let block = 0; block < words.length; block += 16) {
    for (let t = 0; t < 80; t++) {
      const x = t < 16 ? words[block + t] : w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = t < 16 ? x : (x << 1) | (x >>> 31);
    }
    let [a, b, c, d, e] = h;
    for (let t = 0; t < 80; t++) {
      const f = t < 20 ? (b & c) | (~b & d) : t < 40 || t >= 60 ? b ^ c ^ d : (b & c) | (b & d) | (c & d);
      const k = t < 20 ? 0x5a827999 : t < 40 ? 0x6ed9eba1 : t < 60 ? 0x8f1bbcdc : 0xca62c1d6;
      const next = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }
  return h.map((v) => (v >>> 0).toString(16).padStart(8, '0')).join('').toUpperCase();
}

const encoder = new TextEncoder();

/** The FaceID signature: values sorted by UTF-16 code units (JS's default sort), joined, SHA-1. */
export function sign(values) {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
    throw invalid('values', 'must be an array of strings');
  }
  return sha1Hex(encoder.encode([...values].sort().join('')));
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 letters and digits; bytes >= 248 (4 × 62) are redrawn, so there is no modulo bias. */
export function nonceString() {
  let nonce = '';
  const buffer = new Uint8Array(48);
  while (nonce.length < 32) {
    try {
      crypto.getRandomValues(buffer);
    } catch {
      throw faceIdError('network', 'this platform has no crypto.getRandomValues');
    }
    for (const byte of buffer) {
      if (byte < 248) nonce += NONCE_ALPHABET[byte % 62];
      if (nonce.length === 32) break;
    }
  }
  return nonce;
}

/** Runs `work()` unless `signal` fires first (then rejects aborted); no signal, no race. */
async function abortable(signal, work) {
  if (!signal) return work();
  if (signal.aborted) throw aborted();
  let onAbort;
  const fired = new Promise((_, reject) => {
    onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort);
  });
  try {
    return await Promise.race([work(), fired]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

const credentialView = ({ value, expire_in, expires_at }) => ({ value, expire_in, expires_at });

function userIdOf(value) {
  if (typeof value !== 'string') throw invalid('userId', 'must be a string');
  return checked('userId', value);
}

function clientConfig(options) {
  const o = new Options(options);
  const config = {
    appId: o.validated('appId'),
    secret: o.validated('secret'),
    endpoint: o.endpoint(),
    version: o.version(),
    timeoutMs: o.timeout(),
    retries: o.retries(),
  };
  const refreshAfter = o.number('refreshAfterSeconds') ?? DEFAULT_REFRESH_AFTER_S;
  if (!(refreshAfter > 0 && refreshAfter <= 86_400)) {
    throw invalid('refreshAfterSeconds', 'must be a number of seconds greater than 0 and at most 86400');
  }
  config.refreshAfterMs = refreshAfter * 1000;
  return config;
}

/** The credential chain of one WBappid, with the package's caching and refresh rules. */
export class FaceIdClient {
  #config;
  /** { grant, obtainedAt, signTicket } — the SIGN ticket lives inside its token. */
  #token = null;
  #lastForcedRefresh = null;
  #tokenFlight = null;
  /** { token, promise }: the SIGN request in flight and the token it was made with. */
  #signFlight = null;

  constructor(options) {
    this.#config = clientConfig(options);
  }

  static importState(options, state) {
    const client = new FaceIdClient(options);
    if (typeof state !== 'string') throw invalid('state', 'must be a string');
    let saved;
    try {
      saved = readState(JSON.parse(state));
    } catch {
      saved = null;
    }
    if (!saved) throw invalid('state', NOT_A_STATE);
    if (saved.v !== 1) throw invalid('state', 'was exported by an incompatible version');
    if (saved.app_id !== client.#config.appId) throw invalid('state', 'belongs to another appId');
    const token = saved.token;
    if (token && !(token.grant.value !== '' && Number.isFinite(token.obtained_at) && Number.isFinite(token.grant.expires_at))) {
      throw invalid('state', 'holds an unusable token');
    }
    client.#token = token && { grant: token.grant, obtainedAt: token.obtained_at, signTicket: token.sign_ticket };
    client.#lastForcedRefresh = saved.last_forced_refresh;
    return client;
  }

  exportState() {
    const token = this.#token;
    // Absent, not null, for "none": as the package's JSON.
    return JSON.stringify({
      v: 1,
      app_id: this.#config.appId,
      token: token ? { grant: token.grant, obtained_at: token.obtainedAt, sign_ticket: token.signTicket ?? undefined } : undefined,
      last_forced_refresh: this.#lastForcedRefresh ?? undefined,
    });
  }

  free() {}

  [Symbol.dispose]() {}

  async accessToken() {
    return credentialView(await this.#accessToken());
  }

  async tokenRejected(token) {
    if (typeof token !== 'string') throw invalid('token', 'must be a string');
    this.#onRejectedToken(token, Date.now());
    return credentialView(await this.#accessToken());
  }

  async signTicket() {
    return credentialView(await this.#withToken(undefined, (token) => this.#signTicketFor(token)));
  }

  async nonceTicket(userId, options) {
    const user = userIdOf(userId);
    const signal = options === undefined ? undefined : new Options(options).signal();
    const config = this.#config;
    return this.#withToken(signal, (token) => request(
      requestUrl(config.endpoint, TICKET_PATH, [
        ['app_id', config.appId], ['access_token', token], ['type', 'NONCE'], ['version', config.version], ['user_id', user],
      ]),
      { timeoutMs: config.timeoutMs, signal, retries: config.retries },
      token,
      parseTicket,
    ));
  }

  async sdkSignature(userId) {
    const user = userIdOf(userId);
    const ticket = await this.nonceTicket(user);
    const { appId, version } = this.#config;
    const nonce = nonceString();
    return { appId, userId: user, version, nonce, sign: sign([appId, user, nonce, version, ticket.value]), expires_at: ticket.expires_at };
  }

  /** Fresh: serve. Stale (old or expiring within 60 s): refresh, but serve it if that fails. */
  async #accessToken() {
    const now = Date.now();
    const token = this.#token && now < this.#token.grant.expires_at ? this.#token : null;
    if (token && now - token.obtainedAt < this.#config.refreshAfterMs && token.grant.expires_at - now > EXPIRY_MARGIN_MS) {
      return token.grant;
    }
    try {
      return await this.#startTokenFlight();
    } catch (error) {
      if (token && Date.now() < token.grant.expires_at) return token.grant;
      throw error;
    }
  }

  /** Single flight: every caller that needs a token meanwhile waits for the same request. */
  #startTokenFlight() {
    this.#tokenFlight ??= (async () => {
      const { appId, secret, version, endpoint, timeoutMs, retries } = this.#config;
      try {
        const url = requestUrl(endpoint, TOKEN_PATH, [
          ['app_id', appId], ['secret', secret], ['grant_type', 'client_credential'], ['version', version],
        ]);
        const grant = await request(url, { timeoutMs, retries }, secret, parseAccessToken);
        this.#token = { grant, obtainedAt: grant.expires_at - grant.expire_in * 1000, signTicket: null };
        return grant;
      } finally {
        this.#tokenFlight = null;
      }
    })();
    return this.#tokenFlight;
  }

  /** Forced refresh only for the current token, over a minute old, at most once a minute. */
  #onRejectedToken(tokenValue, now) {
    const token = this.#token;
    if (!token || token.grant.value !== tokenValue) return 'retry';
    const oldEnough = now - token.obtainedAt > FORCED_REFRESH_INTERVAL_MS;
    const rateOk = this.#lastForcedRefresh === null || now - this.#lastForcedRefresh >= FORCED_REFRESH_INTERVAL_MS;
    if (!(oldEnough && rateOk)) return 'give_up';
    this.#token = null;
    this.#lastForcedRefresh = now;
    return 'retry';
  }

  /** A ticket request with the current token; on an `api` refusal, maybe a new token and one retry. */
  async #withToken(signal, attempt) {
    const grant = await abortable(signal, () => this.#accessToken());
    let error;
    try {
      return await attempt(tokenParameter(grant));
    } catch (failure) {
      if (failure?.kind !== 'api') throw failure;
      error = failure;
    }
    if (this.#onRejectedToken(grant.value, Date.now()) === 'give_up') throw error;
    return attempt(tokenParameter(await abortable(signal, () => this.#accessToken())));
  }

  async #signTicketFor(token) {
    const now = Date.now();
    const cached = this.#token?.grant.value === token ? this.#token.signTicket : null;
    if (cached && cached.expires_at - now > EXPIRY_MARGIN_MS) return cached;
    if (this.#signFlight?.token !== token) {
      const { appId, version, endpoint, timeoutMs, retries } = this.#config;
      const flight = {
        token,
        promise: (async () => {
          try {
            const url = requestUrl(endpoint, TICKET_PATH, [
              ['app_id', appId], ['access_token', token], ['type', 'SIGN'], ['version', version],
            ]);
            const ticket = await request(url, { timeoutMs, retries }, token, parseTicket);
            // A ticket fetched with a replaced token died with it: not stored.
            if (this.#token?.grant.value === token) this.#token.signTicket = ticket;
            return ticket;
          } finally {
            if (this.#signFlight === flight) this.#signFlight = null;
          }
        })(),
      };
      this.#signFlight = flight;
    }
    return this.#signFlight.promise;
  }
}

/** The service's token as a request parameter; a malformed one is the service's fault. */
function tokenParameter(grant) {
  if (!RULES.accessToken[0].test(grant.value)) throw badResponse('the access token is not 1-64 visible ASCII characters');
  return grant.value;
}

// ---- importState: a saved state read member by member, or null if it is not one

const whole = (v) => (typeof v === 'number' && v % 1 === 0 && v >= 0 && v <= 0xffffffff ? v : undefined);
const nullish = (v) => v === undefined || v === null;

function readState(json) {
  const v = whole(member(json, 'v'));
  const appId = member(json, 'app_id');
  if (v === undefined || typeof appId !== 'string') return null;
  const rawToken = member(json, 'token');
  const token = nullish(rawToken) ? null : readToken(rawToken);
  const last = member(json, 'last_forced_refresh');
  if (token === undefined || !(nullish(last) || typeof last === 'number')) return null;
  return { v, app_id: appId, token, last_forced_refresh: nullish(last) ? null : last };
}

function readToken(json) {
  const grant = member(json, 'grant');
  const value = member(grant, 'value');
  const expire_in = whole(member(grant, 'expire_in'));
  const expires_at = member(grant, 'expires_at');
  const obtained_at = member(json, 'obtained_at');
  const rawTicket = member(json, 'sign_ticket');
  const sign_ticket = nullish(rawTicket) ? null : readTicket(rawTicket);
  const ok = typeof value === 'string' && expire_in !== undefined && typeof expires_at === 'number'
    && typeof obtained_at === 'number' && sign_ticket !== undefined;
  return ok ? { grant: { value, expire_in, expires_at }, obtained_at, sign_ticket } : undefined;
}

function readTicket(json) {
  const value = member(json, 'value');
  const expire_in = whole(member(json, 'expire_in'));
  const expires_at = member(json, 'expires_at');
  const ticket = { value, expire_in };
  for (const key of ['expire_time', 'transaction_time']) {
    const text = member(json, key);
    if (!(nullish(text) || typeof text === 'string')) return undefined;
    if (typeof text === 'string') ticket[key] = text;
  }
  ticket.expires_at = expires_at;
  return typeof value === 'string' && expire_in !== undefined && typeof expires_at === 'number' ? ticket : undefined;
}
