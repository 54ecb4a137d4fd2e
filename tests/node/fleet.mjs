// The deployable worker (www/) as a fleet in workerd: three worker instances (separate isolates
// with separate memory) sharing one Durable Object namespace, bundled exactly as
// `wrangler deploy` bundles it. Shared by the worker, demo and hardening tests.

import assert from 'node:assert/strict';

import { Miniflare } from 'miniflare';

import { DEFAULT_APP_ID, DEFAULT_SECRET, bundledWorker, control, tempDir } from './support.mjs';

const INSTANCES = ['faceid', 'faceid-2', 'faceid-3'];

/**
 * Starts the fleet. `persist` keeps the object's storage on disk so a new fleet can restore it,
 * like an evicted object. `output`, when given, receives every line workerd prints (the
 * worker's and the object's console included).
 */
export async function startFleet({ bundleDir, bindings, persist = tempDir('faceid-edge-do-'), output }) {
  const base = bundledWorker(bundleDir);
  const mf = new Miniflare({
    durableObjectsPersist: persist,
    ...(output && { handleRuntimeStdio: (stdout, stderr) => collectLines([stdout, stderr], output) }),
    workers: INSTANCES.map((name, i) => ({
      ...base,
      name,
      routes: [`${name}.test/*`],
      bindings,
      durableObjects: {
        FACEID_CREDENTIALS: i === 0 ? 'FaceIdCredentials' : { className: 'FaceIdCredentials', scriptName: INSTANCES[0] },
      },
    })),
  });
  await mf.ready;
  // Each instance is reached through its route (dispatchFetch carries any Origin header as sent).
  const workers = INSTANCES.map((name) => ({ fetch: (path, init) => mf.dispatchFetch(`http://${name}.test${path}`, init) }));
  return { mf, persist, workers };
}

/** The bindings of a fleet that serves the emulator's default app at `endpoint`; `more` adds or
 * overrides. */
export function emulatorBindings(endpoint, apiKey, more = {}) {
  return {
    FACEID_APP_ID: DEFAULT_APP_ID,
    FACEID_SECRET: DEFAULT_SECRET,
    FACEID_API_KEY: apiKey,
    FACEID_ENDPOINT: endpoint,
    ...more,
  };
}

function collectLines(streams, output) {
  for (const stream of streams) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => output.push(...chunk.split('\n').filter(Boolean)));
  }
}

/**
 * A caller that presents `apiKey` and records every response body and header value in `seen`,
 * so a test can check afterwards that none carries a credential.
 */
export function recordingCaller(seen, apiKey) {
  return async (worker, path, { method = 'GET', headers = {}, body, auth = true } = {}) => {
    const response = await worker.fetch(path, {
      method,
      body,
      headers: { ...(auth ? { authorization: `Bearer ${apiKey}` } : {}), ...headers },
    });
    const text = await response.text();
    seen.push(text, ...[...response.headers].map(([name, value]) => `${name}: ${value}`));
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, headers: response.headers, text, json: type.includes('json') ? JSON.parse(text) : undefined };
  };
}

/** Asserts a worker error answer: status, `{ error: { kind, message, field? } }`, no stack. */
export function assertError(reply, status, kind, field) {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json.error.kind, kind, reply.text);
  assert.equal(typeof reply.json.error.message, 'string');
  if (field) assert.equal(reply.json.error.field, field);
  assert.doesNotMatch(reply.text, /\bat .*\.js:\d+/, 'no stack trace');
}

/**
 * Every credential the emulator `emu` issued or was sent (the access tokens in its request log,
 * and `secrets`), gathered across resets, so a test can check at the end that no text carries one.
 */
export function credentialWatch(emu, secrets) {
  const credentials = new Set(secrets);
  const gather = async () => {
    for (const { query } of (await control(emu, 'GET', '/log')).requests) {
      if (query.access_token) credentials.add(query.access_token);
    }
  };
  return {
    /** Resets the emulator with `config`, after gathering what its log holds. */
    async reset(config = {}) {
      await gather();
      await control(emu, 'POST', '/reset', config);
    },
    /** Asserts that no text in `texts` carries a credential; resolves to how many were checked. */
    async assertNoneIn(texts) {
      await gather();
      for (const value of credentials) {
        for (const text of texts) assert.ok(!text.includes(value), `a credential leaked: ${text.slice(0, 200)}`);
      }
      return credentials.size;
    },
  };
}
