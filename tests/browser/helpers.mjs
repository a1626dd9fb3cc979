// Shared helpers of the Chromium tests: Debian's /usr/bin/chromium through
// playwright-core (no downloaded browser), one fresh profile per launch.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
export const PKG_DIR = join(ROOT, 'pkg');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts', 'browser');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const DEFAULT_AUDIENCE = 'https://beeapp.open-cosmos.com';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  // No name resolves, so nothing outside loopback can load even by mistake.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/**
 * Launches Chromium with a fresh profile. Every request any page makes is recorded in
 * `requests` (URL strings); `outside()` lists those not to 127.0.0.1 (the tests assert
 * there are none: nothing is loaded from the internet). Page errors and console errors
 * are collected in `problems`.
 *
 * No request interception (page.route): with it Playwright answers CORS preflights
 * itself, which would hide the token server's real CORS answers.
 */
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'datacosmos-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  const requests = [];
  const problems = [];
  context.on('request', (req) => requests.push(req.url()));
  const watch = (page) => {
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    requests,
    outside: () => requests.filter((u) => !/^(data:|blob:|http:\/\/127\.0\.0\.1:)/.test(u)),
    problems,
    page: () => context.newPage(),
    /** Runs `fn(page)` on a new page, closed afterwards whatever happens. */
    async withPage(fn) {
      const page = await context.newPage();
      try {
        return await fn(page);
      } finally {
        await page.close();
      }
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Asserts that a JWT has three base64url parts and returns its claims. */
export function jwtClaims(token) {
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * An init script (`page.addInitScript(wasmOnTheMainThread, { refuse })`) that counts, in
 * `window.wasmCalls`, the synchronous compilations (`new WebAssembly.Module` of more than
 * 4 KB), the synchronous instantiations (`new WebAssembly.Instance`) and the asynchronous
 * ones (`WebAssembly.instantiate`). With `refuse`, both synchronous constructors throw the
 * RangeError older Chrome and Android WebViews throw on the main thread for modules over
 * 4 KB.
 */
export function wasmOnTheMainThread({ refuse }) {
  const { Module, Instance, instantiate } = WebAssembly;
  const calls = (window.wasmCalls = { syncCompile: 0, syncInstantiate: 0, instantiate: 0 });
  const size = (b) => (ArrayBuffer.isView(b) || b instanceof ArrayBuffer ? b.byteLength : 0);
  const PatchedModule = function (bytes) {
    if (size(bytes) > 4096) {
      calls.syncCompile++;
      if (refuse) throw new RangeError('WebAssembly.Compile is disallowed on the main thread, if the buffer size is larger than 4KB. Use WebAssembly.compile, or compile on a worker thread.');
    }
    return new Module(bytes);
  };
  const PatchedInstance = function (module, imports) {
    calls.syncInstantiate++;
    if (refuse) throw new RangeError('WebAssembly.Instance is disallowed on the main thread, if the buffer size is larger than 4KB. Use WebAssembly.instantiate.');
    return new Instance(module, imports);
  };
  for (const [patched, original] of [[PatchedModule, Module], [PatchedInstance, Instance]]) {
    patched.prototype = original.prototype;
    Object.setPrototypeOf(patched, original); // Module.exports() etc.
  }
  WebAssembly.Module = PatchedModule;
  WebAssembly.Instance = PatchedInstance;
  WebAssembly.instantiate = function (...args) {
    calls.instantiate++;
    return instantiate.apply(this, args);
  };
}
