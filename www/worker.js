// The FaceID credential worker: NONCE tickets and SDK signatures for front ends, with one
// Durable Object per WBappid as the single owner of the access token.
//
// Routes (all but `/` need `Authorization: Bearer <FACEID_API_KEY>`):
//   GET  /                          the demo page
//   GET  /faceid/nonce?user_id=…    → { value, expire_in, expires_at }
//   POST /faceid/sdk-signature      { "userId": … } → { appId, userId, version, nonce, sign, expires_at }
// Errors: { "error": { kind, message, field? } } with 400/401/403/404/405/413/414/415, 500 (bad
// bindings), 502, 503 or 504.
// Bindings: FACEID_APP_ID, FACEID_SECRET, FACEID_API_KEY (secrets); FACEID_ENDPOINT,
// FACEID_TIMEOUT_MS, FACEID_REFRESH_AFTER_SECONDS (optional); ALLOWED_ORIGINS (comma-separated);
// FACEID_CREDENTIALS (the Durable Object namespace).
import { FaceIdClient, fetchNonceTicket, nonceString, sign } from 'faceid-edge';
import demoPage from './index.html';

const VERSION = '1.0.0';
/** A worker trusts a token from the object this long: well inside the service's one-minute
 * overlap after a rotation. */
const TOKEN_CACHE_MS = 30_000;
const MAX_BODY_BYTES = 1024;
const MAX_URL_LENGTH = 2048;
const STATUS_BY_KIND = {
  invalid_argument: 400,
  api: 502,
  http: 502,
  bad_response: 502,
  network: 503,
  timeout: 504,
  aborted: 504,
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
  const handler = ROUTES[url.pathname];
  if (!handler) throw new RequestError(404, 'not_found', `no route ${url.pathname}`);
  if (request.method === 'OPTIONS') return preflight(cors, handler.method);
  requireMethod(request, handler.method);
  authorize(request, env);
  return json(200, await handler.run(request, url, env));
}

const ROUTES = {
  '/faceid/nonce': {
    method: 'GET',
    async run(request, url, env) {
      const [userId, ...more] = url.searchParams.getAll('user_id');
      if (userId === undefined) throw new RequestError(400, 'invalid_argument', 'user_id is required', 'userId');
      if (more.length > 0) throw new RequestError(400, 'invalid_argument', 'user_id must be given once', 'userId');
      const ticket = await nonceTicket(env, userId);
      return { value: ticket.value, expire_in: ticket.expire_in, expires_at: ticket.expires_at };
    },
  },
  '/faceid/sdk-signature': {
    method: 'POST',
    async run(request, url, env) {
      const { userId } = await readJsonBody(request);
      if (typeof userId !== 'string') {
        throw new RequestError(400, 'invalid_argument', 'userId must be a string', 'userId');
      }
      const ticket = await nonceTicket(env, userId);
      const appId = env.FACEID_APP_ID;
      const nonce = nonceString();
      return {
        appId,
        userId,
        version: VERSION,
        nonce,
        sign: sign([appId, userId, nonce, VERSION, ticket.value]),
        expires_at: ticket.expires_at,
      };
    },
  },
};

/** A fresh NONCE ticket, fetched by this worker with the object's token. If the service refuses
 * the token, the object is told and asked once more: it decides whether to replace the token. */
async function nonceTicket(env, userId) {
  const fetchWith = (accessToken) => fetchNonceTicket({
    appId: env.FACEID_APP_ID,
    accessToken,
    userId,
    version: VERSION,
    endpoint: endpointOf(env),
    timeoutMs: timeoutOf(env),
  });
  const token = await currentToken(env);
  try {
    return await fetchWith(token);
  } catch (error) {
    if (error?.kind !== 'api') throw error;
    tokenCache.delete(env.FACEID_APP_ID);
    const replacement = await credentials(env).rejected(token);
    if (replacement === token) throw error;
    return fetchWith(replacement);
  }
}

/** Settled tokens only, per isolate: promises are never shared between requests, which the
 * Workers runtime does not allow for I/O. */
const tokenCache = new Map();

async function currentToken(env) {
  const cached = tokenCache.get(env.FACEID_APP_ID);
  if (cached && Date.now() - cached.at < TOKEN_CACHE_MS && Date.now() < cached.expires_at) {
    return cached.value;
  }
  const token = await credentials(env).token();
  tokenCache.set(env.FACEID_APP_ID, { value: token.value, expires_at: token.expires_at, at: Date.now() });
  return token.value;
}

