// 100 000 NONCE-ticket calls in one Node process leave the wasm linear memory and the JS heap
// flat: no leaked closures, JsValues or buffers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';

const MIB = 1024 * 1024;

it('100 000 calls grow neither wasm memory nor the JS heap by more than 1 MiB', async () => {
  const script = fileURLToPath(new URL('./memory-load.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, '100000'], { timeout: 120_000 });
  const { calls, before, after } = JSON.parse(stdout);
  const mib = (bytes) => (bytes / MIB).toFixed(2);
  console.log(`memory over ${calls} calls: wasm ${mib(before.wasm)} -> ${mib(after.wasm)} MiB, ` +
    `JS heap ${mib(before.heap)} -> ${mib(after.heap)} MiB`);
  assert.ok(after.wasm - before.wasm <= MIB, 'wasm linear memory grew');
  assert.ok(after.heap - before.heap <= MIB, 'the JS heap grew');
});
