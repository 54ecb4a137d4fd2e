// The package's contract in any JavaScript runtime: one suite, run unchanged in Node, Deno, Bun and
// the Vercel edge-runtime VM by tests/runtimes/run.mjs. It uses only what every one of them has
// (fetch, AbortController, timers, crypto.subtle) and reaches the FaceID emulator over real HTTP,
// its control API included, so it needs no Node module at all.

import { assert, createHarness } from './harness.mjs';

const KINDS = ['invalid_argument', 'api', 'http', 'network', 'timeout', 'aborted', 'bad_response'];
const TICKET_KEYS = ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value'];
const CREDENTIAL_KEYS = ['expire_in', 'expires_at', 'value'];
const SDK_KEYS = ['appId', 'expires_at', 'nonce', 'sign', 'userId', 'version'];
const TOKEN_PATH = '/api/oauth2/access_token';
const TICKET_PATH = '/api/oauth2/api_ticket';
const MINUTE_MS = 60_000;
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'];

/**
 * Runs the suite against `api` (the package as the runtime imported it BY NAME).
 * `emulator` is `{ url, appId, secret }` of a running FaceID emulator; `resolved` is the file the
 * runtime loaded for `faceid-edge` and `entry` the package entry it must be. Prints a line per test
 * and node:test's closing counts; resolves to `{ passed, failed, skipped }`.
 */
