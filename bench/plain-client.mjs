// The benchmark's baseline: a plain-JS client of the same contract as the `faceid-edge` package
// (README "The credential chain", "The JS API", "Failure paths"), written as carefully as the Rust
// one so that the comparison is fair. Same exports, same validation rules and order, same result
// shapes, same error kinds, fields and messages, the same deadlines, retries, failure memory,
// token rules and token sources. A weaker baseline would make the wasm package look cheap for
// the wrong reason.
// Not here: the verification calls (registerOrder, h5LoginUrl, verifyCallback, queryFaceRecord),
// which the benchmark does not measure.
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
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** How long a token from a token source is reused: well inside the service's one-minute overlap
 * after a rotation by the owner. */
const SOURCE_TOKEN_REUSE_MS = 30_000;
/** importState's tolerances: clocks of two machines differ; `expires_at` is rounded by nobody. */
const CLOCK_SKEW_MS = 5 * 60_000;
const EXPIRY_DRIFT_MS = 5000;
const MAX_SAVED_EXPIRE_IN = 86_400;
const STATE_VERSION = 1;
const TOKEN_PATH = '/api/oauth2/access_token';
const TICKET_PATH = '/api/oauth2/api_ticket';

// ---- errors: an Error named "FaceIdError" with `kind` and the extra fields of its kind

function faceIdError(kind, message, extra) {
  const error = new Error(message);
  error.name = 'FaceIdError';
  error.kind = kind;
  return Object.assign(error, extra);
}
const invalid = (field, rule) => faceIdError('invalid_argument', `invalid argument: ${field} ${rule}`, { field });
const apiError = (code, msg, transactionTime) => faceIdError('api', `FaceID refused the request: code ${code}: ${msg}`,
  transactionTime === undefined ? { code, msg } : { code, msg, transaction_time: transactionTime });
const httpError = (status) => faceIdError('http', `FaceID answered HTTP ${status}`, { status });
const networkError = (detail) => faceIdError('network', `could not reach FaceID: ${detail}`, { detail });
// The host failed the call (a missing platform feature, a failing token source): kind `network`
// as the package reports it, without the "could not reach FaceID" prefix.
const hostError = (detail) => faceIdError('network', detail, { detail });
const timedOut = (timeoutMs) => faceIdError('timeout', `FaceID did not answer within ${timeoutMs} ms`, { timeoutMs });
const aborted = () => faceIdError('aborted', 'the request was aborted by its signal');
const badResponse = (reason) => faceIdError('bad_response', `FaceID sent an unusable response: ${reason}`, { reason });

const DETAILS = ['code', 'msg', 'transaction_time', 'status', 'timeoutMs', 'detail', 'reason'];

/** `error` answered again while its request waits out a failure: the same kind and details, plus
 * `retry_after_ms`, whole milliseconds rounded up (never an invitation to come back early). */
function backingOff(error, waitMs) {
  const retryAfterMs = Math.min(Math.ceil(Math.max(waitMs, 0)), 0xffffffff);
  const extra = { retry_after_ms: retryAfterMs };
  for (const key of DETAILS) if (error[key] !== undefined) extra[key] = error[key];
  return faceIdError(error.kind, `${error.message} (not asked again for ${retryAfterMs} ms)`, extra);
}

/** The service's `msg` and platform messages may echo a credential: scrub it, raw and encoded. */
function redact(text, credential) {
  return credential ? text.replaceAll(credential, '<redacted>').replaceAll(percentEncode(credential), '<redacted>') : text;
}

// ---- validation: the rules of README "Validation rules", checked in the package's order

