// Shared helpers for the Node integration tests of the `datacosmos-auth` package.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG_DIR = join(ROOT, 'pkg');
export const CLI = join(PKG_DIR, 'cli.js');
export const DEFAULT_AUDIENCE = 'https://beeapp.open-cosmos.com';
export const GRANT = 'client_credentials';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** application/x-www-form-urlencoded decoding of one Basic credential part (RFC 6749 §2.3.1). */
export const formDecode = (part) => decodeURIComponent(part.replace(/\+/g, '%20'));

/** Splits a `Basic ...` header into its raw (still form-encoded) id and secret. */
export function rawBasic(header) {
  assert.match(header ?? '', /^Basic [A-Za-z0-9+/]+=*$/, 'a Basic authorization header');
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return { id: text.slice(0, colon), secret: text.slice(colon + 1) };
}

/** Parses a request body recorded by the fault proxy. */
export function bodyParams(request) {
  const type = request.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return JSON.parse(request.body);
  return Object.fromEntries(new URLSearchParams(request.body));
}

/** Decodes a JWT's claims without verifying it. */
export const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

/** An unsigned JWT with those claims (for responses made up by the fault proxy). */
export function fakeJwt(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/**
 * Awaits `promiseOrFn` (a promise, or a function returning one) and asserts it
 * rejects with an OAuthError matching `expected` ({ code, status, ... }).
 * Returns the error.
 */
export async function rejectsOAuth(OAuthError, promiseOrFn, expected) {
  let error;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected a rejection with code ${expected.code}`);
  assertOAuthError(OAuthError, error, expected);
  return error;
}

/** Asserts that `fn` throws an OAuthError synchronously; returns it. */
export function throwsOAuth(OAuthError, fn, expected) {
  let error;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected a synchronous throw with code ${expected.code}`);
  assertOAuthError(OAuthError, error, expected);
  return error;
}

export function assertOAuthError(OAuthError, error, expected) {
  assert.ok(error instanceof OAuthError, `an OAuthError, got ${util.inspect(error)}`);
  assert.ok(error instanceof Error, 'an Error');
  assert.equal(error.name, 'OAuthError');
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(error[key], value, `err.${key} (${error.code}: ${error.message})`);
  }
}

/** Every rendering of an error that a log line or a response could carry. */
export function errorRenderings(err) {
  return {
    message: String(err.message),
    stack: String(err.stack),
    string: String(err),
    json: JSON.stringify(err),
    inspect: util.inspect(err, { depth: 10, showHidden: true }),
    description: String(err.description),
    uri: String(err.uri),
  };
}

/**
 * Asserts none of `secrets` appears in any rendering of `err`. The failure message
 * shows the rendering with the secret masked, so that the test report itself
 * (which another test may be capturing) never carries it.
 */
export function assertNoSecret(err, ...secrets) {
  for (const [where, text] of Object.entries(errorRenderings(err))) {
    for (const secret of secrets) {
      if (text.includes(secret)) {
        assert.fail(`a secret appears in err ${where}: ${text.split(secret).join('<SECRET>')}`);
      }
    }
  }
}

/**
 * Records everything written through console.* and process.stdout/stderr until
 * `restore()`; writes still reach the real streams (the test runner uses them).
 */
export function captureOutput() {
  const chunks = [];
  const saved = [];
  for (const name of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
    const original = console[name];
    saved.push(() => { console[name] = original; });
    console[name] = (...args) => {
      chunks.push(util.format(...args));
      return original.apply(console, args);
    };
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    saved.push(() => { stream.write = original; });
    stream.write = function write(chunk, ...rest) {
      chunks.push(String(chunk));
      return original.call(this, chunk, ...rest);
    };
  }
  return {
    text: () => chunks.join('\n'),
    restore: () => { for (const undo of saved.reverse()) undo(); },
  };
}

/** A Cloudflare-KV-like TokenStore over a Map, logging every call. */
export function memoryStore() {
  const map = new Map();
  const calls = [];
  return {
    map,
    calls,
    async get(key) {
      calls.push(['get', key]);
      return map.has(key) ? map.get(key) : null;
    },
    async put(key, value, options) {
      calls.push(['put', key, value, options]);
      map.set(key, value);
    },
    async delete(key) {
      calls.push(['delete', key]);
      map.delete(key);
    },
  };
}

/** A temporary directory removed by `cleanup()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'datacosmos-auth-test-'));
  return {
    dir,
    write(name, contents) {
      const path = join(dir, name);
      writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents), { mode: 0o600 });
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The DataCosmos credentials file format. */
export const credentialsFile = ({ clientId, clientSecret }, audience = DEFAULT_AUDIENCE) => ({
  client_id: clientId,
  client_secret: clientSecret,
  audience,
  grant_type: GRANT,
});

/** An environment with none of the variables the package reads. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(DATACOSMOS_|AUTHENTICATION__)/.test(key) && !key.startsWith('NODE_TEST')) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command (default: `node <cli.js>`) to completion, bounded in time, in
 * `cwd` (the CLI falls back to ./data_cosmos_api_credentials.json there).
 * Resolves { code, signal, stdout, stderr }.
 */
export function run(args, {
  env = cleanEnv(), command = process.execPath, cwd = tmpdir(), timeoutMs = 20_000, input,
} = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

export const runCli = (args, opts) => run([CLI, ...args], opts);

/** A loopback URL on which nothing listens (connection refused). */
export async function closedPortUrl() {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}/oauth/token`;
}

let counter = 0;
/** A distinct client id per call, so module-level caches never collide across tests. */
export const uniqueId = (prefix = 'client') => `${prefix}-${process.pid}-${(counter += 1)}`;
