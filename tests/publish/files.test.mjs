// What `npm publish` and `cargo publish` would upload (make test-publish, after make
// build): `npm pack --dry-run --json pkg` and `cargo package --list`, checked file by
// file, then `cargo package --no-verify` (it needs crates.io's index, nothing else).
// The tarball's files and sizes are printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const run = promisify(execFile);

/** Build leftovers and test files that must never be published, as path patterns. */
const NEVER = [
  [/(^|\/)tests?\//, 'a tests/ directory'],
  [/(^|\/)__tests__\//, 'a __tests__/ directory'],
  [/\.(test|spec)\.[cm]?[jt]s$/, 'a test file'],
  [/\.tgz$/, 'a packed tarball'],
  [/(^|\/)target\//, 'cargo build output'],
  [/(^|\/)node_modules\//, 'node_modules'],
  [/(^|\/)\.tools\//, 'the build tools'],
  [/\.(log|rej|swp|bak)$|~$|(^|\/)\.DS_Store$/, 'an editor or build leftover'], // (Cargo.toml.orig is cargo's own)
];

function assertNothingForbidden(paths, extra = []) {
  for (const path of paths) {
    for (const [pattern, what] of [...NEVER, ...extra]) {
      assert.doesNotMatch(path, pattern, `${path} is ${what}`);
    }
  }
}

describe('npm: the tarball of pkg/', () => {
  let pack; // npm pack --dry-run --json: { files: [{ path, size }], size, unpackedSize, ... }
  let manifest;
  let paths;

  before(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--loglevel=error', join(ROOT, 'pkg')], { cwd: ROOT });
    [pack] = JSON.parse(stdout);
    manifest = JSON.parse(readFileSync(join(ROOT, 'pkg', 'package.json'), 'utf8'));
    paths = pack.files.map((f) => f.path);
    const table = pack.files.map((f) => `  ${String(f.size).padStart(8)}  ${f.path}`).join('\n');
    console.log(`${pack.filename}: ${pack.files.length} files, ${pack.size} bytes packed, ${pack.unpackedSize} unpacked\n${table}`);
  });

  test('has the README, the licences, the changelog, the .wasm and the type declarations', () => {
    for (const file of ['package.json', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'CHANGELOG.md',
      'datacosmos_auth_bg.wasm', 'index.d.ts', 'index.d.cts']) {
      assert.ok(paths.includes(file), `${file} is in the tarball: ${paths.join(', ')}`);
    }
    const size = (file) => pack.files.find((f) => f.path === file).size;
    assert.ok(size('datacosmos_auth_bg.wasm') > 10_000, 'the .wasm is the real module');
    for (const file of ['README.md', 'LICENSE-MIT', 'LICENSE-APACHE']) {
      assert.equal(size(file), statSync(join(ROOT, 'pkg', file)).size, `${file} as in pkg/`);
    }
    assert.equal(readFileSync(join(ROOT, 'pkg', 'LICENSE-MIT'), 'utf8'), readFileSync(join(ROOT, 'LICENSE-MIT'), 'utf8'));
    assert.equal(readFileSync(join(ROOT, 'pkg', 'LICENSE-APACHE'), 'utf8'), readFileSync(join(ROOT, 'LICENSE-APACHE'), 'utf8'));
  });

  test('every file package.json names (exports, main, module, types, bin, sideEffects) is in it', () => {
    const targets = new Set();
    const walk = (value) => {
      if (typeof value === 'string') targets.add(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(manifest.exports);
    walk([manifest.main, manifest.module, manifest.types, manifest.bin]);
    if (Array.isArray(manifest.sideEffects)) walk(manifest.sideEffects);
    assert.ok(targets.size >= 8, `found ${targets.size} targets`);
    for (const target of targets) {
      const path = target.replace(/^\.\//, '');
      assert.ok(paths.includes(path), `${target} is named by package.json but not in the tarball`);
    }
  });

  test('the metadata a registry page shows', () => {
    assert.equal(manifest.license, 'MIT OR Apache-2.0');
    assert.deepEqual(manifest.repository, { type: 'git', url: 'git+https://github.com/open-cosmos/datacosmos-auth.git' });
    assert.match(manifest.homepage, /^https:\/\/github\.com\/open-cosmos\/datacosmos-auth/);
    assert.match(manifest.bugs?.url, /^https:\/\/github\.com\/open-cosmos\/datacosmos-auth\/issues$/);
    assert.ok(manifest.author, 'an author');
    assert.ok(Array.isArray(manifest.sideEffects), 'sideEffects lists the entry files (false breaks tree-shaking bundlers)');
  });

  test('no tests and no build leftovers', () => {
    assertNothingForbidden(paths, [[/^(Cargo\.(toml|lock)|Makefile|src\/)/, 'a Rust source file']]);
  });
});

describe('cargo: the crate', () => {
  let paths;

  before(async () => {
    const { stdout } = await run('cargo', ['package', '--list', '--allow-dirty', '--quiet'], { cwd: ROOT });
    paths = stdout.trim().split('\n');
  });

  test('has the manifest, the README, the licences, the changelog and the sources', () => {
    for (const file of ['Cargo.toml', 'Cargo.lock', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'CHANGELOG.md', 'src/lib.rs', 'src/engine/mod.rs', 'src/js/abi.rs']) {
      assert.ok(paths.includes(file), `${file} is in the crate: ${paths.join(', ')}`);
    }
  });

  test('no tests, no npm package, no build leftovers', () => {
    assertNothingForbidden(paths, [
      [/^(pkg|www|bench|scripts|docs|\.ci)\//, 'not part of the crate'],
      [/(^|\/)package(-lock)?\.json$/, 'an npm manifest'],
      [/\.wasm$/, 'a build output'],
    ]);
  });

  test('cargo package --no-verify writes the .crate', async () => {
    await run('cargo', ['package', '--no-verify', '--allow-dirty', '--quiet'], { cwd: ROOT });
    const { version } = JSON.parse(readFileSync(join(ROOT, 'pkg', 'package.json'), 'utf8'));
    const crate = join(ROOT, 'target', 'package', `datacosmos-auth-${version}.crate`);
    const { size } = statSync(crate);
    assert.ok(size > 10_000, `${crate}: ${size} bytes`);
    console.log(`${crate}: ${paths.length} files, ${size} bytes`);
  });
});

describe('links in the documentation', () => {
  // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
  const slug = (heading) => heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim().toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
  const anchors = (text) => new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
  const withoutCode = (text) => text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  // [text](target) and [label]: target references, without code spans and blocks.
  const links = (text) => [
    ...[...withoutCode(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]),
    ...[...withoutCode(text).matchAll(/^\[[^\]]+\]: (\S+)$/gm)].map((m) => m[1]),
  ];

  for (const file of ['README.md', 'pkg/README.md', 'docs/API.md', 'CHANGELOG.md']) {
    test(`${file}: every relative link and anchor resolves inside the repository`, () => {
      const path = join(ROOT, file);
      const text = readFileSync(path, 'utf8');
      const found = links(text);
      assert.ok(found.length > 0, 'the file has links');
      for (const link of found) {
        if (/^(https?|mailto):/.test(link)) continue;
        const [target, anchor] = link.split('#');
        const resolved = target ? resolve(join(path, '..'), target) : path;
        assert.ok(resolved.startsWith(`${ROOT}/`), `${link} leaves the repository`);
        assert.ok(statSync(resolved, { throwIfNoEntry: false }), `${link}: no such file`);
        if (anchor) assert.ok(anchors(readFileSync(resolved, 'utf8')).has(anchor), `${link}: no such heading`);
      }
    });
  }
});