/** The token rule, which every token and ticket value that arrives must keep as well. */
const CREDENTIAL = /^[\x21-\x7e]{1,128}$/;
const RULES = {
  appId: [/^[A-Za-z0-9]{1,8}$/, 'must be 1-8 ASCII letters or digits'],
  accessToken: [CREDENTIAL, 'must be 1-128 visible ASCII characters'],
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

/** A failed attempt. `quick`: failed before any answer, or answered 429, 502, 503 or 504, so
 * another attempt may do better. `retryAfterMs`: the answer's `Retry-After`, given in seconds. */
class Failure {
  constructor(error, quick = false, retryAfterMs = undefined) {
    this.error = error;
    this.quick = quick;
    this.retryAfterMs = retryAfterMs;
  }
}

const QUICK_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Sends GET `url`; resolves to `{ json, sentAt }`. `credential` is scrubbed from any message.
 * `timeoutMs` bounds the whole call, and every attempt may use all of the time left: none is cut
 * short to leave room for another. Only quick failures are retried, up to `retries` times and
 * only while time is left, after the answer's `Retry-After` or else a short jittered pause; a
 * `Retry-After` that does not fit ends the call with that error. The call ends with `timeout`
 * only once `timeoutMs` has passed. The caller's signal stops everything.
 */
function get(url, { timeoutMs, signal, retries }, credential) {
  if (signal?.aborted) return Promise.reject(aborted());
  // One millisecond more: `Date.now()` is truncated, so the call never ends a hair early.
  const deadline = Date.now() + timeoutMs + 1;
  return new Promise((resolve, reject) => {
    /** `attempt`: the AbortController of the request under way; `over` once the call settled. */
    const call = { over: false, attempt: null, pause: undefined };
    let timer;
    const end = () => {
      call.over = true;
      clearTimeout(timer);
      clearTimeout(call.pause);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error) => {
      if (call.over) return;
      end();
      call.attempt?.abort();
      reject(error);
    };
    const onAbort = () => fail(aborted());
    // Timers may fire early by the wall clock (Node arms them from a cached loop time): the clock
    // decides, not the timer.
    const watch = () => {
      const left = deadline - Date.now();
      if (left <= 0) fail(timedOut(timeoutMs));
      else timer = setTimeout(watch, Math.ceil(left));
    };
    signal?.addEventListener('abort', onAbort);
    timer = setTimeout(watch, timeoutMs + 1);
    attempts(url, retries, deadline, credential, call).then((answer) => {
      if (call.over) return;
      end();
      resolve(answer);
    }, fail);
  });
}

async function attempts(url, retries, deadline, credential, call) {
  for (let retried = 0; ;) {
    let failure;
    try {
      return await fetchOnce(url, credential, call);
    } catch (thrown) {
      failure = thrown instanceof Failure ? thrown : new Failure(thrown);
    }
    // Settled by the deadline or the caller's signal: nothing more is sent.
    if (call.over) return undefined;
    if (!failure.quick || retried === retries) throw failure.error;
    retried += 1;
    // Full jitter below 100 ms × 2^(retry - 1), capped at 1 s: clients that failed together do
    // not retry together.
    const pause = failure.retryAfterMs ?? Math.random() * Math.min(50 * 2 ** Math.min(retried, 10), 1000);
    if (Date.now() + pause >= deadline) throw failure.error;
    await new Promise((resolve) => {
      call.pause = setTimeout(resolve, pause);
    });
    if (call.over) return undefined;
  }
}

/** A `Retry-After` in whole seconds, in ms. The HTTP-date form is not used: the service's clock
 * zone is unknown. */
function retryAfterMs(response) {
  const value = response.headers.get('retry-after')?.trim();
  return value && /^\d{1,6}$/.test(value) ? Number(value) * 1000 : undefined;
}

/** Set once the runtime refused `redirect: "error"` (workerd has only "follow" and "manual"). */
let redirectManual = false;

/** Redirects are never followed: they would carry the secret or token to another host. With
 * "manual", a redirect arrives as a 3xx (or opaque status 0) and fails as `http`. */
function send(url, signal, manual) {
  return fetch(url, { method: 'GET', signal, redirect: manual ? 'manual' : 'error' });
}

const refusesRedirectError = (error) => error instanceof Error && error.name === 'TypeError' && String(error.message).includes('redirect');

/** One decoder for every answer: making one per request costs more than the decoding. */
const UTF8 = new TextDecoder();

/** One attempt, without a time limit of its own: `get` aborts it at the deadline. */
async function fetchOnce(url, credential, call) {
  const controller = new AbortController();
  call.attempt = controller;
  // Set once the body has been read to its end: nothing is left to cancel.
  let finished = false;
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
      // Nothing was answered: the service did no work, so another attempt is safe.
      throw new Failure(networkError(redact(describe(error), credential)), true);
    }
    if (!(response instanceof Response)) throw badResponse('fetch did not return a Response');
    if (!response.ok) {
      throw new Failure(httpError(response.status), QUICK_STATUSES.has(response.status), retryAfterMs(response));
    }
    const body = await readCapped(response, credential);
    finished = true;
    let json;
    try {
      json = JSON.parse(UTF8.decode(body));
    } catch {
      throw badResponse('the body is not valid JSON');
    }
    return { json, sentAt };
  } finally {
    // Like the package's drop guard: no download outlives a failed attempt.
    if (!finished) controller.abort();
  }
}

