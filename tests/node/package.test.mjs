// The installed npm package in Node, imported BY NAME through its exports map, both as ESM and as
// CommonJS: the fetchNonceTicket contract against the FaceID emulator and a few local servers.

import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { startEmulator } from '../emulator/emulator.mjs';
import {
  DEFAULT_APP_ID, closedPort, control, installPackage, issueToken, listen, rejection,
} from './support.mjs';

const KINDS = ['invalid_argument', 'api', 'http', 'network', 'timeout', 'aborted', 'bad_response'];
const RESULT_KEYS = ['expire_in', 'expire_time', 'expires_at', 'transaction_time', 'value'];
const TICKET_PATH = '/api/oauth2/api_ticket';
const SECRETISH_TOKEN = 'tok+/=&?#%SECRET-0123456789~!*()';

let pkg;
let emu;
let sniff; // counts every connection and request; proxies to the emulator, stripping a /pfx prefix
let stub; // answers whatever the current test scripts in `stubHandler`
let stubHandler;
let token;
const sniffed = [];
let sniffConnections = 0;
let sniffIpv6 = false;
let sniffAliases = [];


before(async () => {
  pkg = await installPackage();
  emu = await startEmulator();
  const proxy = async (req, res) => {
    sniffed.push({ method: req.method, url: req.url });
    const path = req.url.startsWith('/pfx/') ? req.url.slice('/pfx'.length) : req.url;
    try {
      const upstream = await fetch(`${emu.url}${path}`, { method: req.method });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
      res.end(body);
    } catch {
      res.destroy();
    }
  };
  // Loopback only, on one port: 127.0.0.1, two more of 127.0.0.0/8, and [::1] where IPv6 exists.
  sniff = await listen(proxy, '127.0.0.1');
  sniffAliases = [];
  for (const host of ['127.0.0.2', '127.255.255.254', '::1']) {
    try {
      sniffAliases.push(await listen(proxy, host, sniff.port));
      if (host === '::1') sniffIpv6 = true;
    } catch {
      // That address is not available here; the test below skips it.
    }
  }
  for (const { server } of [sniff, ...sniffAliases]) {
    server.on('connection', () => { sniffConnections += 1; });
  }
  stub = await listen((req, res) => stubHandler(req, res));
});

after(async () => {
  await Promise.all([emu?.close(), sniff?.close(), stub?.close(), ...sniffAliases.map((alias) => alias.close())]);
});

beforeEach(async () => {
  await control(emu, 'POST', 'reset', {});
  token = await issueToken(emu);
  sniffed.length = 0;
  stubHandler = (req, res) => { res.writeHead(500); res.end('no stub scripted'); };
});

afterEach(async () => {
  await control(emu, 'DELETE', 'fault');
});

const sniffUrl = (host = '127.0.0.1') => `http://${host}:${sniff.port}`;

/** Serves `body` (an object is sent as JSON) with `status` from the stub server. */
function stubAnswer(body, status = 200, contentType = 'application/json; charset=utf-8') {
  stubHandler = (req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  };
}

const ticketBody = (ticket, extra = {}) => ({
  code: '0', msg: 'ok', transactionTime: '20240101000000', tickets: [ticket], ...extra,
});

/** Arms one emulator fault on the ticket endpoint. */
const fault = (mode, extra = {}) => control(emu, 'POST', 'fault', { mode, path: 'api_ticket', ...extra });

/**
 * Awaits the rejection of `promise` and checks it is a FaceIdError of `kind` with `props`, whose
 * message, stack and own properties never contain any of `secrets`. Returns the error.
 */
