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
