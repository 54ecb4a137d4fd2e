// The demo page (www/index.html) in headless Chromium, served by the real worker in workerd at
// its own origin, against the emulator: click, see the signed parameters and a countdown that goes
// down, switch an emulator fault on and see the error; then one H5 verification per outcome (start,
// the emulator's H5 page, pass or fail, back on the page with the verdict and similarity), and a
// tampered callback shown as not verified. Saves screenshots in tests/artifacts/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { Miniflare } from 'miniflare';

import { startEmulator } from '../emulator/emulator.mjs';
import {
  DEFAULT_APP_ID, DEFAULT_SECRET, REPO, bundleWorker, bundledWorker, closedPort, control, launchChromium, tempDir,
} from './support.mjs';

const API_KEY = 'demo-test-key';
const ARTIFACTS = join(REPO, 'tests', 'artifacts');
export const SCREENSHOT = join(ARTIFACTS, 'demo.png');
/** Long enough for a loaded machine: the walk waits for what it needs to see, never for a time. */
const PATIENCE_MS = 30_000;

let emu;
let mf;
let browser;
let page;
let site;

before(async () => {
  emu = await startEmulator();
  // The port is chosen first: the page is its own callback, so its origin must be allowed.
  const port = await closedPort();
  mf = new Miniflare({
    ...bundledWorker(await bundleWorker(join(REPO, 'www'))),
    host: '127.0.0.1',
    port,
    durableObjectsPersist: tempDir('faceid-edge-demo-'),
    durableObjects: { FACEID_CREDENTIALS: 'FaceIdCredentials' },
    bindings: {
      FACEID_APP_ID: DEFAULT_APP_ID,
      FACEID_SECRET: DEFAULT_SECRET,
      FACEID_API_KEY: API_KEY,
      FACEID_ENDPOINT: emu.url,
      FACEID_TIMEOUT_MS: '3000',
      ALLOWED_ORIGINS: '',
      ALLOWED_CALLBACKS: `http://127.0.0.1:${port}`,
    },
  });
  site = await mf.ready;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 900, height: 760 } });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await mf?.dispose();
  await emu?.close();
});

const text = (selector) => page.locator(selector).textContent();
const secondsLeft = async () => Number((await text('#countdown')).match(/(\d+) s/)?.[1]);

it('shows signed parameters and a live countdown, then readable errors', async () => {
  await page.goto(new URL('/', site).href);
  await page.fill('#api-key', API_KEY);
  await page.fill('#user-id', 'demo_user_1');

  // A slow upstream shows the button disabled while the request is in flight.
  await control(emu, 'POST', '/fault', { mode: 'slow', delayMs: 800, count: 1, path: 'api_ticket' });
  await page.click('#submit');
  assert.equal(await page.isDisabled('#submit'), true, 'no second start while one is in flight');
  await page.waitForSelector('#result:not([hidden])');
  assert.equal(await page.isDisabled('#submit'), false);

  assert.equal(await text('#appId'), DEFAULT_APP_ID);
  assert.equal(await text('#userId'), 'demo_user_1');
  assert.equal(await text('#version'), '1.0.0');
  assert.match(await text('#nonce'), /^[A-Za-z0-9]{32}$/);
  assert.match(await text('#sign'), /^[0-9A-F]{40}$/);
  const params = {
    appId: await text('#appId'), userId: await text('#userId'), version: await text('#version'),
    nonce: await text('#nonce'), sign: await text('#sign'),
  };
  assert.equal((await control(emu, 'POST', '/sdk-start', params)).code, '0', 'the SDK accepts what the page shows');

  const first = await secondsLeft();
  assert.ok(first > 110 && first <= 120, `countdown starts near 120 s: ${first}`);
  await page.waitForTimeout(2200);
  const later = await secondsLeft();
  assert.ok(later <= first - 2 && later >= first - 6, `countdown goes down: ${first} -> ${later}`);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await control(emu, 'POST', '/fault', { mode: 'api_error', path: 'api_ticket' });
  await page.click('#submit');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await text('#error'), /Could not get the parameters: FaceID refused the request: code 500001/);
  assert.equal(await page.isHidden('#result'), true);
  await page.screenshot({ path: SCREENSHOT.replace('.png', '-error.png'), fullPage: true });

  await control(emu, 'DELETE', '/fault');
  await page.fill('#api-key', 'wrong');
  await page.click('#submit');
  await page.waitForFunction(() => /Bearer key/.test(document.querySelector('#error').textContent));
});

