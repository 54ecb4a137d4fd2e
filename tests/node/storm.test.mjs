// Request storms under failure, through the worker fleet in workerd (three isolates and the
// Durable Object) and the FaceID emulator: steady traffic while the token endpoint is down, with
// and without a usable token, with a wrong secret, with a rotation while down, and the recovery.
// Whatever the traffic, token requests stay within what the client's backoff allows: after
// consecutive failures it waits at least 0.5, 1, 2, 4, 8, 16, 30 s. Prints its figures.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startEmulator } from '../emulator/emulator.mjs';
import { credentialWatch, emulatorBindings, recordingCaller, startFleet as startWorkerFleet } from './fleet.mjs';
import { DEFAULT_APP_ID, DEFAULT_SECRET, REPO, bundleWorker, control, eventually } from './support.mjs';

const API_KEY = 'storm-test-key-81ae';
/** Accepted in form, refused by the emulator (code 400103). */
const WRONG_SECRET = `wrong-${DEFAULT_SECRET.slice(6)}`;
const OUTAGE_SECONDS = 10;
/** Failures at waits of at least 0.5, 1, 2 and 4 s fit 5 token requests into 10 s (at 0, 0.5,
 * 1.5, 3.5 and 7.5 s); one more for slack. */
const MAX_TOKEN_REQUESTS_IN_OUTAGE = 6;
/** The longest wait after failures is 60 s: recovery is due by then, plus time for a loaded machine. */
const RECOVERY_WITHIN_MS = 75_000;
const TOKEN_ENDPOINT_DOWN = { mode: 'http_error', status: 503, path: 'access_token' };

let emu;
let bundleDir;
let watch;
/** Every response text and header, and every line workerd printed: checked for credentials. */
const seen = [];
const output = [];
const call = recordingCaller(seen, API_KEY);

before(async () => {
  emu = await startEmulator();
  watch = credentialWatch(emu, [DEFAULT_SECRET, WRONG_SECRET]);
  bundleDir = await bundleWorker(join(REPO, 'www'));
});

after(async () => {
  try {
    const checked = await watch.assertNoneIn([...seen, ...output]);
    assert.ok(checked > 2 && seen.length > 100, 'the check saw responses and credentials');
    assert.deepEqual(output.filter((line) => /panicked|RuntimeError|unreachable|Module terminated/i.test(line)), []);
  } finally {
    await emu?.close();
  }
});

/** Runs `scenario` with a fresh fleet (fresh Durable Object storage), disposed afterwards. */
async function withFleet(bindings, scenario) {
  const fleet = await startWorkerFleet({
    bundleDir,
    output,
    bindings: emulatorBindings(emu.url, API_KEY, { FACEID_TIMEOUT_MS: '3000', ...bindings }),
  });
  try {
    return await scenario(fleet);
  } finally {
    await fleet.mf.dispose();
  }
}

const tokenRequests = async () => (await control(emu, 'GET', '/counters')).apps[DEFAULT_APP_ID]?.access_token ?? 0;
const nonce = (fleet, i) => call(fleet.workers[i % 3], `/faceid/nonce?user_id=storm_${i}`);

/**
 * Steady traffic for the outage: a NONCE request every 150 ms, round robin over the three
 * instances. Resolves to the replies, the token requests sent meanwhile, and the outcomes by
 * status and kind (`Retry-After` noted).
 */
async function steadyTraffic(fleet) {
  const everyMs = 150;
  const tokensBefore = await tokenRequests();
  const end = Date.now() + OUTAGE_SECONDS * 1000;
  const pending = [];
  for (let i = 0; i < (OUTAGE_SECONDS * 1000) / everyMs && Date.now() < end; i++) {
    pending.push(nonce(fleet, i));
    await sleep(everyMs);
  }
  const replies = await Promise.all(pending);
  const outcomes = {};
  for (const reply of replies) {
    const outcome = reply.status === 200
      ? '200'
      : `${reply.status} ${reply.json?.error?.kind}${reply.headers.has('retry-after') ? ' +Retry-After' : ''}`;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  return { replies, outcomes, tokens: (await tokenRequests()) - tokensBefore };
}

function report(scenario, { replies, outcomes, tokens }) {
  console.log(`storm: ${scenario}: ${tokens} token requests, ${replies.length} callers answered ${JSON.stringify(outcomes)}`);
}

/** An answer while the owner backs off: 502 or 503, with `Retry-After` in whole seconds. */
function assertBackingOff(reply) {
  assert.ok([502, 503].includes(reply.status), reply.text);
  const wait = reply.json.error.retry_after_ms;
  assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 60_000, reply.text);
  assert.equal(reply.headers.get('retry-after'), String(Math.ceil(wait / 1000)));
}

