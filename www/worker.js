// The FaceID worker: NONCE tickets and SDK signatures for front ends, and one H5 verification
// end to end. One Durable Object per WBappid owns the access token and judges callbacks (it
// holds the current and the previous SIGN ticket); each isolate fetches tickets, registers
// orders and queries results itself with the package's FaceIdClient, which takes its token from
// that object. The client holds the token policy (refresh, backoff after failures, forced
// refresh); this file keeps only HTTP and wiring. Personal data (name, idNo) is passed through:
// never logged, kept or answered.
//
// Routes (all but `/` need `Authorization: Bearer <FACEID_API_KEY>`):
//   GET  /                          the demo page
//   GET  /faceid/nonce?user_id=…    → { value, expire_in, expires_at }
//   POST /faceid/sdk-signature      { "userId": … } → { appId, userId, version, nonce, sign, expires_at }
//   POST /faceid/orders             { userId, name, idNo, orderNo?, callbackUrl, from? }
//                                   → { orderNo, faceId, url, expires_at }
//   POST /faceid/callbacks/verify   { code, orderNo, newSign } → { verified, passed, orderNo, code }
//   GET  /faceid/orders/{orderNo}   → { orderNo, passed, code, msg, liveRate, similarity, occurredTime, sdkVersion? }
// Errors: { "error": { kind, message, field?, retry_after_ms? } } with 400/401/403/404/405/413/414/415,
// 500 (bad bindings, server faults), 502, 503 or 504; `Retry-After` when the token owner is
// waiting out a failure.
// Bindings: FACEID_APP_ID, FACEID_SECRET, FACEID_API_KEY (secrets); FACEID_ENDPOINT,
// FACEID_TIMEOUT_MS, FACEID_REFRESH_AFTER_SECONDS (optional); ALLOWED_ORIGINS (comma-separated);
// ALLOWED_CALLBACKS (comma-separated origins the H5 page may send users back to; unset: none);
// FACEID_CREDENTIALS (the Durable Object namespace).
import { FaceIdClient, nonceString } from 'faceid-edge';
import demoPage from './index.html';

const MAX_BODY_BYTES = 1024;
const MAX_URL_LENGTH = 2048;
/** FaceID failures by kind; `invalid_argument` is the caller's only for CALLER_FIELDS. */
const STATUS_BY_KIND = {
  invalid_argument: 400,
  api: 502,
  http: 502,
  bad_response: 502,
  network: 503,
  timeout: 504,
  aborted: 504,
};
/** What callers send. An invalid_argument about one of these is the caller's (400); about
 * anything else, say a binding or a token from upstream, it is the server's (500). */
const CALLER_FIELDS = new Set(['userId', 'body', 'url', 'name', 'idNo', 'orderNo', 'callbackUrl', 'from']);
/** What a caller learns of a failure. */
const CALLER_ERROR_FIELDS = ['kind', 'message', 'field', 'retry_after_ms'];
/** Every property a FaceIdError may carry: the object answers them all, so that the isolate's
 * client passes the failure on with its kind, details and `retry_after_ms`. */
const FACEID_ERROR_FIELDS = ['name', 'kind', 'message', 'code', 'msg', 'transaction_time', 'status', 'timeoutMs',
  'retry_after_ms', 'detail', 'reason', 'field'];
/** The binding behind each client option, so that a configuration error names the binding. */
const BINDING_OF_OPTION = {
  appId: 'FACEID_APP_ID',
  secret: 'FACEID_SECRET',
  endpoint: 'FACEID_ENDPOINT',
  timeoutMs: 'FACEID_TIMEOUT_MS',
  refreshAfterSeconds: 'FACEID_REFRESH_AFTER_SECONDS',
};

/** A refusal of the caller's request, answered as `{ error: { kind, message, field? } }`. */
class RequestError extends Error {
  constructor(status, kind, message, field) {
    super(message);
    this.status = status;
    this.kind = kind;
    this.field = field;
  }
}

