// The packed tarball (`npm pack pkg`) installed into tests/browser, imported by name from
// a tiny app (fixtures/app), bundled by esbuild for the browser and by Vite, and run in
// Chromium against the demo token server on loopback. Then the tree-shaking matrix:
// apps that import ONLY `TokenClient` or ONLY `getToken` (fixtures/treeshake), bundled
// in production mode by esbuild, Vite, Rollup 4 (node-resolve, browser condition) and
// webpack 5, each run in Chromium.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startStatic } from '../servers/static.mjs';
import { HERE, PKG_DIR, artifact, jwtClaims, launch, wasmOnTheMainThread } from './helpers.mjs';

const run = promisify(execFile);
const APP = join(HERE, 'fixtures', 'app');
const TREESHAKE = join(HERE, 'fixtures', 'treeshake');
const client = { clientId: 'bundled-app', clientSecret: 'bundled-secret-c4ca4238a0b923820d' };

let demo;
let browser;
let work; // temporary directory: the tarball and the build outputs
let versions = {};

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'datacosmos-bundlers-'));
  // The tarball as published, installed the way a user installs it.
  const packed = await run('npm', ['pack', PKG_DIR, '--pack-destination', work, '--json', '--loglevel=error'], { encoding: 'utf8' });
  const tgz = join(work, JSON.parse(packed.stdout)[0].filename);
  await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', tgz], { cwd: HERE, encoding: 'utf8' });
  const installed = JSON.parse(readFileSync(join(HERE, 'node_modules', 'datacosmos-auth', 'package.json'), 'utf8'));
  assert.equal(installed.name, 'datacosmos-auth');
  demo = await startDemo({ clients: [client] });
  browser = await launch();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await demo?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  if (Object.keys(versions).length) console.log(`bundlers: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
});

/**
 * Opens `url` with the config in the fragment and returns what the app reports. With
 * `refuse`, the page refuses synchronous WebAssembly compilation and instantiation of
 * modules over 4 KB, as older Chrome and Android WebViews do on the main thread
 * (helpers.mjs, wasmOnTheMainThread); `calls` counts them.
 */
async function runApp(url, screenshot, { refuse = false } = {}) {
  const page = await browser.page();
  try {
    await page.addInitScript(wasmOnTheMainThread, { refuse });
    const from = browser.requests.length;
    await page.goto(`${url}#${encodeURIComponent(JSON.stringify({ client: { ...client, tokenUrl: demo.tokenUrl }, resourceUrl: demo.resourceUrl }))}`);
    await page.waitForFunction(() => window.result, undefined, { timeout: 30_000 });
    const result = await page.evaluate(() => window.result);
    const calls = await page.evaluate(() => window.wasmCalls);
    if (screenshot) await page.screenshot({ path: artifact(screenshot) });
    return { result, calls, requests: browser.requests.slice(from) };
  } finally {
    await page.close();
  }
}

function assertApp({ result, requests }) {
  assert.equal(result.failed, undefined, result.failed);
  assert.equal(jwtClaims(result.token).sub, `${client.clientId}@clients`);
  assert.equal(result.tokenType, 'Bearer');
  assert.equal(result.cached, true, 'the second getToken() is served from the cache');
  assert.deepEqual(result.api, { status: 200, collections: 2 });
  assert.deepEqual(result.error, { name: 'OAuthError', code: 'access_denied', status: 401, isOAuthError: true });
  assert.deepEqual(requests.filter((u) => u.endsWith('.wasm')), [], 'the wasm is embedded: no .wasm request');
}

const files = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)));