export async function runSuite(api, { emulator, resolved, entry }) {
  const { test, run } = createHarness();
  const { appId, secret } = emulator;
  // Every credential the suite sees: none may appear in an error or in anything printed.
  const credentials = new Set([secret]);
  const printed = [];
  const realNow = Date.now;

  const control = async (method, path, body) => {
    const init = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    const response = await fetch(`${emulator.url}/__emulator/${path}`, init);
    const answer = await response.json();
    if (!response.ok || answer.ok === false) throw new Error(`control ${method} ${path}: HTTP ${response.status} ${answer.msg ?? ''}`);
    return answer;
  };
  const fault = (body) => control('POST', 'fault', body);
  const requests = async () => (await control('GET', 'log')).requests;
  const counts = async () => ({ access_token: 0, sign: 0, nonce: 0, ...(await control('GET', 'counters')).apps[appId] });
  const expectCounts = async (access_token, sign, nonce, message) => {
    assert.deepEqual(await counts(), { access_token, sign, nonce }, message);
  };
  const issueToken = async () => {
    const query = new URLSearchParams({ app_id: appId, secret, grant_type: 'client_credential', version: '1.0.0' });
    const { access_token: token } = await (await fetch(`${emulator.url}${TOKEN_PATH}?${query}`)).json();
    credentials.add(token);
    return token;
  };
  /** Moves the clock `offsetMs` ahead for the package (the emulator keeps real time). */
  const shiftClock = (offsetMs) => { Date.now = () => realNow() + offsetMs; };
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  /** Every case starts from a fresh emulator, with no fault armed and the real clock. */
  const it = (name, fn) => test(name, async () => {
    await control('POST', 'reset', {});
    try {
      await fn();
    } finally {
      Date.now = realNow;
    }
  });

  const ticketOptions = async (overrides = {}) => ({
    appId, accessToken: await issueToken(), userId: 'user_01', endpoint: emulator.url, retries: 0, ...overrides,
  });
  const clientOptions = (overrides = {}) => ({ appId, secret, endpoint: emulator.url, timeoutMs: 5000, retries: 0, ...overrides });
  const newClient = (overrides) => new api.FaceIdClient(clientOptions(overrides));
  const keep = (credential) => {
    credentials.add(credential.value);
    return credential;
  };

  /** Checks `error` is a FaceIdError of `kind` with `props` that shows no credential anywhere. */
  const checkError = (error, kind, props = {}) => {
    assert.ok(KINDS.includes(kind));
    assert.ok(error instanceof Error, `not an Error: ${String(error)}`);
    assert.equal(error.name, 'FaceIdError');
    assert.equal(error.kind, kind, `${error.message}:`);
    for (const [key, value] of Object.entries(props)) assert.equal(error[key], value, `${key}:`);
    assert.ok(typeof error.message === 'string' && error.message.length > 0, 'empty message');
    const views = {
      message: error.message,
      stack: String(error.stack),
      string: String(error),
      json: JSON.stringify(error),
      'own properties': JSON.stringify(error, Object.getOwnPropertyNames(error)),
    };
    // A failure names where a credential leaked, never the credential.
    for (const [view, text] of Object.entries(views)) {
      assert.ok(![...credentials].some((credential) => text.includes(credential)), `a credential leaked into the error's ${view}`);
    }
    return error;
  };
  const expectFailure = async (promise, kind, props) => checkError(await assert.rejects(promise), kind, props);
  const expectThrow = (fn, kind, props) => checkError(assert.throws(fn), kind, props);
  /** Runs `action` and proves no request reached the emulator meanwhile. */
  const expectNoRequest = async (action) => {
    const before = (await requests()).length;
    await action();
    await sleep(20); // a request sent by mistake would have arrived by now on loopback
    assert.equal((await requests()).length, before, 'a request reached the emulator');
  };
  const sdkStart = ({ appId: app, userId, version, nonce, sign }) => control('POST', 'sdk-start', { appId: app, userId, version, nonce, sign });
  const referenceSign = async (values) => {
    const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode([...values].sort().join('')));
    return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('').toUpperCase();
  };

  test('faceid-edge resolves to the expected entry', () => {
    assert.ok(String(resolved).replaceAll('\\', '/').endsWith(`/faceid-edge/${entry}`), `resolved ${resolved}, expected ${entry}`);
    for (const name of ['fetchNonceTicket', 'FaceIdClient', 'sign', 'nonceString']) assert.equal(typeof api[name], 'function', name);
  });

  // ------------------------------------------------------------------------- fetchNonceTicket

  it('fetchNonceTicket: a NONCE ticket from the emulator, sent as documented', async () => {
    const options = await ticketOptions();
    const before = Date.now();
    const ticket = keep(await api.fetchNonceTicket(options));
    assert.equal(Object.getPrototypeOf(ticket), Object.prototype, 'not a plain object');
    assert.deepEqual(Object.keys(ticket).sort(), TICKET_KEYS);
    assert.equal(ticket.value.length, 64);
    assert.equal(ticket.expire_in, 120);
    assert.ok(ticket.expires_at >= before + 120_000 && ticket.expires_at <= Date.now() + 120_000, `expires_at ${ticket.expires_at}`);
    const entry = (await requests()).at(-1);
    assert.equal(entry.path, TICKET_PATH);
    assert.deepEqual(entry.query, { app_id: appId, access_token: options.accessToken, type: 'NONCE', version: '1.0.0', user_id: 'user_01' });
  });

  it('fetchNonceTicket: invalid arguments reject invalid_argument, with the field, and send nothing', async () => {
    const options = await ticketOptions();
    await expectNoRequest(async () => {
      await expectFailure(api.fetchNonceTicket({ ...options, userId: 'a b' }), 'invalid_argument', { field: 'userId' });
      await expectFailure(api.fetchNonceTicket({ ...options, endpoint: 'http://example.com' }), 'invalid_argument', { field: 'endpoint' });
      await expectFailure(api.fetchNonceTicket({ ...options, timeoutMs: 0 }), 'invalid_argument', { field: 'timeoutMs' });
      await expectFailure(api.fetchNonceTicket(), 'invalid_argument', { field: 'options' });
    });
  });

  it('fetchNonceTicket: an unknown token is an api error with code, msg and transaction_time', async () => {
    const unknown = 'Q'.repeat(64);
    credentials.add(unknown);
    const error = await expectFailure(api.fetchNonceTicket(await ticketOptions({ accessToken: unknown })), 'api', { code: '400201' });
    assert.ok(typeof error.msg === 'string' && error.msg.length > 0, 'no msg');
    assert.match(error.transaction_time, /^\d{14}$/);
  });

  it('fetchNonceTicket: HTTP 503 is an http error with the status', async () => {
    await fault({ mode: 'http_error', status: 503, path: 'api_ticket', count: 1 });
    await expectFailure(api.fetchNonceTicket(await ticketOptions()), 'http', { status: 503 });
  });

  it('fetchNonceTicket: a transient failure is retried', async () => {
    await fault({ mode: 'http_error', status: 503, path: 'api_ticket', count: 1 });
    const ticket = keep(await api.fetchNonceTicket(await ticketOptions({ retries: 1 })));
    assert.equal(ticket.value.length, 64);
    assert.equal((await requests()).filter((request) => request.path === TICKET_PATH).length, 2, 'one failed request, one retry');
  });

  it('fetchNonceTicket: an HTML page is a bad_response', async () => {
    await fault({ mode: 'html', path: 'api_ticket', count: 1 });
    await expectFailure(api.fetchNonceTicket(await ticketOptions()), 'bad_response');
  });

  it('fetchNonceTicket: a dropped connection is a network error', async () => {
    // Every time: Deno's fetch itself resends a request whose kept-alive connection drops.
    await fault({ mode: 'drop', path: 'api_ticket' });
    await expectFailure(api.fetchNonceTicket(await ticketOptions()), 'network');
  });

  it('fetchNonceTicket: a slow answer is a timeout, with timeoutMs on the error', async () => {
    await fault({ mode: 'slow', delayMs: 10_000, path: 'api_ticket', count: 1 });
    await expectFailure(api.fetchNonceTicket(await ticketOptions({ timeoutMs: 200 })), 'timeout', { timeoutMs: 200 });
  });

  it('fetchNonceTicket: the caller\'s signal aborts, before or during the request', async () => {
    const options = await ticketOptions();
    await expectNoRequest(() => expectFailure(api.fetchNonceTicket({ ...options, signal: AbortSignal.abort() }), 'aborted'));
    await fault({ mode: 'slow', delayMs: 10_000, path: 'api_ticket', count: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expectFailure(api.fetchNonceTicket({ ...options, signal: controller.signal, timeoutMs: 20_000 }), 'aborted');
  });

  // ----------------------------------------------------------------------------- FaceIdClient

  it('FaceIdClient: token, SIGN and NONCE as plain objects; the token and SIGN ticket are cached', async () => {
    const client = newClient();
    await expectCounts(0, 0, 0, 'constructing sends nothing');
    const before = Date.now();
    const token = keep(await client.accessToken());
    const sign = keep(await client.signTicket());
    const nonce = keep(await client.nonceTicket('user_01'));
    for (const credential of [token, sign]) {
      assert.equal(Object.getPrototypeOf(credential), Object.prototype, 'not a plain object');
      assert.deepEqual(Object.keys(credential).sort(), CREDENTIAL_KEYS);
    }
    assert.equal(token.expire_in, 7200);
    assert.equal(sign.expire_in, 3600);
    assert.ok(token.expires_at >= before + 7_200_000 && token.expires_at <= Date.now() + 7_200_000, `expires_at ${token.expires_at}`);
    assert.deepEqual(Object.keys(nonce).sort(), TICKET_KEYS);
    assert.deepEqual(await client.accessToken(), token);
    assert.deepEqual(await client.signTicket(), sign);
    assert.notEqual(keep(await client.nonceTicket('user_01')).value, nonce.value, 'NONCE tickets are never cached');
    await expectCounts(1, 1, 2);
    const log = await requests();
    assert.equal(log[1].query.access_token, token.value, 'the SIGN ticket is fetched with the cached token');
    assert.equal(log.at(-1).query.access_token, token.value, 'the NONCE ticket is fetched with the cached token');
  });

  it('FaceIdClient: 100 simultaneous signTicket() on a cold client make 1 token and 1 SIGN request', async () => {
    const client = newClient();
    const tickets = await Promise.all(Array.from({ length: 100 }, () => client.signTicket()));
    assert.equal(new Set(tickets.map((ticket) => keep(ticket).value)).size, 1);
    await expectCounts(1, 1, 0);
  });

  it('FaceIdClient: sdkSignature signs a fresh NONCE ticket; the emulator accepts it exactly once', async () => {
    const client = newClient();
    const signature = await client.sdkSignature('carol_7');
    assert.deepEqual(Object.keys(signature).sort(), SDK_KEYS);
    assert.equal(signature.appId, appId);
    assert.equal(signature.userId, 'carol_7');
    assert.equal(signature.version, '1.0.0');
    assert.match(signature.nonce, /^[A-Za-z0-9]{32}$/);
    assert.match(signature.sign, /^[0-9A-F]{40}$/);
    const ticket = (await requests()).at(-1);
    assert.equal(ticket.query.type, 'NONCE');
    assert.equal((await sdkStart(signature)).code, '0', 'the signature starts the SDK');
    assert.equal((await sdkStart(signature)).code, '400402', 'a NONCE ticket starts the SDK only once');
  });

  it('FaceIdClient: a token refused after rotation elsewhere is refreshed once and the request retried', async () => {
    await control('POST', 'reset', { tokenOverlapMs: 50 });
    const client = newClient();
    const old = keep(await client.accessToken());
    await control('POST', 'rotate', { appId });
    await sleep(100);
    shiftClock(MINUTE_MS + 1000); // only a token over a minute old may be replaced
    const ticket = keep(await client.nonceTicket('alice'));
    const token = keep(await client.accessToken());
    assert.equal(ticket.value.length, 64);
    assert.notEqual(token.value, old.value);
    // The first token; the refused NONCE request; the forced refresh; the retry.
    await expectCounts(2, 0, 2);
    const log = await requests();
    assert.equal(log.at(-2).path, TOKEN_PATH, 'the refresh came right before the retry');
    assert.equal(log.at(-1).query.access_token, token.value, 'the retry used the new token');
  });

  it('FaceIdClient: after a failed token request, no other is sent during the backoff', async () => {
    await fault({ mode: 'api_error', path: 'access_token' });
    const client = newClient();
    const first = await expectFailure(client.accessToken(), 'api', { code: '500001' });
    await expectCounts(1, 0, 0);
    // The client's clock held back inside the wait (0.5-1 s after one failure), however slow
    // this machine is: the emulator runs elsewhere and keeps the real clock.
    shiftClock(-10_000);
    const second = await expectFailure(client.signTicket(), first.kind,
      { code: first.code, msg: first.msg, status: first.status });
    assert.equal(typeof second.retry_after_ms, 'number', 'retry_after_ms');
    assert.ok(second.retry_after_ms > 0, `retry_after_ms ${second.retry_after_ms}`);
    await expectCounts(1, 0, 0, 'a token request was sent during the backoff');
  });

  it('FaceIdClient: exportState carries no secret; a resumed client sends no token request', async () => {
    const first = newClient();
    const token = keep(await first.accessToken());
    const state = first.exportState();
    assert.ok(!state.includes(secret), 'the secret is in the state');
    const resumed = api.FaceIdClient.importState(clientOptions(), state);
    assert.deepEqual(await resumed.accessToken(), token);
    await expectCounts(1, 0, 0);
    expectThrow(() => api.FaceIdClient.importState(clientOptions(), 'not json'), 'invalid_argument', { field: 'state' });
  });

  it('FaceIdClient: invalid options throw invalid_argument at once, without echoing the secret', async () => {
    for (const [field, value] of [['appId', 'IDA-XXXX'], ['secret', 'a secret with spaces'], ['refreshAfterSeconds', 0], ['timeoutMs', 1.5]]) {
      if (field === 'secret') credentials.add(value);
      expectThrow(() => newClient({ [field]: value }), 'invalid_argument', { field });
    }
    await expectFailure(newClient().nonceTicket('a b'), 'invalid_argument', { field: 'userId' });
    await expectCounts(0, 0, 0);
  });

  it('FaceIdClient: failed token requests, one kind each, reveal no secret', async () => {
    const wrong = 'wrong-secret-that-must-not-leak';
    credentials.add(wrong);
    await expectFailure(newClient({ secret: wrong }).accessToken(), 'api', { code: '400103' });
    // A fresh client each time, so each failure is the service's answer, not a remembered one.
    // Each fault stays armed until the next replaces it (see the dropped connection above).
    for (const [mode, kind] of [['http_error', 'http'], ['invalid_json', 'bad_response'], ['drop', 'network']]) {
      await fault({ mode, path: 'access_token' });
      await expectFailure(newClient().sdkSignature('alice'), kind);
    }
    await fault({ mode: 'slow', delayMs: 10_000, path: 'access_token', count: 1 });
    await expectFailure(newClient({ timeoutMs: 200 }).accessToken(), 'timeout', { timeoutMs: 200 });
  });

  it('FaceIdClient: failed ticket requests reveal no token or SIGN ticket', async () => {
    const client = newClient();
    keep(await client.accessToken());
    keep(await client.signTicket());
    await fault({ mode: 'html', path: 'api_ticket', count: 1 });
    await expectFailure(client.nonceTicket('alice'), 'bad_response');
    await control('POST', 'expire-tokens', { appId });
    await expectFailure(client.sdkSignature('alice'), 'api', { code: '400202' });
  });

  // ------------------------------------------------------------------------ sign, nonceString

  test('sign: the documented vectors, and agreement with SHA-1 over the UTF-16-sorted values', async () => {
    assert.equal(api.sign(['IDAXXXXX', 'userID19959248596551', 'kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T', '1.0.0',
      'XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS']), 'D7606F1741DDCF90757DA924EDCF152A200AC7F0');
    assert.equal(api.sign([]), 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709');
    const pool = ['a', 'Z', '0', '_', '\u00e9', '\u4e2d', '\uff61', '\u{1f600}', ' '];
    for (let i = 0; i < 50; i += 1) {
      const values = Array.from({ length: 1 + (i % 5) }, (_, j) => pool.slice((i + j) % pool.length, (i * 3 + j) % pool.length + 1).join(''));
      assert.equal(api.sign(values), await referenceSign(values), JSON.stringify(values));
    }
    expectThrow(() => api.sign(['a', 1]), 'invalid_argument', { field: 'values' });
  });

  test('nonceString: 32 letters and digits, different every time', () => {
    const seen = new Set(Array.from({ length: 200 }, () => api.nonceString()));
    assert.equal(seen.size, 200);
    for (const nonce of seen) assert.match(nonce, /^[A-Za-z0-9]{32}$/);
  });

  // ---------------------------------------------------------------------------------- hygiene

  it('after every failure above the instance still works', async () => {
    keep(await newClient().nonceTicket('after_all'));
  });

  test('nothing the package printed names a credential', () => {
    printed.forEach((line, index) => {
      assert.ok(![...credentials].some((credential) => line.includes(credential)), `console line ${index + 1} of the package names a credential`);
    });
  });

  // What the package prints goes through the console: record it, and still show it.
  const originals = Object.fromEntries(CONSOLE_METHODS.map((method) => [method, console[method]]));
  const print = originals.log.bind(console);
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args) => {
      printed.push(args.map((arg) => (arg instanceof Error ? `${arg.stack}` : String(arg))).join(' '));
      originals[method].apply(console, args);
    };
  }
  try {
    return await run(print);
  } finally {
    Object.assign(console, originals);
  }
}