describe('one H5 verification in the browser', () => {
  /** The URLs the browser requested for the flow's tab. */
  let requested;
  let flow;

  beforeEach(async () => {
    requested = [];
    flow = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    flow.setDefaultTimeout(PATIENCE_MS);
    flow.on('request', (request) => requested.push(request.url()));
  });
  afterEach(() => flow.close());

  /** Starts a verification with the prefilled test identity, chooses `outcome` on the emulator's
   * H5 page, and waits for the verdict back on the demo page. Resolves to the callback's URL. */
  async function walk(outcome) {
    await flow.goto(new URL('/', site).href);
    await flow.fill('#api-key', API_KEY);
    await flow.fill('#user-id', `flow_${outcome}`);
    await flow.click('#start');
    await flow.waitForURL((url) => url.href.startsWith(`${emu.url}/api/web/login?`));
    assert.equal(await flow.textContent('#order'), new URL(flow.url()).searchParams.get('orderNo'));
    await flow.click(`#${outcome}`);
    await verdictShown();
    return requested.find((url) => url.startsWith(new URL('/?', site).href));
  }

  const verdictShown = () => flow.waitForFunction(
    () => ['passed', 'failed', 'forged'].includes(document.querySelector('#verdict-status').dataset.verdict));
  const text = (selector) => flow.textContent(selector);

  /** Neither the API key nor the person's identity ever went into a URL. */
  async function assertNothingPrivateInUrls() {
    const identity = [await flow.inputValue('#name'), await flow.inputValue('#id-no')];
    for (const secret of [API_KEY, ...identity, ...identity.map(encodeURIComponent)]) {
      assert.ok(requested.every((url) => !url.includes(secret)), `${secret} in a URL`);
    }
  }

  it('pass: back on the page, the callback verifies and the result shows the similarity', async () => {
    const callback = await walk('pass');
    assert.ok(callback, 'the H5 page sent the browser back to the demo page');
    assert.deepEqual(['code', 'h5faceId', 'newSign', 'orderNo'], [...new URL(callback).searchParams.keys()].sort());
    assert.equal(await flow.getAttribute('#verdict-status', 'data-verdict'), 'passed');
    assert.match(await text('#verdict-status'), /^Passed/);
    assert.equal(await text('#record-order'), new URL(callback).searchParams.get('orderNo'));
    assert.equal(await text('#record-code'), '0');
    assert.equal(await text('#record-similarity'), '98.52');
    assert.equal(await text('#record-live-rate'), '99');
    assert.equal(flow.url(), new URL('/', site).href, 'the callback left the address bar');
    await assertNothingPrivateInUrls();
    await flow.screenshot({ path: join(ARTIFACTS, 'demo-flow-pass.png'), fullPage: true });
  });

  it('fail: the callback verifies, and the page shows a verdict that did not pass', async () => {
    await walk('fail');
    assert.equal(await flow.getAttribute('#verdict-status', 'data-verdict'), 'failed');
    assert.equal(await text('#verdict-status'), 'Failed: the check did not pass (code 400601).');
    assert.equal(await text('#record-code'), '400601');
    assert.match(await text('#record-message'), /face comparison failed/);
    assert.equal(await text('#record-similarity'), '12.3');
    await assertNothingPrivateInUrls();
    await flow.screenshot({ path: join(ARTIFACTS, 'demo-flow-fail.png'), fullPage: true });
  });

  it('a tampered callback (a failed verification claiming code 0) is shown as not verified', async () => {
    const forged = new URL(await walk('fail'));
    forged.searchParams.set('code', '0');
    const queriesBefore = emu.state.log.filter(({ path }) => path === '/api/v2/base/queryfacerecord').length;
    await flow.goto(forged.href);
    await verdictShown();
    assert.equal(await flow.getAttribute('#verdict-status', 'data-verdict'), 'forged');
    assert.match(await text('#verdict-status'), /^Not verified/);
    assert.equal(await flow.isHidden('#record'), true, 'no result is shown for it');
    assert.equal(emu.state.log.filter(({ path }) => path === '/api/v2/base/queryfacerecord').length, queriesBefore,
      'nor asked for');
    await flow.screenshot({ path: join(ARTIFACTS, 'demo-flow-forged.png'), fullPage: true });
  });
});