/** At most BODY_LIMIT bytes, read from the body stream; past that the download is cancelled. A
 * failure while reading is not quick: the service has answered, and may have done its work. */
async function readCapped(response, credential) {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw networkError(redact(describe(error), credential));
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
  if (code !== '0') throw apiError(code, optionalString(answer, 'msg') ?? '', optionalString(answer, 'transactionTime'));
}

function nonEmptyString(object, key) {
  const value = member(object, key);
  if (value === undefined) throw badResponse(`\`${key}\` is missing`);
  if (typeof value !== 'string') throw badResponse(`\`${key}\` is not a string`);
  if (value === '') throw badResponse(`\`${key}\` is empty`);
  return value;
}

/** A token or ticket value that keeps the token rule; one that does not would be cached and then
 * refused by our own validation, so it is a broken answer from the start. */
function credentialValue(object, key, what) {
  const value = nonEmptyString(object, key);
  if (!CREDENTIAL.test(value)) throw badResponse(`${what} is not 1-128 visible ASCII characters`);
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
  const value = credentialValue(ticket, 'value', 'the ticket');
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
  const value = credentialValue(answer, 'access_token', 'the access token');
  const seconds = expireIn(answer);
  return { value, expire_in: seconds, expires_at: sentAt + seconds * 1000 };
}

/** One request: send, parse; the credential it carries is scrubbed from every error. */
async function request(url, options, credential, parse) {
  const { json, sentAt } = await get(url, options, credential);
  try {
    return parse(json, sentAt);
  } catch (error) {
    if (error.kind === 'api') throw apiError(error.code, redact(error.msg, credential), error.transaction_time);
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
      throw hostError('this platform has no crypto.getRandomValues');
    }
    for (const byte of buffer) {
      if (byte < 248) nonce += NONCE_ALPHABET[byte % 62];
      if (nonce.length === 32) break;
    }
  }
  return nonce;
}

// ---- the credential cache: which token and SIGN ticket are current, when to refresh, how long
// a failure keeps the client from asking again (the package's src/cache.rs)

/** The wait after `failures` consecutive failures: a ceiling doubling from 1 s up to 60 s, the
 * wait drawn from its upper half, so clients that failed together do not return together. */
function backoffDelayMs(failures) {
  const ceiling = Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 16), BACKOFF_MAX_MS);
  return (ceiling / 2) * (1 + Math.random());
}

/** The memory of a failing kind of request: consecutive failures, the last one, and until when
 * no request of that kind is sent. */
class Backoff {
  constructor(previous, error, now) {
    this.failures = (previous?.failures ?? 0) + 1;
    this.until = now + backoffDelayMs(this.failures);
    this.last = error;
  }

  active(now) {
    return now < this.until;
  }

  replay(now) {
    return backingOff(this.last, this.until - now);
  }
}

/** `[memory, answer]` after `error`: an abort is the caller's choice and an invalid argument was
 * never sent, so neither says anything about the service or makes the client wait. */
function remember(previous, error, now) {
  if (error.kind === 'aborted' || error.kind === 'invalid_argument') return [previous, error];
  const next = new Backoff(previous, error, now);
  return [next, next.replay(now)];
}

/** A ticket dies with the token that produced it: it never expires later. */
function withinToken(ticket, token) {
  if (ticket.expires_at > token.expires_at) ticket.expires_at = token.expires_at;
  return ticket;
}

const RETRY_WITH_CURRENT = 'retry_with_current';
const RETRY_AFTER_REFRESH = 'retry_after_refresh';
const GIVE_UP = 'give_up';

class CredentialCache {
  /** { grant, obtainedAt, signTicket, signBackoff }: the SIGN ticket and the memory of its failed
   * requests live inside their token, so a new token drops both. */
  #token = null;
  #lastForcedRefresh = null;
  #refreshAfterMs;
  /** The service refused the current token: replace it at the next chance, keep it until then. */
  #replaceCurrent = false;
  #tokenBackoff = null;
  /** Kept only for the state: the package checks callbacks against it. */
  #previousSignTicket = null;

