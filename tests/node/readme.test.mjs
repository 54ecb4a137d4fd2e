// The README's examples, run, so they cannot drift from the package. Every ```js and ```ts block
// of README.md is marked `test`, followed by the names it takes from its surroundings
// (```js test appId secret endpoint): the `js` blocks run as modules in a project that installed
// the packed package by name, against the emulator; the `ts` blocks are type-checked against the
// published declarations. What a block exports is then called as its runtime would: a Worker's
// `fetch`, a Next.js route's `GET`, a Bun server's handler, a verification's two routes. The
// ```rust block is the body of a wasm test in tests/client.rs, which runs it: here it is only
// compared with that test.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

import { startEmulator } from '../emulator/emulator.mjs';
import {
  DEFAULT_APP_ID, DEFAULT_SECRET, PKG_DIR, REPO, installPackage, issueToken, listen, tempDir, walkH5,
} from './support.mjs';

const run = promisify(execFile);
const TOKEN_KEY = 'readme-token-key';

/** The fenced blocks of the README, with their language and marks. */
function readmeBlocks() {
  const lines = readFileSync(join(REPO, 'README.md'), 'utf8').split('\n');
  const blocks = [];
  for (let at = 0; at < lines.length; at += 1) {
    const [lang, mark, ...names] = lines[at].match(/^```(\S*)(.*)$/)?.slice(1).join(' ').trim().split(/\s+/) ?? [];
    if (lang === undefined) continue;
    const end = lines.findIndex((line, i) => i > at && line.startsWith('```'));
    blocks.push({ line: at + 1, lang, tested: mark === 'test', names, code: lines.slice(at + 1, end).join('\n') });
    at = end;
  }
  return blocks;
}

const fenced = readmeBlocks();
const blocks = fenced.filter((block) => block.lang === 'js' || block.lang === 'ts');
let emu;
let pkg;
/** The token owner of the example being run: each token minted retires the one before, so every
 * example gets its own owner, made when it first needs a token. */
let owner;
let tokenServer;
const logged = [];
const served = [];

const ownerClient = () => {
  owner ??= new pkg.esm.FaceIdClient({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url });
  return owner;
};

/** What the blocks take from their surroundings, when run: each made only for a block that names it. */
const PROVIDED = {
  appId: () => DEFAULT_APP_ID,
  secret: () => DEFAULT_SECRET,
  endpoint: () => emu.url,
  version: () => '1.0.0',
  timeoutMs: () => 10_000,
  retries: () => 2,
  accessToken: () => issueToken(emu),
  signal: () => AbortSignal.timeout(30_000),
  token: async () => (await ownerClient().accessToken()).value,
  options: () => ({ appId: DEFAULT_APP_ID, secret: DEFAULT_SECRET, endpoint: emu.url }),
  owner: () => ({ token: () => ownerClient().accessToken(), tokenRejected: (token) => ownerClient().tokenRejected(token) }),
  tokenFromYourOwner: () => async () => (await ownerClient().accessToken()).value,
  require: () => createRequire(join(pkg.dir, 'package.json')),
  console: () => ({ log: (...values) => logged.push(values) }),
  process: () => ({
    env: {
      FACEID_APP_ID: DEFAULT_APP_ID, FACEID_SECRET: DEFAULT_SECRET, FACEID_ENDPOINT: emu.url,
      FACEID_TOKEN_URL: tokenServer.url, FACEID_TOKEN_KEY: TOKEN_KEY,
    },
  }),
  Bun: () => ({ serve: (options) => served.push(options) }),
};

/** What the blocks take from their surroundings, when type-checked. */
const DECLARED = {
  accessToken: 'string',
  signal: 'AbortSignal',
  Deno: `{
    env: { get(name: string): string | undefined };
    serve(options: { port: number }, handler: (request: Request) => Response | Promise<Response>): unknown;
  }`,
};

before(async () => {
  pkg = await installPackage();
  emu = await startEmulator();
  tokenServer = await listen(async (request, response) => {
    const allowed = request.headers.authorization === `Bearer ${TOKEN_KEY}`;
    response.writeHead(allowed ? 200 : 401, { 'content-type': 'application/json' });
    response.end(JSON.stringify(allowed ? await ownerClient().accessToken() : { error: 'unauthorized' }));
  });
});

after(async () => {
  await tokenServer?.close();
  await emu?.close();
});

/** Checks the answer of a route that hands out a NONCE ticket or an SDK signature. */
async function checkRoute(response) {
  assert.equal(response.status, 200, await response.clone().text());
  const body = await response.json();
  assert.ok(typeof body.value === 'string' || /^[0-9A-F]{40}$/.test(body.sign), JSON.stringify(body));
}

describe('README examples', () => {
  it('every js and ts block is marked for testing', () => {
    const unmarked = blocks.filter((block) => !block.tested).map((block) => `line ${block.line}`);
    assert.deepEqual(unmarked, []);
    assert.ok(blocks.length >= 10, `only ${blocks.length} blocks found`);
  });

  for (const block of blocks.filter((block) => block.tested && block.lang === 'js')) {
    it(`runs the example at line ${block.line}`, async () => {
      const missing = block.names.filter((name) => !(name in PROVIDED));
      assert.deepEqual(missing, [], 'names the test does not provide');
      owner = undefined;
      const provided = await Promise.all(block.names.map(async (name) => [name, await PROVIDED[name]()]));
      globalThis.readmeContext = Object.fromEntries(provided);
      const file = join(pkg.dir, `readme-${block.line}.mjs`);
      const prelude = block.names.length > 0 ? `const { ${block.names.join(', ')} } = globalThis.readmeContext;\n` : '';
      writeFileSync(file, `${prelude}${block.code}\n`);
      logged.length = 0;
      served.length = 0;
      const example = await import(pathToFileURL(file).href);

      if (example.default?.fetch) {
        const env = { FACEID_APP_ID: DEFAULT_APP_ID, FACEID_ENDPOINT: emu.url };
        await checkRoute(await example.default.fetch(new Request('https://worker.example/?user_id=alice'), env));
      }
      if (example.GET) await checkRoute(await example.GET(new Request('https://app.example/api/faceid?user_id=alice')));
      for (const server of served) await checkRoute(await server.fetch(new Request('http://localhost:8000/?user_id=alice')));
      if (example.start && example.done) {
        const orderNo = `readme${Date.now().toString(36)}`;
        const { url } = await example.start({ orderNo, userId: 'alice', name: '张三', idNo: '110101199003071234' });
        const back = await walkH5(url, 'pass');
        const { verdict, record } = await example.done(new Request(back));
        assert.deepEqual([verdict.verified, verdict.passed, record.passed, record.orderNo], [true, true, true, orderNo]);
      }
      if (block.names.includes('console')) {
        assert.match(logged[0]?.[0]?.sign ?? '', /^[0-9A-F]{40}$/, 'the example logs an SDK signature');
      }
    });
  }

  it('shows the Rust example that tests/client.rs runs', () => {
    const [rust, ...more] = fenced.filter((block) => block.lang === 'rust');
    assert.deepEqual(more, [], 'one Rust example');
    const test = readFileSync(join(REPO, 'tests', 'client.rs'), 'utf8').split('\n');
    const begins = test.findIndex((line) => line.trim() === '// README example begins');
    const ends = test.findIndex((line) => line.trim() === '// README example ends');
    assert.ok(begins >= 0 && ends > begins, 'tests/client.rs marks the example');
    const body = test.slice(begins + 1, ends);
    const indent = Math.min(...body.filter((line) => line.trim()).map((line) => line.match(/^ */)[0].length));
    assert.equal(rust.code, body.map((line) => line.slice(indent)).join('\n'));
  });

  it('type-checks the TypeScript examples against the published declarations', async () => {
    const dir = tempDir('faceid-edge-readme-');
    const files = [];
    for (const block of blocks.filter((block) => block.tested && block.lang === 'ts')) {
      const missing = block.names.filter((name) => !(name in DECLARED));
      assert.deepEqual(missing, [], `line ${block.line}: names the test does not declare`);
      const declarations = block.names.map((name) => `declare const ${name}: ${DECLARED[name]};\n`).join('');
      const file = `readme-${block.line}.ts`;
      writeFileSync(join(dir, file), `${declarations}${block.code}\nexport {};\n`);
      files.push(file);
    }
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler',
        lib: ['ESNext', 'DOM'], types: [], paths: { 'faceid-edge': [PKG_DIR], 'npm:faceid-edge': [PKG_DIR] },
      },
      files,
    }));
    const tsc = join(REPO, 'node_modules', '.bin', 'tsc');
    await run(tsc, ['-p', dir]).catch((failure) => assert.fail(`${failure.stdout}${failure.stderr}`));
  });
});
