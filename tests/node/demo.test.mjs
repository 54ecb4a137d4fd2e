// The demo page (www/index.html) in headless Chromium, served by the real worker in workerd at
// its own origin, against the emulator: click, see the signed parameters and a countdown that goes
// down, switch an emulator fault on and see the error. Saves a screenshot in tests/artifacts/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';

import { Miniflare } from 'miniflare';

import { startEmulator } from '../emulator/emulator.mjs';
import {
  DEFAULT_APP_ID, DEFAULT_SECRET, REPO, bundleWorker, bundledWorker, control, launchChromium, tempDir,
} from './support.mjs';

const API_KEY = 'demo-test-key';
export const SCREENSHOT = join(REPO, 'tests', 'artifacts', 'demo.png');

let emu;
let mf;
let browser;
let page;
let site;

before(async () => {
  emu = await startEmulator();
  mf = new Miniflare({
    ...bundledWorker(await bundleWorker(join(REPO, 'www'))),
    host: '127.0.0.1',
    port: 0,
    durableObjectsPersist: tempDir('faceid-edge-demo-'),
    durableObjects: { FACEID_CREDENTIALS: 'FaceIdCredentials' },
    bindings: {
      FACEID_APP_ID: DEFAULT_APP_ID,
      FACEID_SECRET: DEFAULT_SECRET,
      FACEID_API_KEY: API_KEY,
      FACEID_ENDPOINT: emu.url,
      FACEID_TIMEOUT_MS: '3000',
      ALLOWED_ORIGINS: '',
    },
  });
  site = await mf.ready;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 900, height: 760 } });
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

  mkdirSync(join(REPO, 'tests', 'artifacts'), { recursive: true });
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