  constructor(refreshAfterMs, saved) {
    this.#refreshAfterMs = refreshAfterMs;
    if (saved) {
      const { token } = saved;
      this.#token = token && { grant: token.grant, obtainedAt: token.obtained_at, signTicket: token.sign_ticket, signBackoff: null };
      this.#lastForcedRefresh = saved.last_forced_refresh;
      this.#previousSignTicket = saved.previous_sign_ticket;
    }
  }

  /** `{ use }`, `{ fail }` or `{ refresh: true, fallback }`. A due token is refreshed by one caller
   * while every other keeps using it; during a backoff a valid token is used to its expiry. */
  planToken(now, refreshInFlight) {
    const token = this.#token !== null && now < this.#token.grant.expires_at ? this.#token : null;
    const backoff = this.#tokenBackoff?.active(now) ? this.#tokenBackoff : null;
    if (token) {
      if (now < this.#dueAt(token) || backoff || refreshInFlight) return { use: token.grant };
      return { refresh: true, fallback: token.grant };
    }
    return backoff ? { fail: backoff.replay(now) } : { refresh: true, fallback: null };
  }

  #dueAt(token) {
    if (this.#replaceCurrent) return -Infinity;
    return Math.min(token.obtainedAt + this.#refreshAfterMs, token.grant.expires_at - EXPIRY_MARGIN_MS);
  }

  /** The later of the due time and the end of the backoff; `now` when one is due now. */
  nextRefreshAt(now) {
    const token = this.#token;
    const due = token && now < token.grant.expires_at ? this.#dueAt(token) : now;
    return Math.max(due, this.#tokenBackoff?.until ?? now, now);
  }

  /** A new token (and with it no SIGN ticket, unless it is the same token) ends any backoff. */
  storeToken(grant, obtainedAt) {
    const old = this.#token;
    const same = old?.grant.value === grant.value;
    if (old && !same) this.#keepAsPrevious(old.signTicket);
    this.#token = { grant, obtainedAt, signTicket: same ? old.signTicket : null, signBackoff: same ? old.signBackoff : null };
    this.#replaceCurrent = false;
    this.#tokenBackoff = null;
  }

  tokenFailed(error, now) {
    let answer;
    [this.#tokenBackoff, answer] = remember(this.#tokenBackoff, error, now);
    return answer;
  }

  /** `{ use }`, `{ fail }` or `{}` (fetch it). During a backoff a cached ticket is used to its expiry. */
  planSignTicket(tokenValue, now) {
    const token = this.#current(tokenValue);
    if (!token) return {};
    const ticket = token.signTicket;
    const backoff = token.signBackoff?.active(now) ? token.signBackoff : null;
    if (ticket && (ticket.expires_at - now > EXPIRY_MARGIN_MS || (backoff && now < ticket.expires_at))) return { use: ticket };
    return backoff ? { fail: backoff.replay(now) } : {};
  }

  /** Dropped if the token was replaced meanwhile: the ticket died with it. */
  storeSignTicket(tokenValue, ticket) {
    const token = this.#current(tokenValue);
    if (!token) return;
    token.signBackoff = null;
    this.#keepAsPrevious(token.signTicket);
    token.signTicket = ticket;
  }

  #keepAsPrevious(replaced) {
    if (replaced) this.#previousSignTicket = replaced;
  }

  signTicketFailed(tokenValue, error, now) {
    const token = this.#current(tokenValue);
    if (!token) return error;
    let answer;
    [token.signBackoff, answer] = remember(token.signBackoff, error, now);
    return answer;
  }

  /** After an `api` refusal: replace the token only when it is current, over a minute old, no
   * forced refresh happened in the last minute and token requests are not in a backoff. */
  onRejectedToken(tokenValue, now) {
    const token = this.#current(tokenValue);
    if (!token) return RETRY_WITH_CURRENT;
    if (this.#tokenBackoff?.active(now)) return GIVE_UP;
    if (this.#replaceCurrent) return RETRY_AFTER_REFRESH;
    const oldEnough = now - token.obtainedAt > FORCED_REFRESH_INTERVAL_MS;
    const rateOk = this.#lastForcedRefresh === null || now - this.#lastForcedRefresh >= FORCED_REFRESH_INTERVAL_MS;
    if (!(oldEnough && rateOk)) return GIVE_UP;
    this.#replaceCurrent = true;
    this.#lastForcedRefresh = now;
    return RETRY_AFTER_REFRESH;
  }

  #current(tokenValue) {
    return this.#token?.grant.value === tokenValue ? this.#token : null;
  }

  /** The state as the package's `exportState()` writes it: every key, `null` for none. */
  export(appId) {
    const token = this.#token;
    return {
      v: STATE_VERSION,
      app_id: appId,
      token: token && { grant: token.grant, obtained_at: token.obtainedAt, sign_ticket: token.signTicket },
      last_forced_refresh: this.#lastForcedRefresh,
      previous_sign_ticket: this.#previousSignTicket,
    };
  }
}

// ---- importState: a saved state read member by member, and refused if it cannot be right

const whole = (v) => (typeof v === 'number' && v % 1 === 0 && v >= 0 && v <= 0xffffffff ? v : undefined);
const number = (v) => (typeof v === 'number' ? v : undefined);
const string = (v) => (typeof v === 'string' ? v : undefined);
/** `null` for an absent or null member, else what `read` makes of it (`undefined`: unreadable). */
const optional = (value, read) => (value === undefined || value === null ? null : read(value));

function readState(json) {
  const state = {
    v: whole(member(json, 'v')),
    app_id: string(member(json, 'app_id')),
    token: optional(member(json, 'token'), readToken),
    last_forced_refresh: optional(member(json, 'last_forced_refresh'), number),
    previous_sign_ticket: optional(member(json, 'previous_sign_ticket'), readTicket),
  };
  return Object.values(state).includes(undefined) ? null : state;
}

function readToken(json) {
  const grant = member(json, 'grant');
  const token = {
    grant: { value: string(member(grant, 'value')), expire_in: whole(member(grant, 'expire_in')), expires_at: number(member(grant, 'expires_at')) },
    obtained_at: number(member(json, 'obtained_at')),
    sign_ticket: optional(member(json, 'sign_ticket'), readTicket),
  };
  return [...Object.values(token.grant), token.obtained_at, token.sign_ticket].includes(undefined) ? undefined : token;
}

function readTicket(json) {
  const ticket = { value: string(member(json, 'value')), expire_in: whole(member(json, 'expire_in')) };
  for (const key of ['expire_time', 'transaction_time']) {
    const text = optional(member(json, key), string);
    if (text === undefined) return undefined;
    if (text !== null) ticket[key] = text;
  }
  ticket.expires_at = number(member(json, 'expires_at'));
  return Object.values(ticket).includes(undefined) ? undefined : ticket;
}

const BREAKS_TOKEN_RULE = 'holds a token or ticket that breaks the token rule (1-128 visible ASCII characters, expire_in 1..=86400)';
const savedLifetime = (expireIn) => expireIn >= 1 && expireIn <= MAX_SAVED_EXPIRE_IN;
const ticketOk = (ticket) => ticket === null
  || (CREDENTIAL.test(ticket.value) && savedLifetime(ticket.expire_in) && Number.isFinite(ticket.expires_at));

/** The first rule `state` breaks at `now`, if any: a client would trust it and never refresh. */
function implausibility(state, now) {
  const forced = state.last_forced_refresh;
  if (!(forced === null || (Number.isFinite(forced) && forced <= now))) return 'has a forced-refresh time in the future or not finite';
  if (!ticketOk(state.previous_sign_ticket)) return BREAKS_TOKEN_RULE;
  const { token } = state;
  if (token === null) return null;
  const { grant } = token;
  if (!CREDENTIAL.test(grant.value) || !ticketOk(token.sign_ticket)) return BREAKS_TOKEN_RULE;
  if (!savedLifetime(grant.expire_in)) return 'holds a token whose expire_in is outside 1..=86400';
  if (!Number.isFinite(token.obtained_at) || token.obtained_at > now + CLOCK_SKEW_MS) {
    return 'holds a token obtained more than 5 minutes in the future';
  }
  const expected = token.obtained_at + grant.expire_in * 1000;
  if (!Number.isFinite(grant.expires_at) || Math.abs(grant.expires_at - expected) > EXPIRY_DRIFT_MS) {
    return 'holds a token whose expires_at disagrees with its obtained time and expire_in';
  }
  const sign = token.sign_ticket;
  return sign && !(Number.isFinite(sign.expires_at) && sign.expires_at <= grant.expires_at) ? 'holds a SIGN ticket that outlives its token' : null;
}

// ---- token sources: `{ token(), rejected(token) }`, an owner of the token elsewhere

/** `object[key]`, or undefined where reading it throws (null, a throwing getter). */
function read(object, key) {
  try {
    return object[key];
  } catch {
    return undefined;
  }
}

class TokenSource {
  #object;
  #token;
  #rejected;

  constructor(source) {
    const token = read(source, 'token');
    const rejected = read(source, 'rejected');
    if (!(typeof source === 'object' && source !== null && typeof token === 'function' && typeof rejected === 'function')) {
      throw invalid('tokenSource', 'must be an object with token() and rejected(token) methods');
    }
    this.#object = source;
    this.#token = token;
    this.#rejected = rejected;
  }

  token() {
    return sourceAnswer(() => this.#token.call(this.#object));
  }

  rejected(token) {
    return sourceAnswer(() => this.#rejected.call(this.#object, token));
  }
}

/** What a source's method returned (a promise or a value), checked like a token from the service. */
async function sourceAnswer(call) {
  let settled;
  try {
    settled = await call();
  } catch (error) {
    throw sourceFailure(error);
  }
  const value = read(settled, 'value');
  const expireIn = read(settled, 'expire_in');
  const expiresAt = read(settled, 'expires_at');
  if (typeof value === 'string' && CREDENTIAL.test(value) && typeof expireIn === 'number' && expireIn % 1 === 0
    && expireIn >= 1 && expireIn <= 0xffffffff && Number.isFinite(expiresAt)) {
    return { value, expire_in: expireIn, expires_at: expiresAt };
  }
  throw badResponse('the token source did not answer { value: 1-128 visible ASCII characters, expire_in, expires_at }');
}

/** A source's rejection: one of this package's errors (say, passed on by the owner) keeps its
 * kind, details and `retry_after_ms`; anything else is a `network` failure to reach the owner. */
function sourceFailure(error) {
  const text = (key) => string(read(error, key));
  const amount = (key) => {
    const value = read(error, key);
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const message = text('message') ?? '';
  let failure;
  switch (text('kind')) {
    case 'api':
      failure = apiError(text('code') ?? '', text('msg') ?? '', text('transaction_time'));
      break;
    case 'http': {
      const status = amount('status');
      if (status !== undefined && status <= 999) failure = httpError(Math.trunc(status));
      break;
    }
    case 'network':
      failure = networkError(text('detail') ?? message);
      break;
    case 'timeout':
      failure = timedOut(Math.trunc(Math.min(amount('timeoutMs') ?? 0, 0xffffffff)));
      break;
    case 'aborted':
      failure = aborted();
      break;
    case 'bad_response':
      failure = badResponse(text('reason') ?? message);
      break;
    default:
  }
  failure ??= hostError(`the token source failed: ${message}`);
  const wait = amount('retry_after_ms');
  return wait === undefined ? failure : backingOff(failure, wait);
}

// ---- FaceIdClient

const credentialView = ({ value, expire_in, expires_at }) => ({ value, expire_in, expires_at });

function userIdOf(value) {
  if (typeof value !== 'string') throw invalid('userId', 'must be a string');
  return checked('userId', value);
}

/** The token as a request parameter. Tokens are checked when they arrive, so this only fails
 * for one that broke the rule on its way through a token source. */
function tokenParameter(grant) {
  if (!CREDENTIAL.test(grant.value)) throw badResponse('the access token is not 1-128 visible ASCII characters');
  return grant.value;
}

function clientConfig(options) {
  const o = new Options(options);
  const appId = o.validated('appId');
  const secret = o.string('secret', false);
  const source = o.get('tokenSource');
  if (secret !== undefined && source !== undefined) throw invalid('tokenSource', 'cannot be given together with secret');
  if (secret === undefined && source === undefined) throw invalid('secret', 'is required, unless a tokenSource is given');
  const config = {
    appId,
    secret: secret === undefined ? undefined : checked('secret', secret),
    source: source === undefined ? undefined : new TokenSource(source),
    endpoint: o.endpoint(),
    version: o.version(),
    timeoutMs: o.timeout(),
    retries: o.retries(),
  };
  const refreshAfter = o.number('refreshAfterSeconds') ?? DEFAULT_REFRESH_AFTER_S;
  if (!(refreshAfter > 0 && refreshAfter <= 86_400)) {
    throw invalid('refreshAfterSeconds', 'must be a number of seconds greater than 0 and at most 86400');
  }
  // A source's token is asked for again after a short reuse; an owner refreshes after its age.
  config.reuseMs = config.source ? SOURCE_TOKEN_REUSE_MS : refreshAfter * 1000;
  return config;
}

/** A ticket request's failure, and whether the service has just refused the token with it (a
 * failure remembered from earlier is not a new refusal, and forces nothing). */
class TicketFailure {
  constructor(error, tokenRefused) {
    this.error = error;
    this.tokenRefused = tokenRefused;
  }
}

const ticketFailure = (thrown) => (thrown instanceof TicketFailure ? thrown : new TicketFailure(thrown, thrown?.kind === 'api'));

/** importState's way into the constructor: the options already read, and the state to resume. */
class Resumed {
  constructor(config, saved) {
    this.config = config;
    this.saved = saved;
  }
}

/** The credential chain of one WBappid, with the package's caching, refresh and failure rules. */
export class FaceIdClient {
  #config;
  #cache;
  /** The one token request in flight (token owners only: a source's callers share nothing). */
  #tokenFlight = null;
  /** { token, promise }: the SIGN request in flight and the token it was made with. */
  #signFlight = null;

  constructor(options) {
    const resumed = options instanceof Resumed ? options : null;
    this.#config = resumed ? resumed.config : clientConfig(options);
    this.#cache = new CredentialCache(this.#config.reuseMs, resumed?.saved);
  }

  static importState(options, state) {
    const config = clientConfig(options);
    if (typeof state !== 'string') throw invalid('state', 'must be a string');
    let saved;
    try {
      saved = readState(JSON.parse(state));
    } catch {
      saved = null;
    }
    if (!saved) throw invalid('state', 'is not a state exported by exportState()');
    if (saved.v !== STATE_VERSION) throw invalid('state', 'was exported by an incompatible version');
    if (saved.app_id !== config.appId) throw invalid('state', 'belongs to another appId');
    const rule = implausibility(saved, Date.now());
    if (rule) throw invalid('state', rule);
    return new FaceIdClient(new Resumed(config, saved));
  }

  exportState() {
    return JSON.stringify(this.#cache.export(this.#config.appId));
  }

  nextRefreshAt() {
    return this.#cache.nextRefreshAt(Date.now());
  }

  free() {}

  [Symbol.dispose]() {}

  async accessToken() {
    return credentialView(await this.#accessToken());
  }

  async tokenRejected(token) {
    if (typeof token !== 'string') throw invalid('token', 'must be a string');
    return credentialView(await this.#tokenRejected(token));
  }

  async signTicket() {
    return credentialView(await this.#withToken(undefined, (token) => this.#signTicketFor(token)));
  }

  async nonceTicket(userId, options) {
    const user = userIdOf(userId);
    const signal = options === undefined ? undefined : new Options(options).signal();
    return this.#nonceTicket(user, signal);
  }

  async sdkSignature(userId) {
    const user = userIdOf(userId);
    const ticket = await this.#nonceTicket(user, undefined);
    const { appId, version } = this.#config;
    const nonce = nonceString();
    return { appId, userId: user, version, nonce, sign: sign([appId, user, nonce, version, ticket.value]), expires_at: ticket.expires_at };
  }

  #nonceTicket(user, signal) {
    const { appId, version, endpoint, timeoutMs, retries } = this.#config;
    return this.#withToken(signal, async (token) => {
      const accessToken = tokenParameter(token);
      const url = requestUrl(endpoint, TICKET_PATH, [
        ['app_id', appId], ['access_token', accessToken], ['type', 'NONCE'], ['version', version], ['user_id', user],
      ]);
      return withinToken(await request(url, { timeoutMs, signal, retries }, accessToken, parseTicket), token);
    });
  }

  /** The first caller of a due token refreshes and waits; if that fails, the current token is
   * used until it expires. Without a usable token during a backoff: the remembered failure. */
  async #accessToken() {
    const plan = this.#cache.planToken(Date.now(), this.#tokenFlight !== null);
    if (plan.use) return plan.use;
    if (plan.fail) throw plan.fail;
    try {
      return await this.#refreshToken();
    } catch (error) {
      if (plan.fallback && Date.now() < plan.fallback.expires_at) return plan.fallback;
      throw error;
    }
  }

  /** The token to use after the service refused `token`: the source's answer, or a forced
   * refresh where the rule allows one, else the current token. */
  async #tokenRejected(token) {
    const { source } = this.#config;
    if (source) return this.#stored(Date.now(), await source.rejected(token));
    if (this.#cache.onRejectedToken(token, Date.now()) === RETRY_AFTER_REFRESH) {
      try {
        return await this.#refreshToken();
      } catch {
        // No replacement: the current token, as for any caller.
      }
    }
    return this.#accessToken();
  }

  /** A ticket request with the current token. If the service refuses the token, it may have
   * been rotated elsewhere: under the forced-refresh rule (or the source's say), retry once with
   * a different token. If none can be had, the refusal is the answer. */
  async #withToken(signal, attempt) {
    const token = await abortable(signal, () => this.#accessToken());
    let refusal;
    try {
      return await attempt(token);
    } catch (thrown) {
      const failure = ticketFailure(thrown);
      if (!failure.tokenRefused) throw failure.error;
      refusal = failure.error;
    }
    const decision = this.#config.source ? null : this.#cache.onRejectedToken(token.value, Date.now());
    if (decision === GIVE_UP) throw refusal;
    let next;
    try {
      next = await abortable(signal, () => this.#replacement(token, decision));
    } catch (error) {
      if (error.kind === 'aborted' && error.retry_after_ms === undefined) throw error;
      throw refusal;
    }
    if (next.value === token.value) throw refusal;
    try {
      return await attempt(next);
    } catch (thrown) {
      throw ticketFailure(thrown).error;
    }
  }

  /** The token to retry with after the service refused `token`, as `decision` says. */
  #replacement(token, decision) {
    if (decision === null) return this.#tokenRejected(token.value);
    return decision === RETRY_AFTER_REFRESH ? this.#refreshToken() : this.#accessToken();
  }

  /** A new token: the one token request (started if none is in flight), or the source's. */
  async #refreshToken() {
    const { source } = this.#config;
    if (source) return this.#stored(Date.now(), await source.token());
    this.#tokenFlight ??= this.#mint();
    return this.#tokenFlight;
  }

  #stored(requestedAt, grant) {
    this.#cache.storeToken(grant, requestedAt);
    return grant;
  }

  /** Never retried: every token request that reaches the service mints a token and retires the
   * previous one. A failure is remembered. */
  async #mint() {
    const { appId, secret, version, endpoint, timeoutMs } = this.#config;
    const url = requestUrl(endpoint, TOKEN_PATH, [
      ['app_id', appId], ['secret', secret], ['grant_type', 'client_credential'], ['version', version],
    ]);
    let grant;
    try {
      grant = await request(url, { timeoutMs, retries: 0 }, secret, parseAccessToken);
    } catch (error) {
      this.#tokenFlight = null;
      throw this.#cache.tokenFailed(error, Date.now());
    }
    this.#tokenFlight = null;
    return this.#stored(grant.expires_at - grant.expire_in * 1000, grant);
  }

  async #signTicketFor(token) {
    const plan = this.#cache.planSignTicket(token.value, Date.now());
    if (plan.use) return plan.use;
    if (plan.fail) throw new TicketFailure(plan.fail, false);
    if (this.#config.source) return this.#fetchSignTicket(token);
    if (this.#signFlight?.token !== token.value) {
      const flight = {
        token: token.value,
        promise: this.#fetchSignTicket(token).finally(() => {
          if (this.#signFlight === flight) this.#signFlight = null;
        }),
      };
      this.#signFlight = flight;
    }
    return this.#signFlight.promise;
  }

  /** Requests the SIGN ticket of `token` and caches it, or remembers the failure (per token). */
  async #fetchSignTicket(token) {
    const { appId, version, endpoint, timeoutMs, retries } = this.#config;
    const accessToken = tokenParameter(token);
    const url = requestUrl(endpoint, TICKET_PATH, [
      ['app_id', appId], ['access_token', accessToken], ['type', 'SIGN'], ['version', version],
    ]);
    let ticket;
    try {
      ticket = withinToken(await request(url, { timeoutMs, retries }, accessToken, parseTicket), token);
    } catch (error) {
      throw new TicketFailure(this.#cache.signTicketFailed(token.value, error, Date.now()), error.kind === 'api');
    }
    this.#cache.storeSignTicket(token.value, ticket);
    return ticket;
  }
}
