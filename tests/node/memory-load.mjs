// Run by memory.test.mjs in a child process with --expose-gc: 100 000 fetchNonceTicket calls
// against a fetch stub that answers from memory, printing wasm linear memory and JS heap sizes
// (after a full GC) before and after, as JSON.
import { readFileSync } from 'node:fs';

import { PKG_DIR } from './support.mjs';

const CALLS = Number(process.argv[2] ?? 100_000);
const answer = JSON.stringify({
  code: '0', msg: '请求成功', transactionTime: '20261125000000',
  tickets: [{ value: 'T'.repeat(64), expire_in: '120', expire_time: '20261125000200' }],
});
globalThis.fetch = async () => new Response(answer, { headers: { 'content-type': 'application/json' } });

const glue = await import(`${PKG_DIR}/web/faceid_edge.js`);
const wasm = glue.initSync({ module: readFileSync(`${PKG_DIR}/web/faceid_edge_bg.wasm`) });
const options = { appId: 'IDAEMU01', accessToken: 'a'.repeat(64), userId: 'memory_user', endpoint: 'https://faceid.test' };

const call = () => glue.fetchNonceTicket(options);
const measure = () => {
  globalThis.gc();
  return { wasm: wasm.memory.buffer.byteLength, heap: process.memoryUsage().heapUsed };
};

for (let i = 0; i < 1000; i += 1) await call(); // warm up: first allocations and JIT
const before = measure();
for (let i = 0; i < CALLS; i += 1) await call();
const after = measure();
process.stdout.write(JSON.stringify({ calls: CALLS, before, after }));