/** The Durable Object of this WBappid, with its two calls. */
function credentials(env) {
  const stub = env.FACEID_CREDENTIALS.get(env.FACEID_CREDENTIALS.idFromName(env.FACEID_APP_ID));
  const call = async (path, init) => {
    const response = await stub.fetch(`https://faceid-credentials${path}`, init);
    const body = await response.json();
    if (response.ok) return body;
    const { kind, message } = body.error;
    // FaceID failures keep their kind (and so their status); the object's own, as answered.
    throw kind in STATUS_BY_KIND ? Object.assign(new Error(message), body.error) : new RequestError(response.status, kind, message);
  };
  return {
    token: () => call('/token'),
    rejected: async (token) => (await call('/token/rejected', { method: 'POST', body: JSON.stringify({ token }) })).value,
  };
}

/**
 * The single owner of a WBappid's access token for the whole fleet. It keeps the FaceIdClient,
 * persists its state (so an evicted object resumes without minting a token, which would retire
 * the one every worker holds), and refreshes ahead of time on an alarm.
 */
export class FaceIdCredentials {
  constructor(state, env) {
    this.storage = state.storage;
    this.env = env;
    this.client = null;
    this.saved = null;
    // Load before any request is delivered, so requests never see a half-built client.
    state.blockConcurrencyWhile(() => this.load());
  }

  async load() {
    const options = clientOptions(this.env);
    this.saved = (await this.storage.get('state')) ?? null;
    let fresh;
    try {
      fresh = new FaceIdClient(options);
    } catch (error) {
      // Bad bindings: every call says which one (the message names it, never its value).
      this.configError = new RequestError(500, 'configuration', `the FaceID bindings are invalid: ${error.message}`);
      return;
    }
    try {
      this.client = this.saved ? FaceIdClient.importState(options, this.saved) : fresh;
    } catch {
      // A state from another app or version: start afresh.
      this.client = fresh;
    }
  }

  async fetch(request) {
    if (this.configError) return errorResponse(this.configError);
    try {
      const { pathname } = new URL(request.url);
      let token;
      if (pathname === '/token') {
        token = await this.client.accessToken();
      } else if (pathname === '/token/rejected') {
        token = await this.client.tokenRejected((await request.json()).token);
      } else {
        throw new RequestError(404, 'not_found', 'no such call');
      }
      await this.save(token);
      return json(200, token);
    } catch (error) {
      return errorResponse(error);
    }
  }

  /** Refreshes ahead of time, so requests rarely wait for a token. A failure throws, and the
   * runtime retries the alarm with backoff. */
  async alarm() {
    if (this.configError) return;
    const token = await this.client.accessToken();
    await this.save(token);
    await this.scheduleRefresh(token);
  }

  /** Saves the client's state when it changed; a new token also moves the refresh alarm. */
  async save(token) {
    const state = this.client.exportState();
    if (state === this.saved) return;
    // Marked saved before the write: concurrent requests that saw the same change skip it.
    this.saved = state;
    console.log(`faceid credentials: access token in use until ${new Date(token.expires_at).toISOString()}`);
    await this.storage.put('state', state);
    await this.scheduleRefresh(token);
  }

  async scheduleRefresh(token) {
    const refreshAfterMs = clientOptions(this.env).refreshAfterSeconds * 1000;
    const obtainedAt = token.expires_at - token.expire_in * 1000;
    // A second late, so the token is due when the alarm runs.
    await this.storage.setAlarm(Math.max(obtainedAt + refreshAfterMs + 1000, Date.now() + 1000));
  }
}

function clientOptions(env) {
  return {
    appId: env.FACEID_APP_ID,
    secret: env.FACEID_SECRET,
    endpoint: endpointOf(env),
    timeoutMs: timeoutOf(env),
    refreshAfterSeconds: Number(env.FACEID_REFRESH_AFTER_SECONDS ?? 1200),
  };
}

// Optional bindings; unset means the package's defaults.
function endpointOf(env) {
  return env.FACEID_ENDPOINT || undefined;
}

function timeoutOf(env) {
  return env.FACEID_TIMEOUT_MS ? Number(env.FACEID_TIMEOUT_MS) : undefined;
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
  const allowed = (env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  if (!origin || !allowed.includes(origin)) return { vary: 'Origin' };
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
    return json(error.status, { error: describe(error) });
  }
  if (error?.name === 'FaceIdError' || (error?.kind && error.kind in STATUS_BY_KIND)) {
    const status = STATUS_BY_KIND[error.kind] ?? 502;
    // Operators need to see upstream failures; FaceIdError messages never hold a credential.
    if (status >= 500) console.warn(`faceid: ${status} ${error.kind}: ${error.message}`);
    return json(status, { error: describe(error) });
  }
  console.error('unexpected failure:', error?.name);
  return json(500, { error: { kind: 'internal', message: 'internal error' } });
}

function describe({ kind, message, field }) {
  return field ? { kind, message, field } : { kind, message };
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