describe('request storms: token requests stay within the backoff', () => {
  it(`a: the token endpoint down ${OUTAGE_SECONDS} s with a usable token that is due: callers keep getting tickets`, async () => {
    await watch.reset();
    // Due every 2 s: the alarm keeps trying to refresh, and every caller would like a new token.
    await withFleet({ FACEID_REFRESH_AFTER_SECONDS: '2' }, async (fleet) => {
      assert.equal((await nonce(fleet, 0)).status, 200);
      await control(emu, 'POST', '/fault', TOKEN_ENDPOINT_DOWN);
      const traffic = await steadyTraffic(fleet);
      report(`token endpoint down ${OUTAGE_SECONDS} s, usable token`, traffic);
      assert.deepEqual(traffic.outcomes, { 200: traffic.replies.length });
      assert.ok(traffic.tokens >= 1 && traffic.tokens <= MAX_TOKEN_REQUESTS_IN_OUTAGE, `token requests: ${traffic.tokens}`);
    });
  });

  it(`b, e: the token endpoint down ${OUTAGE_SECONDS} s from a cold start, then back: 502 with Retry-After, then tickets for one more token request`, async () => {
    await watch.reset();
    await control(emu, 'POST', '/fault', TOKEN_ENDPOINT_DOWN);
    await withFleet({}, async (fleet) => {
      const traffic = await steadyTraffic(fleet);
      report(`token endpoint down ${OUTAGE_SECONDS} s, no usable token`, traffic);
      traffic.replies.forEach(assertBackingOff);
      assert.ok(traffic.tokens >= 1 && traffic.tokens <= MAX_TOKEN_REQUESTS_IN_OUTAGE, `token requests: ${traffic.tokens}`);

      await control(emu, 'DELETE', '/fault');
      const tokensBefore = await tokenRequests();
      const clearedAt = Date.now();
      let i = 0;
      await eventually('callers get tickets again', async () => (await nonce(fleet, i++)).status === 200,
        { withinMs: RECOVERY_WITHIN_MS, everyMs: 200 });
      const recoveredAfterMs = Date.now() - clearedAt;
      const tokens = (await tokenRequests()) - tokensBefore;
      console.log(`storm: recovery: tickets again ${recoveredAfterMs} ms after the fault cleared, ${i} callers polling, ${tokens} token request`);
      assert.equal(tokens, 1);
      for (const worker of fleet.workers.keys()) assert.equal((await nonce(fleet, worker)).status, 200);
      assert.equal((await tokenRequests()) - tokensBefore, 1);
    });
  });

  it(`c: a wrong secret under steady traffic for ${OUTAGE_SECONDS} s`, async () => {
    await watch.reset();
    await withFleet({ FACEID_SECRET: WRONG_SECRET }, async (fleet) => {
      const traffic = await steadyTraffic(fleet);
      report(`wrong secret for ${OUTAGE_SECONDS} s`, traffic);
      for (const reply of traffic.replies) {
        assertBackingOff(reply);
        assert.equal(reply.json.error.kind, 'api', reply.text);
      }
      assert.ok(traffic.tokens >= 1 && traffic.tokens <= MAX_TOKEN_REQUESTS_IN_OUTAGE, `token requests: ${traffic.tokens}`);
    });
  });

  it(`d: a rotation while the token endpoint is down, ${OUTAGE_SECONDS} s: tickets refused, no refresh storm`, async () => {
    await watch.reset({ tokenOverlapMs: 200 });
    await withFleet({ FACEID_REFRESH_AFTER_SECONDS: '2' }, async (fleet) => {
      assert.equal((await nonce(fleet, 0)).status, 200);
      await control(emu, 'POST', '/fault', TOKEN_ENDPOINT_DOWN);
      // Another process takes a new token: ours is refused 200 ms later, and cannot be replaced.
      await control(emu, 'POST', '/rotate', { appId: DEFAULT_APP_ID });
      await sleep(300);
      const traffic = await steadyTraffic(fleet);
      report(`rotation while the token endpoint is down ${OUTAGE_SECONDS} s`, traffic);
      assert.deepEqual(Object.keys(traffic.outcomes), ['502 api'], JSON.stringify(traffic.outcomes));
      assert.ok(traffic.tokens >= 1 && traffic.tokens <= MAX_TOKEN_REQUESTS_IN_OUTAGE, `token requests: ${traffic.tokens}`);
    });
  });
});