describe('bundlers', { timeout: 120_000 }, () => {
  test('esbuild --platform=browser: one bundle from the browser entry, run in Chromium', async () => {
    const esbuild = await import('esbuild');
    versions.esbuild = esbuild.version;
    const out = join(work, 'esbuild');
    const built = await esbuild.build({
      entryPoints: [join(APP, 'main.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      outfile: join(out, 'main.js'),
      metafile: true,
      logLevel: 'silent',
    });
    assert.deepEqual(built.errors, []);
    const inputs = Object.keys(built.metafile.inputs).map((p) => p.replace(/\\/g, '/'));
    assert.ok(inputs.some((p) => p.endsWith('node_modules/datacosmos-auth/index.js')), `the browser entry: ${inputs.join(', ')}`);
    assert.ok(!inputs.some((p) => /datacosmos-auth\/(node|workerd)\.(c?js)$/.test(p)), 'no Node or workerd entry');
    copyFileSync(join(APP, 'index.html'), join(out, 'index.html'));
    const site = await startStatic({ mounts: { '/': out } });
    try {
      assertApp(await runApp(`${site.url}/`, 'esbuild-app.png'));
    } finally {
      await site.close();
    }
  });

  test('Vite production build, served statically, run in Chromium', async () => {
    const vite = await import('vite');
    versions.vite = vite.version;
    const out = join(work, 'vite');
    await vite.build({
      root: APP,
      configFile: false,
      logLevel: 'warn',
      cacheDir: join(work, 'vite-cache'),
      build: { outDir: out, emptyOutDir: true },
    });
    const emitted = files(out);
    assert.ok(emitted.includes('index.html'), emitted.join(', '));
    assert.ok(emitted.some((f) => /^assets\/.+\.js$/.test(f)), emitted.join(', '));
    assert.deepEqual(emitted.filter((f) => f.endsWith('.wasm')), [], 'no separate .wasm asset');
    const site = await startStatic({ mounts: { '/': out } });
    try {
      assertApp(await runApp(`${site.url}/`, 'vite-app.png'));
    } finally {
      await site.close();
    }
  });

  test('Vite dev server (dependency pre-bundling), run in Chromium', async () => {
    const vite = await import('vite');
    const server = await vite.createServer({
      root: APP,
      configFile: false,
      logLevel: 'warn',
      cacheDir: join(work, 'vite-dev-cache'),
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    });
    await server.listen();
    try {
      const url = server.resolvedUrls.local[0];
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assertApp(await runApp(url));
    } finally {
      await server.close();
    }
  });

});

// Each builder bundles `entry` for the browser with its production settings (tree-shaking
// on, as users ship) into `out/main.js`, and returns the absolute paths of the modules
// that went into the bundle.
const BUILDERS = {
  async esbuild(entry, out) {
    const esbuild = await import('esbuild');
    versions.esbuild = esbuild.version;
    const built = await esbuild.build({
      entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
      minify: true, treeShaking: true, outfile: join(out, 'main.js'), metafile: true, logLevel: 'silent',
    });
    assert.deepEqual(built.errors, []);
    return Object.keys(built.metafile.inputs).map((p) => resolve(p));
  },
  async vite(entry, out) {
    const vite = await import('vite');
    versions.vite = vite.version;
    const [output] = [await vite.build({
      root: TREESHAKE, configFile: false, logLevel: 'warn', mode: 'production',
      cacheDir: join(work, 'vite-cache'),
      build: {
        outDir: out, emptyOutDir: true, write: true,
        rollupOptions: { input: entry, output: { entryFileNames: 'main.js' } },
      },
    })].flat();
    return output.output.flatMap((chunk) => chunk.moduleIds ?? []);
  },
  async rollup(entry, out) {
    const { rollup, VERSION } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    versions.rollup = VERSION;
    const bundle = await rollup({
      input: entry,
      treeshake: true,
      plugins: [nodeResolve({ browser: true, exportConditions: ['browser'] })],
      onwarn: (warning) => assert.fail(`rollup: ${warning.message}`),
    });
    try {
      await bundle.write({ file: join(out, 'main.js'), format: 'es' });
      return bundle.watchFiles;
    } finally {
      await bundle.close();
    }
  },
  async webpack(entry, out) {
    const { default: webpack } = await import('webpack');
    versions.webpack = webpack.version;
    const stats = await promisify(webpack)({
      mode: 'production', target: 'web', entry,
      output: { path: out, filename: 'main.js' },
      performance: { hints: false },
    });
    assert.equal(stats.hasErrors(), false, stats.toString('errors-only'));
    return [...stats.compilation.fileDependencies];
  },
};

const FIXTURES = {
  'only TokenClient': { file: 'only-client.js', check: assertOnlyClient },
  'only getToken': { file: 'only-gettoken.js', check: assertOnlyGetToken },
};

function assertOnlyClient({ result }) {
  assert.equal(result.failed, undefined, result.failed);
  assert.equal(jwtClaims(result.token).sub, `${client.clientId}@clients`);
  assert.equal(result.tokenType, 'Bearer');
  assert.equal(result.cached, true, 'the second getToken() is served from the cache');
  assert.deepEqual(result.api, { status: 200, collections: 2 }, 'client.fetch (added by the entry) works');
  assert.deepEqual(result.error, { name: 'OAuthError', code: 'access_denied', status: 401, isOAuthError: null });
}

function assertOnlyGetToken({ result }) {
  assert.equal(result.failed, undefined, result.failed);
  assert.equal(jwtClaims(result.token).sub, `${client.clientId}@clients`);
  assert.equal(result.cached, true, 'the second getToken(config) is served from the module-level cache');
  assert.deepEqual(result.error, { name: 'OAuthError', code: 'access_denied', status: 401 });
}

// Each app runs in a page that refuses synchronous compilation (as older Chrome and
// Android WebViews do): the bundled entry compiles and instantiates the wasm asynchronously.
describe('tree-shaking matrix: only TokenClient / only getToken, production builds', { timeout: 180_000 }, () => {
  for (const [bundler, build] of Object.entries(BUILDERS)) {
    for (const [name, { file, check }] of Object.entries(FIXTURES)) {
      test(`${bundler}: ${name}, run in Chromium`, async () => {
        const out = join(work, `treeshake-${bundler}-${file.replace('.js', '')}`);
        const modules = (await build(join(TREESHAKE, file), out)).map((p) => p.replace(/\\/g, '/'));
        const ours = modules.filter((p) => p.includes('/node_modules/datacosmos-auth/'));
        assert.ok(ours.some((p) => p.endsWith('/node_modules/datacosmos-auth/index.js')), `the browser entry: ${ours.join(', ')}`);
        assert.ok(!ours.some((p) => /\/(node|workerd|worker)\.c?js$/.test(p)), `no Node or workerd entry: ${ours.join(', ')}`);
        const code = readFileSync(join(out, 'main.js'), 'utf8');
        // Proof that tree-shaking ran: the store adapters (unused here) are gone.
        assert.ok(!code.includes('ioredis'), 'the unused store adapters were shaken out');
        writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><title>tree-shaken</title>'
          + '<link rel="icon" href="data:,"><script type="module" src="./main.js"></script>');
        const site = await startStatic({ mounts: { '/': out } });
        try {
          const before = demo.tokenRequests();
          const ran = await runApp(`${site.url}/`, undefined, { refuse: true });
          check(ran);
          assert.equal(ran.calls.instantiate, 1, 'the wasm was instantiated once, asynchronously');
          assert.equal(demo.tokenRequests() - before, 2, 'one token request, then one for the wrong secret');
          assert.deepEqual(ran.requests.filter((u) => u.endsWith('.wasm')), [], 'the wasm is embedded: no .wasm request');
        } finally {
          await site.close();
        }
      });
    }
  }
});

describe('the whole run', () => {
  test('no request left loopback; no unexpected console errors', () => {
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems.filter((p) => !/status of 401 \(Unauthorized\)/.test(p)), []);
  });
});
