// A tiny test harness that needs nothing but the language: the shared suite runs unchanged in
// Node, Deno, Bun and the edge-runtime VM, where neither node:test nor node:assert exists.
// It prints node:test's spec lines, so scripts/test.sh counts its `ℹ pass N` like any suite.

// Thrown by the assertions below and by a test that runs too long.
class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
  }
}

const show = (value) => {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

export const assert = {
  ok(value, message = 'expected a truthy value') {
    if (!value) throw new AssertionError(message);
  },
  equal(actual, expected, message = '') {
    if (!Object.is(actual, expected)) throw new AssertionError(`${message} expected ${show(expected)}, got ${show(actual)}`.trim());
  },
  notEqual(actual, unexpected, message = '') {
    if (Object.is(actual, unexpected)) throw new AssertionError(`${message} did not expect ${show(actual)}`.trim());
  },
  /** Equality of JSON-shaped values: key order does not matter. */
  deepEqual(actual, expected, message = '') {
    const canonical = (value) => JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
    if (canonical(actual) !== canonical(expected)) {
      throw new AssertionError(`${message} expected ${canonical(expected)}, got ${canonical(actual)}`.trim());
    }
  },
  match(actual, pattern, message = '') {
    if (typeof actual !== 'string' || !pattern.test(actual)) throw new AssertionError(`${message} ${show(actual)} does not match ${pattern}`.trim());
  },
  /** Runs `fn`, which must throw; returns what it threw. */
  throws(fn, message = 'expected a throw') {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new AssertionError(message);
  },
  /** Awaits `promise`, which must reject; returns the reason. */
  async rejects(promise, message = 'expected a rejection') {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new AssertionError(message);
  },
};

/**
 * A list of tests run one after another. `test(name, fn)` adds one; `test.skip(name, reason, fn)`
 * one that is listed but not run. `run(print)` runs them, each bounded by `timeoutMs`, prints a
 * line each and node:test's closing counts, and resolves to `{ passed, failed, skipped }`.
 */
export function createHarness({ timeoutMs = 30_000 } = {}) {
  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });
  test.skip = (name, reason, fn) => tests.push({ name, fn, skip: reason });

  async function run(print) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const { name, fn, skip } of tests) {
      if (skip) {
        print(`﹣ ${name} # SKIP ${skip}`);
        counts.skipped += 1;
        continue;
      }
      const started = Date.now();
      let timer;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new AssertionError(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        print(`✔ ${name} (${Date.now() - started}ms)`);
        counts.passed += 1;
      } catch (error) {
        print(`✖ ${name} (${Date.now() - started}ms)`);
        print(String(error?.stack ?? error).replace(/^/gm, '    '));
        counts.failed += 1;
      } finally {
        clearTimeout(timer);
      }
    }
    print(`ℹ tests ${tests.length}`);
    print(`ℹ pass ${counts.passed}`);
    print(`ℹ fail ${counts.failed}`);
    print(`ℹ skipped ${counts.skipped}`);
    return counts;
  }

  return { test, run };
}
