// Runs a test's code as its own Node process, for what must not touch the test
// runner's process: a fresh package registry (globalThis), a polluted
// Object.prototype, a counted wasm instance, --expose-gc.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanEnv, run } from './helpers.mjs';

/** The directory the child modules are written to: `datacosmos-auth` resolves from it. */
export const CHILD_DIR = join(ROOT, 'tests', 'artifacts', 'hostile');

/**
 * Writes `code` to `<name>.mjs` and runs it with `node [...flags]`; `env` is added to a
 * clean environment. The child must exit 0 and print one JSON line last: resolves it.
 */
export async function runChild(name, code, { flags = [], env = {}, timeoutMs = 60_000 } = {}) {
  mkdirSync(CHILD_DIR, { recursive: true });
  const file = join(CHILD_DIR, `${name}.mjs`);
  writeFileSync(file, code);
  const r = await run([...flags, file], { env: cleanEnv(env), cwd: CHILD_DIR, timeoutMs });
  assert.equal(r.code, 0, `child ${name} exited with ${r.code ?? r.signal}: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1);
  assert.ok(last, `child ${name} printed its result (stderr: ${r.stderr})`);
  return JSON.parse(last);
}