export default {
  async fetch(request, env) {
    const cors = corsHeaders(request, env);
    try {
      const response = await route(request, env, cors);
      return withHeaders(response, cors);
    } catch (error) {
      return withHeaders(errorResponse(error), cors);
    }
  },
};

async function route(request, env, cors) {
  if (request.url.length > MAX_URL_LENGTH) {
    throw new RequestError(414, 'invalid_argument', `the URL is longer than ${MAX_URL_LENGTH} characters`, 'url');
  }
  const url = new URL(request.url);
  if (url.pathname === '/' || url.pathname === '/index.html') {
    requireMethod(request, 'GET');
    return new Response(demoPage, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  }
  const [handler, match] = findRoute(url.pathname);
  if (!handler) throw new RequestError(404, 'not_found', `no route ${url.pathname}`);
  if (request.method === 'OPTIONS') return preflight(cors, handler.method);
  requireMethod(request, handler.method);
  authorize(request, env);
  return json(200, await handler.run(request, url, env, match));
}

/** The route whose `path` matches the whole of `pathname`, and the match (its groups are the
 * route's parameters); none when no route matches. */
function findRoute(pathname) {
  for (const handler of ROUTES) {
    const match = handler.path.exec(pathname);
    if (match) return [handler, match];
  }
  return [];
}

// The client checks what it is given (userId, orderNo, name, idNo, ...) before sending anything.
const ROUTES = [
  {
    path: /^\/faceid\/nonce$/,
    method: 'GET',
    async run(request, url, env) {
      const [userId, ...more] = url.searchParams.getAll('user_id');
      if (userId === undefined) throw new RequestError(400, 'invalid_argument', 'user_id is required', 'userId');
      if (more.length > 0) throw new RequestError(400, 'invalid_argument', 'user_id must be given once', 'userId');
      const ticket = await ticketClient(env).nonceTicket(userId);
      return { value: ticket.value, expire_in: ticket.expire_in, expires_at: ticket.expires_at };
    },
  },
  {
    path: /^\/faceid\/sdk-signature$/,
    method: 'POST',
    async run(request, url, env) {
      const { userId } = await readJsonBody(request);
      return ticketClient(env).sdkSignature(userId);
    },
  },
  {
    path: /^\/faceid\/orders$/,
    method: 'POST',
    async run(request, url, env) {
      const { userId, name, idNo, orderNo = nonceString(), callbackUrl, from } = await readJsonBody(request);
      // Checked before the order is registered, so that a request refused here registers nothing.
      requireAllowedCallback(callbackUrl, env);
      if (from !== undefined && !H5_FROM.includes(from)) {
        throw new RequestError(400, 'invalid_argument', `from must be one of ${H5_FROM.join(', ')}`, 'from');
      }
      const client = ticketClient(env);
      const order = await client.registerOrder({ orderNo, userId, name, idNo });
      const login = await client.h5LoginUrl({
        orderNo: order.orderNo, faceId: order.faceId, userId, callbackUrl, from, optimalDomain: order.optimalDomain,
      });
      return { orderNo: order.orderNo, faceId: order.faceId, url: login.url, expires_at: login.expires_at };
    },
  },
  {
    path: /^\/faceid\/callbacks\/verify$/,
    method: 'POST',
    async run(request, url, env) {
      const { code, orderNo, newSign } = await readJsonBody(request);
      // Only the object holds the SIGN ticket before the current one, which a callback may be
      // signed with if the token was replaced while the user was away. Whatever it cannot use
      // (missing, not a string, a wrong sign) is `verified: false`.
      return callCredentials(env, '/callback', { method: 'POST', body: JSON.stringify({ code, orderNo, newSign }) });
    },
  },
  {
    // orderNo is letters and digits: the segment is passed on as sent, and the client refuses
    // anything else (a percent-encoded one included) with field `orderNo`.
    path: /^\/faceid\/orders\/([^/]+)$/,
    method: 'GET',
    async run(request, url, env, [, orderNo]) {
      return ticketClient(env).queryFaceRecord({ orderNo, files: 'none' });
    },
  },
];

/** Where the H5 page may be opened (the service's `from`). */
const H5_FROM = ['browser', 'App'];

/** The worker sends users to the H5 page, which sends them on to `callbackUrl`: only to an origin
 * listed in ALLOWED_CALLBACKS, compared exactly after parsing (so `https://partner.example.evil`,
 * `https://partner.example@evil` or another port are not it), and without credentials. */
function requireAllowedCallback(callbackUrl, env) {
  const refuse = (problem) => new RequestError(400, 'invalid_argument', `callbackUrl ${problem}`, 'callbackUrl');
  if (typeof callbackUrl !== 'string') throw refuse('is required, as a string');
  let url;
  try {
    url = new URL(callbackUrl);
  } catch {
    throw refuse('is not an absolute URL');
  }
  if (!listed(env.ALLOWED_CALLBACKS).includes(url.origin)) throw refuse('is not at an origin in ALLOWED_CALLBACKS');
  if (url.username || url.password) throw refuse('may not carry credentials');
}

/** The entries of a comma-separated binding; none when it is unset. */
function listed(binding) {
  return (binding ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
}

/** Per isolate, one client per WBappid. It keeps only settled values between requests, and asks
 * the object for each token it needs: workerd does not let one request await another's I/O. */
const ticketClients = new Map();

function ticketClient(env) {
  let client = ticketClients.get(env.FACEID_APP_ID);
  if (!client) {
    // The object's options, checked here (constructing does no I/O): a bad binding is then this
    // isolate's 500 `configuration`, rather than the object's failure arriving as `network`.
    configured(() => new FaceIdClient(ownerOptions(env))).free();
    credentialsNamespace(env);
    client = configured(() => new FaceIdClient({ ...settings(env), tokenSource: tokenOwner(env) }));
    ticketClients.set(env.FACEID_APP_ID, client);
  }
  return client;
}

/** The WBappid's object as a token source. */
function tokenOwner(env) {
  return {
    token: () => callCredentials(env, '/token'),
    rejected: (token) => callCredentials(env, '/token/rejected', { method: 'POST', body: JSON.stringify({ token }) }),
  };
}

function credentialsNamespace(env) {
  if (typeof env.FACEID_CREDENTIALS?.idFromName !== 'function') {
    throw configurationError('FACEID_CREDENTIALS', 'is not a Durable Object namespace');
  }
  return env.FACEID_CREDENTIALS;
}

/** Calls the WBappid's object; its failure is thrown as it answered it: a FaceIdError with every
 * field (so that its kind keeps its status and `retry_after_ms`), anything else as a refusal.
 * A stub is made for each call: a stub belongs to the request that made it. */
async function callCredentials(env, path, init) {
  const namespace = credentialsNamespace(env);
  const stub = namespace.get(namespace.idFromName(env.FACEID_APP_ID));
  const response = await stub.fetch(`https://faceid-credentials${path}`, init);
  const body = await response.json();
  if (response.ok) return body;
  const { error } = body;
  if (error.name === 'FaceIdError') throw Object.assign(new Error(error.message), error);
  throw new RequestError(response.status, error.kind, error.message, error.field);
}

/**
 * The single owner of a WBappid's access token for the whole fleet, and its single flight. It
 * keeps the FaceIdClient that mints the token, persists its state (so an evicted object resumes
 * without minting a token, which would retire the one every isolate holds), and refreshes ahead
 * of time on an alarm set for the client's next token request. It also judges callbacks: its
 * client holds the SIGN ticket of each token it had, the current one and the one before.
 */
export class FaceIdCredentials {
  constructor(state, env) {
    this.storage = state.storage;
    this.env = env;
    this.client = null;
    this.saved = null;
    this.alarmAt = null;
    // Load before any request is delivered, so requests never see a half-built client.
    state.blockConcurrencyWhile(() => this.load());
  }

  async load() {
    const options = ownerOptions(this.env);
    try {
      this.client = configured(() => new FaceIdClient(options));
    } catch (error) {
      // Every call answers it (the message names the binding, never its value).
      this.configError = error;
      return;
    }
    this.saved = (await this.storage.get('state')) ?? null;
    this.alarmAt = await this.storage.getAlarm();
    if (!this.saved) return;
    try {
      const resumed = FaceIdClient.importState(options, this.saved);
      this.client.free();
      this.client = resumed;
    } catch {
      // A state from another app or version, or one that cannot be right: start afresh.
    }
  }

  async fetch(request) {
    if (this.configError) return errorResponse(this.configError);
    try {
      return json(200, await this.answer(request));
    } catch (error) {
      return error?.name === 'FaceIdError'
        ? json(statusOf(error), { error: pick(error, FACEID_ERROR_FIELDS) })
        : errorResponse(error);
    } finally {
      await this.settle();
    }
  }

  async answer(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/token') return this.client.accessToken();
    if (pathname === '/token/rejected') return this.client.tokenRejected((await request.json()).token);
    if (pathname === '/callback') return this.client.verifyCallback(await request.json());
    throw new RequestError(404, 'not_found', 'no such call');
  }

  /** Refreshes ahead of time, so requests rarely wait for a token. A failure never throws: the
   * runtime would retry the alarm on a schedule of its own; the client remembers the failure and
   * says when to try again. */
  async alarm() {
    // The alarm that fired is no longer armed.
    this.alarmAt = null;
    if (this.configError) return;
    // A failed refresh resolves with the current token while that is usable.
    const failure = await this.client.accessToken().then(() => null, (error) => error);
    const refreshed = this.client.exportState() !== this.saved;
    await this.settle();
    if (!refreshed) {
      const why = failure ? `: ${failure.kind}: ${failure.message}` : '';
      console.warn(`faceid credentials: no new token${why}; next attempt at ${new Date(this.alarmAt).toISOString()}`);
    }
  }

  /** Saves the client's state when it changed, and arms the alarm for the client's next token
   * request: never sooner (a failing refresh must not loop), and at least a second ahead. */
  async settle() {
    if (this.client.exportState() !== this.saved) await this.holdSignTicket();
    const nextRefreshAt = Math.max(this.client.nextRefreshAt(), Date.now() + 1000);
    const state = this.client.exportState();
    if (state !== this.saved) {
      // Marked saved before the write: concurrent calls that saw the same change skip it.
      this.saved = state;
      console.log(`faceid credentials: token state saved; next refresh at ${new Date(nextRefreshAt).toISOString()}`);
      await this.storage.put('state', state);
    }
    if (nextRefreshAt !== this.alarmAt) {
      this.alarmAt = nextRefreshAt;
      await this.storage.setAlarm(nextRefreshAt);
    }
  }

  /**
   * Fetches the SIGN ticket of a new token at once: when the token is replaced, the client keeps
   * that ticket as the previous one, which a callback signed before the replacement needs. The
   * ticket is cached with its token, so this sends nothing when it is already held; a failure
   * is remembered by the client and only noted here.
   */
  async holdSignTicket() {
    await this.client.signTicket().catch((error) => {
      console.warn(`faceid credentials: no SIGN ticket yet: ${error.kind}: ${error.message}`);
    });
  }
}

/** The options of the token's owner, which mints it from the secret. */
function ownerOptions(env) {
  return { ...settings(env), secret: env.FACEID_SECRET };
}

// Optional bindings; unset means the package's defaults.
function settings(env) {
  return {
    appId: env.FACEID_APP_ID,
    endpoint: env.FACEID_ENDPOINT || undefined,
    timeoutMs: env.FACEID_TIMEOUT_MS ? Number(env.FACEID_TIMEOUT_MS) : undefined,
    refreshAfterSeconds: env.FACEID_REFRESH_AFTER_SECONDS ? Number(env.FACEID_REFRESH_AFTER_SECONDS) : undefined,
  };
}

/** `build()`, with a bad option reported as the bad binding behind it. */
function configured(build) {
  try {
    return build();
  } catch (error) {
    if (error?.kind !== 'invalid_argument') throw error;
    throw configurationError(BINDING_OF_OPTION[error.field] ?? error.field, error.message);
  }
}

function configurationError(binding, problem) {
  return new RequestError(500, 'configuration', `the FaceID bindings are invalid: ${binding}: ${problem}`);
}

function requireMethod(request, method) {
  if (request.method !== method) {
    throw new RequestError(405, 'method_not_allowed', `use ${method}`);
  }
}

function authorize(request, env) {
  const expected = `Bearer ${env.FACEID_API_KEY ?? ''}`;
  const given = request.headers.get('authorization') ?? '';
  if (!env.FACEID_API_KEY || !timingSafeEqual(given, expected)) {
    throw new RequestError(401, 'unauthorized', 'a valid Authorization: Bearer key is required');
  }
}

/** Compares without an early exit, so response time does not reveal how much of a key matched. */
function timingSafeEqual(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let difference = x.length ^ y.length;
  for (let i = 0; i < y.length; i++) difference |= (x[i] ?? 0) ^ y[i];
  return difference === 0;
}

async function readJsonBody(request) {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new RequestError(415, 'invalid_argument', 'the body must be application/json', 'body');
  }
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw bodyTooLarge();
  const text = await readCapped(request, MAX_BODY_BYTES);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError(400, 'invalid_argument', 'the body is not valid JSON', 'body');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(400, 'invalid_argument', 'the body must be a JSON object', 'body');
  }
  return body;
}