async function expectFailure(promise, kind, props = {}, secrets = [token]) {
  const kinds = [kind].flat();
  assert.ok(kinds.every((k) => KINDS.includes(k)));
  const error = await rejection(promise);
  assert.ok(error instanceof Error, `not an Error: ${String(error)}`);
  assert.equal(error.name, 'FaceIdError');
  assert.ok(kinds.includes(error.kind), `kind ${error.kind}, expected ${kinds.join(' or ')}: ${error.message}`);
  for (const [key, value] of Object.entries(props)) assert.equal(error[key], value, `${key} of: ${error.message}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'empty message');
  if (error.kind !== 'api') {
    // The service's own `msg` (often Chinese) may be quoted by an api error; ours is plain English.
    // Network errors quote the platform's reason, which may span lines (OpenSSL's does).
    assert.match(error.message, /^[\x20-\x7e\n]+$/, 'message is not plain ASCII text');
    assert.match(error.message, /[A-Za-z]{3,}/);
  }
  const views = [
    error.message,
    String(error.stack),
    String(error),
    JSON.stringify(error),
    JSON.stringify(error, Object.getOwnPropertyNames(error)),
  ];
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < 8) continue;
    const forms = [secret];
    try { forms.push(encodeURIComponent(secret)); } catch { /* a lone surrogate: no encoded form */ }
    for (const view of views) for (const form of forms) assert.ok(!view.includes(form), `secret leaked into ${view}`);
  }
  return error;
}

/** Runs `action`, then proves no connection reached the sniffer and no request the emulator. */
async function expectNoRequest(action) {
  const logBefore = emu.state.log.length;
  const connectionsBefore = sniffConnections;
  const sniffedBefore = sniffed.length;
  const result = await action();
  await sleep(15); // a request sent by mistake would have arrived by now on loopback
  assert.equal(emu.state.log.length, logBefore, 'a request reached the emulator');
  assert.equal(sniffConnections, connectionsBefore, 'a connection reached the sniffer');
  assert.equal(sniffed.length, sniffedBefore, 'a request reached the sniffer');
  return result;
}

function lastLogEntry() {
  const { log } = emu.state;
  assert.ok(log.length > 0, 'the emulator logged nothing');
  return log[log.length - 1];
}

function checkTicket(ticket, before, after, expireIn = 120) {
  assert.equal(Object.getPrototypeOf(ticket), Object.prototype, 'not a plain object');
  assert.equal(typeof ticket.value, 'string');
  assert.equal(ticket.expire_in, expireIn);
  assert.equal(typeof ticket.expires_at, 'number');
  assert.ok(ticket.expires_at >= before + expireIn * 1000, `expires_at ${ticket.expires_at} too early`);
  assert.ok(ticket.expires_at <= after + expireIn * 1000, `expires_at ${ticket.expires_at} too late`);
}

describe('import and require of faceid-edge in one process', () => {
  it('share one instance: the same exports, the very same objects', () => {
    const names = (api) => Object.keys(api).filter((name) => name !== 'default').sort();
    assert.ok(names(pkg.esm).includes('fetchNonceTicket'));
    assert.deepEqual(names(pkg.cjs), names(pkg.esm));
    for (const name of names(pkg.esm)) assert.equal(pkg.esm[name], pkg.cjs[name], `${name} differs: two instances`);
  });
});

for (const flavor of ['esm', 'cjs']) {
  describe(`${flavor === 'esm' ? 'ESM import' : 'CommonJS require'} of faceid-edge`, () => {
    let fetchNonceTicket;
    before(() => {
      ({ fetchNonceTicket } = pkg[flavor]);
      assert.equal(typeof fetchNonceTicket, 'function');
    });

    // One attempt by default, so each case sees exactly one answer; retries are tested below.
    const options = (overrides = {}) => ({
      appId: DEFAULT_APP_ID, accessToken: token, userId: 'user_01', endpoint: emu.url, retries: 0, ...overrides,
    });

    it('is the installed copy, resolved by name', () => {
      const installed = join(pkg.dir, 'node_modules', 'faceid-edge') + sep;
      assert.ok(pkg.resolved[flavor].startsWith(installed), pkg.resolved[flavor]);
    });

    describe('success', () => {
      it('returns a fresh NONCE ticket as a plain object with exactly the documented keys', async () => {
        const before = Date.now();
        const ticket = await fetchNonceTicket(options());
        const after = Date.now();
        assert.deepEqual(Object.keys(ticket).sort(), RESULT_KEYS);
        checkTicket(ticket, before, after);
        assert.equal(ticket.value.length, 64);
        assert.equal(typeof ticket.expire_time, 'string');
        assert.match(ticket.expire_time, /^\d{14}$/);
        assert.equal(typeof ticket.transaction_time, 'string');
        assert.match(ticket.transaction_time, /^\d{14}$/);
        const again = await fetchNonceTicket(options());
        assert.notEqual(again.value, ticket.value, 'NONCE tickets are one-time: a second call gets a new one');
      });

      it('sends GET /api/oauth2/api_ticket with type=NONCE and version 1.0.0 by default', async () => {
        await fetchNonceTicket(options({ userId: 'alice-01' }));
        const entry = lastLogEntry();
        assert.equal(entry.method, 'GET');
        assert.equal(entry.path, TICKET_PATH);
        assert.deepEqual(entry.query, {
          app_id: DEFAULT_APP_ID, access_token: token, type: 'NONCE', version: '1.0.0', user_id: 'alice-01',
        });
        assert.equal(emu.state.log.length, 2, 'one access_token request by the test, one ticket request');
      });

      it('passes a custom version', async () => {
        await fetchNonceTicket(options({ version: '2.1.0-beta_3' }));
        assert.equal(lastLogEntry().query.version, '2.1.0-beta_3');
      });

      it('percent-encodes every query value', async () => {
        const weird = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ABCabc019';
        const error = await expectFailure(
          fetchNonceTicket(options({ accessToken: weird, endpoint: sniffUrl() })),
          'api', { code: '400201' }, [weird],
        );
        assert.ok(error.msg.length > 0);
        const raw = sniffed.at(-1).url;
        const [path, query] = raw.split(/\?(.*)/s);
        assert.equal(path, TICKET_PATH);
        const pairs = query.split('&').map((pair) => pair.split('='));
        assert.deepEqual(pairs.map(([key]) => key).sort(), ['access_token', 'app_id', 'type', 'user_id', 'version']);
        for (const [, value] of pairs) assert.match(value, /^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*$/, `not percent-encoded: ${value}`);
        const decoded = Object.fromEntries(pairs.map(([key, value]) => [key, decodeURIComponent(value)]));
        assert.deepEqual(decoded, {
          app_id: DEFAULT_APP_ID, access_token: weird, type: 'NONCE', version: '1.0.0', user_id: 'user_01',
        });
        assert.equal(lastLogEntry().query.access_token, weird, 'the emulator got the exact token');
      });

      it('sends every visible ASCII character of a token exactly as given', async () => {
        const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
        for (const accessToken of [visible.slice(0, 64), visible.slice(64)]) {
          await expectFailure(fetchNonceTicket(options({ accessToken })), 'api', { code: '400201' }, [accessToken]);
          assert.equal(lastLogEntry().query.access_token, accessToken);
        }
      });

      it('keeps a path prefix of the endpoint, with or without a trailing slash', async () => {
        for (const endpoint of [`${sniffUrl()}/pfx`, `${sniffUrl()}/pfx/`]) {
          sniffed.length = 0;
          const ticket = await fetchNonceTicket(options({ endpoint }));
          assert.equal(ticket.value.length, 64);
          assert.equal(sniffed.length, 1);
          assert.equal(sniffed[0].method, 'GET');
          assert.ok(sniffed[0].url.startsWith(`/pfx${TICKET_PATH}?`), sniffed[0].url);
        }
      });

      it('a prefix the service does not serve gives an http error with status 404', async () => {
        await expectFailure(fetchNonceTicket(options({ endpoint: `${emu.url}/prefix` })), 'http', { status: 404 });
      });

      it('accepts http: to every loopback form: localhost, 127.0.0.0/8 and [::1]', async () => {
        // Linux routes all of 127.0.0.0/8 to the loopback interface.
        const bound = sniffAliases.map(({ url }) => new URL(url).hostname);
        const hosts = ['localhost', 'LOCALHOST', '127.0.0.1', ...bound];
        for (const host of hosts) {
          sniffed.length = 0;
          const ticket = await fetchNonceTicket(options({ endpoint: `http://${host}:${sniff.port}` }));
          assert.equal(ticket.value.length, 64, host);
          assert.equal(sniffed.length, 1, host);
        }
      });

      it('accepts https: to any host (here a plain-http loopback server: a network failure, not a refusal)', async () => {
        const connectionsBefore = sniffConnections;
        await expectFailure(fetchNonceTicket(options({ endpoint: `https://127.0.0.1:${sniff.port}` })), 'network');
        assert.ok(sniffConnections > connectionsBefore, 'no connection was made');
      });

      it('accepts the boundary lengths of every field', async () => {
        const before = Date.now();
        const ticket = await fetchNonceTicket(options({ userId: 'a'.repeat(30), version: '1'.repeat(20) }));
        checkTicket(ticket, before, Date.now());
        assert.equal(lastLogEntry().query.user_id, 'a'.repeat(30));
        assert.equal(lastLogEntry().query.version, '1'.repeat(20));
        await fetchNonceTicket(options({ userId: 'Z', version: '9' }));
        assert.equal(lastLogEntry().query.user_id, 'Z');
        await fetchNonceTicket(options({ userId: 'A-z_0-9', version: 'v.1_2-3' }));
        assert.equal(lastLogEntry().query.user_id, 'A-z_0-9');
        assert.equal(token.length, 64, 'the happy path already uses a 64-character token');
        // Sent, then refused by the service: valid for the package.
        await expectFailure(fetchNonceTicket(options({ appId: 'I' })), 'api', { code: '400102' });
        assert.equal(lastLogEntry().query.app_id, 'I');
        await expectFailure(fetchNonceTicket(options({ accessToken: '!' })), 'api', { code: '400201' });
        assert.equal(lastLogEntry().query.access_token, '!');
      });

      it('accepts timeoutMs 120000 and an AbortSignal that never fires', async () => {
        const controller = new AbortController();
        const ticket = await fetchNonceTicket(options({ timeoutMs: 120000, signal: controller.signal }));
        assert.equal(ticket.expire_in, 120);
        controller.abort(); // after the fact: nothing happens
      });

      it('reads expire_in sent as a number, code 0 as a number, and takes the first ticket', async () => {
        stubAnswer({ code: 0, tickets: [{ value: 'first', expire_in: 7200 }, { value: 'second', expire_in: 60 }] });
        const before = Date.now();
        const ticket = await fetchNonceTicket(options({ endpoint: stub.url }));
        checkTicket(ticket, before, Date.now(), 7200);
        assert.equal(ticket.value, 'first');
        assert.equal(ticket.expire_time, undefined);
        assert.equal(ticket.transaction_time, undefined);
        assert.deepEqual(Object.keys(ticket).filter((key) => ticket[key] !== undefined).sort(), ['expire_in', 'expires_at', 'value']);
      });

      it('accepts any 2xx status', async () => {
        stubAnswer(ticketBody({ value: 'created', expire_in: '5' }), 201);
        const ticket = await fetchNonceTicket(options({ endpoint: stub.url }));
        assert.equal(ticket.value, 'created');
        assert.equal(ticket.expire_in, 5);
        assert.equal(ticket.transaction_time, '20240101000000');
      });

      it('reads a body of exactly 64 KiB', async () => {
        const head = JSON.stringify(ticketBody({ value: 'big', expire_in: '120' }));
        const body = `${head.slice(0, -1)},"pad":"${'p'.repeat(65536 - head.length - 9)}"}`;
        assert.equal(Buffer.byteLength(body), 65536);
        stubAnswer(body);
        const ticket = await fetchNonceTicket(options({ endpoint: stub.url }));
        assert.equal(ticket.value, 'big');
      });
    });

    describe('invalid_argument: rejects and sends nothing', () => {
      const long = (n, c = 'a') => c.repeat(n);
      const cases = [
        // appId: 1-8 ASCII letters/digits
        ['appId', 'missing', { appId: undefined }],
        ['appId', 'empty', { appId: '' }],
        ['appId', '9 characters', { appId: 'IDAEMU012' }],
        ['appId', 'a dash', { appId: 'IDA-EMU1' }],
        ['appId', 'an underscore', { appId: 'IDA_EMU1' }],
        ['appId', 'a space', { appId: 'IDA EMU' }],
        ['appId', 'a non-ASCII letter', { appId: 'IDAÉMU' }],
        ['appId', 'a NUL', { appId: 'IDA\0' }],
        ['appId', 'a number', { appId: 12345678 }],
        ['appId', 'null', { appId: null }],
        ['appId', 'an array', { appId: ['IDAEMU01'] }],
        // accessToken: 1-128 visible ASCII characters
        ['accessToken', 'missing', { accessToken: undefined }],
        ['accessToken', 'empty', { accessToken: '' }],
        ['accessToken', '129 characters', { accessToken: long(129, 'T') }],
        ['accessToken', 'a space', { accessToken: 'tok en-0123456789' }],
        ['accessToken', 'a newline', { accessToken: 'token-0123456789\n' }],
        ['accessToken', 'a tab', { accessToken: 'token\t0123456789' }],
        ['accessToken', 'DEL (0x7F)', { accessToken: 'token-0123456789\x7f' }],
        ['accessToken', 'a non-ASCII character', { accessToken: 'token-0123456789ü' }],
        ['accessToken', 'a lone surrogate', { accessToken: 'token-0123456789\ud800' }],
        ['accessToken', 'a number', { accessToken: 1234567890 }],
        ['accessToken', 'an object', { accessToken: { toString: () => 'tok' } }],
        // userId: 1-30 characters from A-Z a-z 0-9 _ -
        ['userId', 'missing', { userId: undefined }],
        ['userId', 'empty', { userId: '' }],
        ['userId', '31 characters', { userId: long(31) }],
        ['userId', 'a dot', { userId: 'a.b' }],
        ['userId', 'a space', { userId: 'a b' }],
        ['userId', 'an ampersand', { userId: 'a&type=SIGN' }],
        ['userId', 'a plus', { userId: 'a+b' }],
        ['userId', 'Chinese characters', { userId: '名字' }],
        ['userId', 'a number', { userId: 42 }],
        ['userId', 'a boolean', { userId: true }],
        // version: 1-20 characters from A-Z a-z 0-9 . _ -
        ['version', 'empty', { version: '' }],
        ['version', '21 characters', { version: long(21, '1') }],
        ['version', 'a trailing space', { version: '1.0 ' }],
        ['version', 'a slash', { version: '1/0' }],
        ['version', 'a plus', { version: '1+0' }],
        ['version', 'an ampersand', { version: '1.0.0&type=SIGN' }],
        ['version', 'a number', { version: 1 }],
        // endpoint: https:, or http: to loopback; no query, fragment or credentials
        ['endpoint', 'http: to a public host', { endpoint: 'http://example.com' }],
        ['endpoint', 'http: to 128.0.0.1', { endpoint: 'http://128.0.0.1' }],
        ['endpoint', 'http: to a host that starts like a loopback address', { endpoint: 'http://127.0.0.1.example.com' }],
        ['endpoint', 'http: to a host that starts like localhost', { endpoint: 'http://localhost.example.com' }],
        ['endpoint', 'http: to [::2]', { endpoint: 'http://[::2]' }],
        ['endpoint', 'a query', () => ({ endpoint: `${sniffUrl()}/?x=1` })],
        ['endpoint', 'an empty query', () => ({ endpoint: `${sniffUrl()}?` })],
        ['endpoint', 'a fragment', () => ({ endpoint: `${sniffUrl()}/#x` })],
        ['endpoint', 'an empty fragment', () => ({ endpoint: `${sniffUrl()}#` })],
        ['endpoint', 'user and password', () => ({ endpoint: `http://user:pw@127.0.0.1:${sniff.port}` })],
        ['endpoint', 'a user name', () => ({ endpoint: `http://user@127.0.0.1:${sniff.port}` })],
        ['endpoint', 'https: with credentials', () => ({ endpoint: `https://user:pw@127.0.0.1:${sniff.port}` })],
        ['endpoint', 'ftp:', () => ({ endpoint: `ftp://127.0.0.1:${sniff.port}` })],
        ['endpoint', 'ws:', () => ({ endpoint: `ws://127.0.0.1:${sniff.port}` })],
        ['endpoint', 'file:', { endpoint: 'file:///etc/passwd' }],
        ['endpoint', 'javascript:', { endpoint: 'javascript:alert(1)' }],
        ['endpoint', 'a relative path', { endpoint: '/api' }],
        ['endpoint', 'no scheme', () => ({ endpoint: `127.0.0.1:${sniff.port}` })],
        ['endpoint', 'a protocol-relative URL', () => ({ endpoint: `//127.0.0.1:${sniff.port}` })],
        ['endpoint', 'empty', { endpoint: '' }],
        ['endpoint', 'no host', { endpoint: 'https://' }],
        ['endpoint', 'a number', { endpoint: 443 }],
        ['endpoint', 'a URL object', () => ({ endpoint: new URL(sniffUrl()) })],
        // timeoutMs: integer 1..=120000
        ['timeoutMs', '0', { timeoutMs: 0 }],
        ['timeoutMs', '-1', { timeoutMs: -1 }],
        ['timeoutMs', '1.5', { timeoutMs: 1.5 }],
        ['timeoutMs', '120001', { timeoutMs: 120001 }],
        ['timeoutMs', 'NaN', { timeoutMs: NaN }],
        ['timeoutMs', 'Infinity', { timeoutMs: Infinity }],
        ['timeoutMs', 'the string "100"', { timeoutMs: '100' }],
        ['timeoutMs', 'a boolean', { timeoutMs: true }],
        ['timeoutMs', 'a BigInt', { timeoutMs: 100n }],
        // signal: an AbortSignal
        ['signal', 'a plain object', { signal: {} }],
        ['signal', 'a look-alike', { signal: { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} } }],
        ['signal', 'an AbortController', () => ({ signal: new AbortController() })],
        ['signal', 'an EventTarget', () => ({ signal: new EventTarget() })],
        ['signal', 'a string', { signal: 'abort' }],
        ['signal', 'true', { signal: true }],
      ];
      for (const [field, label, overrides] of cases) {
        it(`${field}: ${label}`, async () => {
          const extra = typeof overrides === 'function' ? overrides() : overrides;
          const opts = options({ endpoint: sniffUrl(), ...extra });
          const secrets = [token, typeof opts.accessToken === 'string' ? opts.accessToken : ''];
          await expectNoRequest(() => expectFailure(fetchNonceTicket(opts), 'invalid_argument', { field }, secrets));
        });
      }

      for (const [label, value] of [
        ['undefined', undefined], ['null', null], ['a number', 42], ['a string', 'IDAEMU01'],
        ['a boolean', true], ['a symbol', Symbol('options')], ['a BigInt', 1n],
      ]) {
        it(`options: ${label}`, async () => {
          await expectNoRequest(() => expectFailure(fetchNonceTicket(value), 'invalid_argument', { field: 'options' }));
        });
      }

      it('options: no argument at all', async () => {
        await expectNoRequest(() => expectFailure(fetchNonceTicket(), 'invalid_argument', { field: 'options' }));
      });

      it('options: an object with a throwing getter', async () => {
        const opts = options({ endpoint: sniffUrl() });
        Object.defineProperty(opts, 'userId', { enumerable: true, get() { throw new Error(`boom ${token}`); } });
        await expectNoRequest(() => expectFailure(fetchNonceTicket(opts), 'invalid_argument', { field: 'userId' }));
      });

      it('control: the base options of the cases above are valid and sent', async () => {
        // So each refusal above is caused by the one field that case changes.
        const ticket = await fetchNonceTicket(options({ endpoint: sniffUrl(), version: '1.0.0', timeoutMs: 5000 }));
        assert.equal(ticket.value.length, 64);
      });
    });

    describe('never throws synchronously', () => {
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      const calls = [
        ['no argument', []],
        ['undefined', [undefined]],
        ['42', [42]],
        ['null', [null]],
        ['a string', ['options']],
        ['a revoked proxy', [revoked.proxy]],
        ['a proxy whose traps throw', [new Proxy({}, { get() { throw new Error('trap'); }, has() { throw new Error('trap'); } })]],
        ['bad fields', [{ appId: 1, accessToken: 2, userId: 3 }]],
      ];
      for (const [label, args] of calls) {
        it(`returns a rejected Promise for ${label}`, async () => {
          let returned;
          try {
            returned = fetchNonceTicket(...args);
          } catch (error) {
            assert.fail(`threw synchronously: ${error}`);
          }
          assert.ok(returned instanceof Promise, 'did not return a Promise');
          await expectNoRequest(() => expectFailure(returned, 'invalid_argument'));
        });
      }

      it('returns a Promise for valid options too', async () => {
        let returned;
        try {
          returned = fetchNonceTicket(options());
        } catch (error) {
          assert.fail(`threw synchronously: ${error}`);
        }
        assert.ok(returned instanceof Promise);
        assert.equal((await returned).value.length, 64);
      });
    });

    describe('api errors', () => {
      it('an unknown token gives kind api with the code as a string, msg and transaction_time', async () => {
        const unknown = `${token.slice(0, 32)}${'Q'.repeat(32)}`;
        const error = await expectFailure(fetchNonceTicket(options({ accessToken: unknown })), 'api', { code: '400201' }, [unknown, token]);
        assert.equal(typeof error.code, 'string');
        assert.equal(typeof error.msg, 'string');
        assert.ok(error.msg.length > 0);
        assert.match(error.transaction_time, /^\d{14}$/);
      });

      it('an expired token gives code 400202', async () => {
        await control(emu, 'POST', 'expire-tokens', { appId: DEFAULT_APP_ID });
        await expectFailure(fetchNonceTicket(options()), 'api', { code: '400202' });
      });

      it('the api_error fault gives code 500001', async () => {
        await fault('api_error', { count: 1 });
        const error = await expectFailure(fetchNonceTicket(options()), 'api', { code: '500001' });
        assert.ok(error.msg.length > 0);
      });

      it('a numeric code is reported as a string', async () => {
        stubAnswer({ code: 66660004, msg: 'refused' });
        const error = await expectFailure(fetchNonceTicket(options({ endpoint: stub.url })), 'api', { code: '66660004', msg: 'refused' });
        assert.equal(error.transaction_time, undefined);
      });

      it('the message never contains the token, even when the service echoes it in msg', async () => {
        const echoed = 'tok-SECRET-0123456789abcdef';
        stubAnswer({ code: '400201', msg: `access_token ${echoed} is invalid`, transactionTime: '20240101000000' });
        const error = await rejection(fetchNonceTicket(options({ endpoint: stub.url, accessToken: echoed })));
        assert.equal(error.kind, 'api');
        assert.ok(!error.message.includes(echoed), `token leaked into message: ${error.message}`);
        assert.ok(!String(error.stack).includes(echoed), 'token leaked into stack');
      });
    });

    describe('http errors', () => {
      it('the http_error fault with status 503 gives kind http, status 503', async () => {
        await fault('http_error', { status: 503, count: 1 });
        const error = await expectFailure(fetchNonceTicket(options()), 'http', { status: 503 });
        assert.equal(typeof error.status, 'number');
      });

      it('a non-2xx status with a JSON success body is still an http error', async () => {
        stubAnswer(ticketBody({ value: 'v', expire_in: '120' }), 500);
        await expectFailure(fetchNonceTicket(options({ endpoint: stub.url })), 'http', { status: 500 });
        stubAnswer(ticketBody({ value: 'v', expire_in: '120' }), 404);
        await expectFailure(fetchNonceTicket(options({ endpoint: stub.url })), 'http', { status: 404 });
      });
    });

    describe('bad_response', () => {
      for (const mode of ['html', 'invalid_json', 'empty_tickets', 'no_value', 'bad_expire_in']) {
        it(`the ${mode} fault`, async () => {
          await fault(mode, { count: 1 });
          await expectFailure(fetchNonceTicket(options()), 'bad_response');
          assert.equal(lastLogEntry().path, TICKET_PATH, 'the faulted request was sent');
        });
      }

      it('the oversized fault (8 MiB) is refused quickly: it stops reading', async () => {
        await fault('oversized', { count: 1 });
        const started = Date.now();
        await expectFailure(fetchNonceTicket(options()), 'bad_response');
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      });

      it('an endless body is refused past 64 KiB and the download is cancelled', async () => {
        let sent = 0;
        let closed;
        const clientLeft = new Promise((resolve) => { closed = resolve; });
        stubHandler = (req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"code":"0","msg":"');
          const chunk = 'x'.repeat(16 * 1024);
          const timer = setInterval(() => { sent += chunk.length; res.write(chunk); }, 5);
          res.on('close', () => { clearInterval(timer); closed(); });
        };
        const started = Date.now();
        await expectFailure(fetchNonceTicket(options({ endpoint: stub.url, timeoutMs: 20000 })), 'bad_response');
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        await Promise.race([clientLeft, sleep(3000).then(() => assert.fail('the connection was not closed'))]);
        assert.ok(sent < 4 * 1024 * 1024, `kept reading: ${sent} bytes sent`);
      });

      it('a body one byte over 64 KiB is refused', async () => {
        const head = JSON.stringify(ticketBody({ value: 'big', expire_in: '120' }));
        const body = `${head.slice(0, -1)},"pad":"${'p'.repeat(65537 - head.length - 9)}"}`;
        assert.equal(Buffer.byteLength(body), 65537);
        stubAnswer(body);
        await expectFailure(fetchNonceTicket(options({ endpoint: stub.url })), 'bad_response');
      });

      const badBodies = [
        ['not JSON', '<html>busy</html>'],
        ['an empty body', ''],
        ['a JSON array', '[{"code":"0"}]'],
        ['JSON null', 'null'],
        ['a JSON string', '"0"'],
        ['no tickets', { code: '0' }],
        ['tickets not an array', { code: '0', tickets: { value: 'v', expire_in: '120' } }],
        ['a ticket that is not an object', { code: '0', tickets: ['v'] }],
        ['an empty value', ticketBody({ value: '', expire_in: '120' })],
        ['a numeric value', ticketBody({ value: 12345, expire_in: '120' })],
        ['no expire_in', ticketBody({ value: 'v' })],
        ['expire_in "0"', ticketBody({ value: 'v', expire_in: '0' })],
        ['expire_in 0', ticketBody({ value: 'v', expire_in: 0 })],
        ['expire_in -1', ticketBody({ value: 'v', expire_in: -1 })],
        ['expire_in "-1"', ticketBody({ value: 'v', expire_in: '-1' })],
        ['expire_in 1.5', ticketBody({ value: 'v', expire_in: 1.5 })],
        ['expire_in "1.5"', ticketBody({ value: 'v', expire_in: '1.5' })],
        ['expire_in "0.2"', ticketBody({ value: 'v', expire_in: '0.2' })],
        ['expire_in "12a"', ticketBody({ value: 'v', expire_in: '12a' })],
        ['expire_in ""', ticketBody({ value: 'v', expire_in: '' })],
        ['expire_in null', ticketBody({ value: 'v', expire_in: null })],
        ['expire_in true', ticketBody({ value: 'v', expire_in: true })],
        ['expire_in [120]', ticketBody({ value: 'v', expire_in: [120] })],
      ];
      for (const [label, body] of badBodies) {
        it(`a 200 answer with ${label}`, async () => {
          stubAnswer(body);
          await expectFailure(fetchNonceTicket(options({ endpoint: stub.url })), 'bad_response');
        });
      }

      it('the emulator with fractional lifetimes (expire_in "0.2") is a bad_response', async () => {
        await control(emu, 'POST', 'reset', { nonceExpireIn: 0.2 });
        token = await issueToken(emu);
        await expectFailure(fetchNonceTicket(options()), 'bad_response');
      });
    });

    describe('timeout', () => {
      it('a slow answer rejects after timeoutMs with kind timeout and timeoutMs on the error', async () => {
        await fault('slow', { delayMs: 4000, count: 1 });
        const started = Date.now();
        await expectFailure(fetchNonceTicket(options({ timeoutMs: 200 })), 'timeout', { timeoutMs: 200 });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 190 && elapsed < 2000, `took ${elapsed} ms`);
      });

      it('the limit covers the body too (stall_body)', async () => {
        await fault('stall_body', { count: 1 });
        const started = Date.now();
        await expectFailure(fetchNonceTicket(options({ timeoutMs: 300 })), 'timeout', { timeoutMs: 300 });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 290 && elapsed < 2500, `took ${elapsed} ms`);
      });

      it('timeoutMs 1 is valid and applies', async () => {
        await fault('slow', { delayMs: 2000, count: 1 });
        await expectFailure(fetchNonceTicket(options({ timeoutMs: 1 })), 'timeout', { timeoutMs: 1 });
      });
    });

    describe('aborted', () => {
      it('aborting during a slow answer rejects at once with kind aborted', async () => {
        await fault('slow', { delayMs: 4000, count: 1 });
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 50);
        const started = Date.now();
        await expectFailure(fetchNonceTicket(options({ signal: controller.signal })), 'aborted');
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 40 && elapsed < 1500, `took ${elapsed} ms`);
        assert.equal(lastLogEntry().path, TICKET_PATH, 'the request had been sent');
      });

      it('aborting while the body is read rejects with kind aborted, not timeout', async () => {
        await fault('stall_body', { count: 1 });
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error('stop')), 100);
        await expectFailure(fetchNonceTicket(options({ signal: controller.signal, timeoutMs: 5000 })), 'aborted');
      });

      it('a caller signal that fires on its own timer is aborted, not timeout', async () => {
        await fault('slow', { delayMs: 4000, count: 1 });
        await expectFailure(fetchNonceTicket(options({ signal: AbortSignal.timeout(100), timeoutMs: 5000 })), 'aborted');
      });

      it('an aborted call carries the signal\'s reason as its cause', async () => {
        const reason = new Error('the caller gave up');
        const controller = new AbortController();
        controller.abort(reason);
        const error = await expectFailure(fetchNonceTicket(options({ signal: controller.signal })), 'aborted');
        assert.equal(error.cause, reason);
      });

      it('an already aborted signal sends nothing', async () => {
        const controller = new AbortController();
        controller.abort();
        await expectNoRequest(() => expectFailure(fetchNonceTicket(options({ endpoint: sniffUrl(), signal: controller.signal })), 'aborted'));
        await expectNoRequest(() => expectFailure(fetchNonceTicket(options({ signal: AbortSignal.abort() })), 'aborted'));
      });
    });

    describe('network', () => {
      it('a closed port gives kind network', async () => {
        const port = await closedPort();
        await expectFailure(fetchNonceTicket(options({ endpoint: `http://127.0.0.1:${port}` })), 'network');
      });

      it('a dropped connection gives kind network', async () => {
        await fault('drop', { count: 1 });
        await expectFailure(fetchNonceTicket(options()), 'network');
        assert.equal(lastLogEntry().path, TICKET_PATH);
      });

      it('an endpoint the platform cannot parse fails without leaking the token', async () => {
        // Passes the package's host rule but is no valid IPv4 address for the URL parser.
        const error = await expectFailure(
          fetchNonceTicket(options({ endpoint: 'https://999.999.999.999', accessToken: SECRETISH_TOKEN })),
          ['network', 'invalid_argument'], {}, [SECRETISH_TOKEN],
        );
        if (error.kind === 'invalid_argument') assert.equal(error.field, 'endpoint');
      });
    });

    describe('after every kind of failure', () => {
      it('the instance still works', async () => {
        const before = Date.now();
        const ticket = await fetchNonceTicket(options());
        checkTicket(ticket, before, Date.now());
        assert.equal(ticket.value.length, 64);
      });
    });
  });
}

describe('known gaps (reported, not fixed here)', () => {
  it('an options object without a prototype is accepted', async () => {
    const { fetchNonceTicket } = pkg.esm;
    const opts = Object.assign(Object.create(null), {
      appId: DEFAULT_APP_ID, accessToken: token, userId: 'user_01', endpoint: emu.url,
    });
    const ticket = await fetchNonceTicket(opts);
    assert.equal(ticket.value.length, 64);
  });
});
