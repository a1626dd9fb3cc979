// The tarball's package.json and declarations, statically: publint --strict and
// @arethetypeswrong/cli, both on the tarball npm pack made (no registry access).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TARBALL, bin, childEnv, packageVersion, run } from './lib/harness.mjs';

const PUBLINT = packageVersion('publint');
const ATTW = packageVersion('@arethetypeswrong/cli');
const env = childEnv({ NO_COLOR: '1', FORCE_COLOR: '0' });

describe('package lint', { timeout: 60_000 }, () => {
  test(`publint ${PUBLINT} --strict on the tarball: no errors, warnings or suggestions`, async () => {
    const r = await run(process.execPath, [bin('publint'), 'run', TARBALL, '--strict'], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /All good!/, r.stdout);
  });

  // "." must type-resolve everywhere (node10, node16 from CJS and ESM, bundler).
  test(`attw ${ATTW} (profile strict) on the tarball: "." and "./package.json" without problems`, async () => {
    const r = await attw(['--entrypoints', '.', './package.json']);
    assert.deepEqual(r.problems, [], JSON.stringify(r.problems, null, 2));
    assert.equal(r.code, 0);
    const entries = Object.fromEntries(Object.entries(r.json.analysis.entrypoints['.'].resolutions)
      .map(([kind, v]) => [kind, [v.resolution?.fileName, v.implementationResolution?.fileName].map((f) => f?.split('/').pop())]));
    assert.deepEqual(entries, {
      node10: ['index.d.ts', 'node.cjs'],
      'node16-cjs': ['index.d.cts', 'node.cjs'],
      'node16-esm': ['index.d.ts', 'node.bundle.js'],
      bundler: ['index.d.ts', 'index.js'],
    });
  });

  // "./web" is, by contract (API.md), the ES module for browsers without a bundler:
  // attw's esm-only profile leaves out CommonJS resolution (node10, node16 from CJS).
  test(`attw ${ATTW} (profile esm-only) on the tarball: "./web" without problems for ESM resolution`, async () => {
    const r = await attw(['--profile', 'esm-only', '--entrypoints', './web']);
    const esm = r.problems.filter((p) => !['node10', 'node16-cjs'].includes(p.resolutionKind));
    assert.deepEqual(esm, [], JSON.stringify(esm, null, 2));
    assert.equal(r.code, 0);
  });
});

/** attw on the tarball (no @types lookup: no registry), its JSON report. */
async function attw(args) {
  const r = await run(process.execPath, [bin('attw'), TARBALL, '--no-definitely-typed', '--format', 'json', ...args], { env });
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    assert.fail(`attw printed no JSON (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return { code: r.code, json, problems: Object.values(json.problems ?? {}).flat() };
}