async function readCapped(request, limit) {
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw bodyTooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RequestError(400, 'invalid_argument', 'the body is not valid UTF-8', 'body');
  }
}

function bodyTooLarge() {
  return new RequestError(413, 'invalid_argument', `the body is larger than ${MAX_BODY_BYTES} bytes`, 'body');
}

function corsHeaders(request, env) {
  const origin = request.headers.get('origin');
  if (!origin || !listed(env.ALLOWED_ORIGINS).includes(origin)) return { vary: 'Origin' };
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

function preflight(cors, method) {
  if (!cors['access-control-allow-origin']) {
    throw new RequestError(403, 'forbidden_origin', 'this origin may not call the worker');
  }
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-methods': `${method}, OPTIONS`,
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    },
  });
}

/** Maps any failure to a JSON error. FaceIdError messages carry no secret or token by design;
 * anything unexpected is logged and answered without details. */
function errorResponse(error) {
  if (error instanceof RequestError) {
    return json(error.status, { error: pick(error, CALLER_ERROR_FIELDS) });
  }
  if (error?.name === 'FaceIdError') {
    const status = statusOf(error);
    // Operators need to see upstream failures; FaceIdError messages never hold a credential.
    if (status >= 500) console.warn(`faceid: ${status} ${error.kind}: ${error.message}`);
    const response = json(status, { error: pick(error, CALLER_ERROR_FIELDS) });
    if (typeof error.retry_after_ms === 'number') {
      response.headers.set('retry-after', String(Math.ceil(error.retry_after_ms / 1000)));
    }
    return response;
  }
  console.error('unexpected failure:', error?.name);
  return json(500, { error: { kind: 'internal', message: 'internal error' } });
}

function statusOf({ kind, field }) {
  if (kind === 'invalid_argument' && !CALLER_FIELDS.has(field)) return 500;
  return STATUS_BY_KIND[kind] ?? 502;
}

/** The `fields` that `error` has. */
function pick(error, fields) {
  return Object.fromEntries(fields.filter((name) => error[name] !== undefined).map((name) => [name, error[name]]));
}

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function withHeaders(response, headers) {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}
