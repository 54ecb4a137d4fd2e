#!/usr/bin/env node
// CLI for the FaceID emulator:
//   node tests/emulator/server.mjs [--port 8788] [--host 127.0.0.1]
// Env FACEID_EMULATOR_APPS='{"APPID":"secret"}' replaces the default app.
// Prints one line "FaceID emulator listening on URL" when ready (scripts wait for it).

import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.mjs';

function fail(message) {
  process.stderr.write(`faceid emulator: ${message}\n`);
  process.exit(2);
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port: ${values.port}`);
  const options = { port, host: values.host };
  const apps = process.env.FACEID_EMULATOR_APPS;
  if (apps) {
    try {
      options.apps = JSON.parse(apps);
    } catch {
      // Never echo the variable: it holds secrets.
      fail('FACEID_EMULATOR_APPS is not valid JSON');
    }
  }
  return options;
}

async function main() {
  let emulator;
  try {
    emulator = await startEmulator(readOptions());
  } catch (error) {
    fail(error.message);
  }
  process.stdout.write(`FaceID emulator listening on ${emulator.url}\n`);
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main();
