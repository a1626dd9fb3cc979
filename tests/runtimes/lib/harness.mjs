// Shared helpers of the runtime suite: where run.sh put the packed tarball and the
// consumer project it was installed into, the tool binaries, child processes, and two
// small loopback servers (counters + marks, and a token-endpoint gate).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(HERE, '..', '..');
const require = createRequire(join(HERE, 'package.json'));

function fromRunSh(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/runtimes/run.sh`);
  return value;
}

/** The consumer project (a temp dir) that has the packed tarball in node_modules. */
export const CONSUMER = fromRunSh('DCA_CONSUMER');
/** The tarball `npm pack pkg` made. */
export const TARBALL = fromRunSh('DCA_TARBALL');
/** The installed package inside the consumer. */
export const INSTALLED = join(CONSUMER, 'node_modules', 'datacosmos-auth');

export const bin = (name) => join(HERE, 'node_modules', '.bin', name);

/** The installed version of one of this suite's npm packages. */
export const packageVersion = (name) => JSON.parse(readFileSync(join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;

/**
 * The Bun binary. node_modules/.bin/bun is a placeholder until bun's postinstall has
 * run (package.json allowScripts approves it; npm --ignore-scripts would skip it), so
 * fall back to the platform package's binary, which npm installs either way.
 */
export function bunBinary() {
  const viaBin = bin('bun');
  if (spawnSync(viaBin, ['--version'], { encoding: 'utf8' }).status === 0) return viaBin;
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x64';
  const musl = process.platform === 'linux' && !process.report?.getReport()?.header?.glibcVersionRuntime ? '-musl' : '';
  const pkg = `@oven/bun-${process.platform}-${arch}${musl}`;
  const direct = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'bun');
  assert.ok(existsSync(direct), `no Bun binary: neither ${viaBin} nor ${direct} runs`);
  return direct;
}

/**
 * The ```js block that holds `marker`, from the repository's README.md and from the
 * README.md packed into the tarball (the npm page), each written into the consumer
 * project as a module. Returns [{ readme, file }].
 */
export function readmeExamples(marker) {
  const readmes = [['README.md', join(ROOT, 'README.md')], ['the packed README.md', join(INSTALLED, 'README.md')]];
  return readmes.map(([readme, path], i) => {
    const blocks = [...readFileSync(path, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes(marker));
    assert.equal(blocks.length, 1, `${readme}: one js block with ${marker}`);
    const file = `readme-${marker.replace(/\W/g, '')}-${i}.mjs`;
    writeFileSync(join(CONSUMER, file), blocks[0]);
    return { readme, file };
  });
}

/** The version a tool reports (`--version`), e.g. "2.9.6". */
export function versionOf(path) {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${path} --version: ${r.stderr}`);
  return /\d+\.\d+\.\d+\S*/.exec(r.stdout)?.[0] ?? r.stdout.trim();
}

/** The environment a child runtime gets: PATH and HOME, plus `extra`. */
export function childEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return { ...env, ...extra };
}

/** Runs a command to completion (bounded), resolving { code, signal, stdout, stderr }. */
export function run(command, args, { cwd = CONSUMER, env = childEnv(), timeoutMs = 60_000 } = {}) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); fail(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** The JSON object a consumer script printed as its last stdout line. */
export function lastJson({ code, signal, stdout, stderr }, what = 'the child') {
  const line = stdout.trim().split('\n').pop() ?? '';
  let value;
  try {
    value = JSON.parse(line);
  } catch {
    assert.fail(`${what} printed no JSON result (exit ${code ?? signal})\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
  assert.equal(code, 0, `${what} exited with ${code ?? signal}\n--- stderr\n${stderr}`);
  return value;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

const listen = async (server) => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}`;
};

/**
 * GET /counts -> JSON of every counter (so a child process can see how many token
 * requests a server has had at any point); GET /mark?id=X records a mark.
 */
export async function startStats(counters) {
  const marks = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/mark') {
      marks.push(url.searchParams.get('id'));
      for (const w of waiters.splice(0)) w();
    }
    const body = JSON.stringify(Object.fromEntries(Object.entries(counters).map(([k, f]) => [k, f()])));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const url = await listen(server);
  return {
    countsUrl: `${url}/counts`,
    markUrl: `${url}/mark`,
    marks: () => [...marks],
    async waitForMark(id, timeoutMs = 10_000) {
      const limit = Date.now() + timeoutMs;
      while (!marks.includes(id)) {
        assert.ok(Date.now() < limit, `mark ${id} never arrived`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A forwarding proxy in front of a token endpoint that counts requests and, while
 * held, keeps every answer back until release(): it makes "concurrent callers while
 * an exchange is in flight" a certainty rather than a race.
 */
export async function startGate(upstreamUrl) {
  let held = false;
  let requests = 0;
  let abandoned = 0;
  let pending = [];
  const server = http.createServer(async (req, res) => {
    requests += 1;
    // The client closed the connection before it had the answer.
    res.on('close', () => { if (!res.writableFinished) abandoned += 1; });
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const answer = await fetch(upstreamUrl, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
    const text = await answer.text();
    const send = () => {
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    };
    if (held) pending.push(send); else send();
  });
  const url = await listen(server);
  return {
    tokenUrl: `${url}/oauth/token`,
    requests: () => requests,
    abandoned: () => abandoned,
    pending: () => pending.length,
    hold() { held = true; },
    release() {
      held = false;
      for (const send of pending.splice(0)) send();
    },
    async waitForPending(n, timeoutMs = 10_000) {
      const limit = Date.now() + timeoutMs;
      while (pending.length < n) {
        assert.ok(Date.now() < limit, `expected ${n} held token request(s), have ${pending.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      held = false;
      pending = [];
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Checks the JSON report of consumer/scenario.mjs (the same scenario for Node ESM,
 * Node CJS, Deno and Bun).
 */
export function checkScenario(report, { entry }) {
  assert.match(report.resolved, new RegExp(`/node_modules/datacosmos-auth/${entry.replace('.', '\\.')}$`),
    `resolved from the installed tarball, entry ${entry}`);
  assert.ok(!report.resolved.includes('/pkg/'), 'not the repo pkg/ directory');
  for (const name of ['TokenClient', 'getToken', 'OAuthError']) assert.ok(report.exports.includes(name), `exports ${name}`);

  // Cache: the second call is served without a token request.
  assert.deepEqual(report.cache.requests, [1, 0], 'first getToken: one request; second: none');
  assert.equal(report.cache.same, true, 'the cached token is the same');
  assert.ok(report.cache.tokenLength > 10);
  assert.deepEqual(report.info, { tokenType: 'Bearer', expiresInAbout600s: true, headerMatches: true });

  // Single flight within one process.
  assert.deepEqual(report.concurrent, { callers: 5, distinct: 1, requests: 1 });
  // client_secret_basic with a secret holding ':', '%', '+', ' ', '&', '='.
  assert.deepEqual(report.weird, { ok: true, requests: 1 });
  // One-shot getToken(config): module-level cache.
  assert.deepEqual(report.oneShot, { same: true, requests: 1 });
  // fromEnv() with no argument: the runtime's own environment.
  assert.deepEqual(report.fromEnv, { ok: true, requests: 1 });

  // OAuthError from the server (wrong secret), never retried, secret not leaked.
  assert.deepEqual(report.wrongSecret, {
    rejected: true, instanceOfOAuthError: true, instanceOfError: true, name: 'OAuthError',
    code: 'invalid_client', status: 401, leaked: false, requests: 1,
  });
  assert.deepEqual(report.invalidConfig, { threwSynchronously: true, instanceOfOAuthError: true, code: 'invalid_config' });
  assert.deepEqual(report.network, { instanceOfOAuthError: true, code: 'network_error', status: null });
}

/**
 * oidc-provider plus the counters server, and the environment a scenario child
 * needs: SCENARIO_* inputs and DATACOSMOS_* for fromEnv() (the `post` client).
 */
export async function startScenarioServers() {
  const { startOidc } = await import('../../servers/oidc.mjs');
  const oidc = await startOidc();
  const stats = await startStats({ oidc: () => oidc.tokenRequests() });
  const { post, basic, weird } = oidc.clients;
  const env = {
    SCENARIO_TOKEN_URL: oidc.tokenUrl,
    SCENARIO_COUNTS_URL: stats.countsUrl,
    SCENARIO_CLOSED_URL: `http://127.0.0.1:${await closedPort()}/oauth/token`,
    SCENARIO_POST_ID: post.clientId,
    SCENARIO_POST_SECRET: post.clientSecret,
    SCENARIO_BASIC_ID: basic.clientId,
    SCENARIO_BASIC_SECRET: basic.clientSecret,
    SCENARIO_WEIRD_ID: weird.clientId,
    SCENARIO_WEIRD_SECRET: weird.clientSecret,
    DATACOSMOS_CLIENT_ID: post.clientId,
    DATACOSMOS_CLIENT_SECRET: post.clientSecret,
    DATACOSMOS_TOKEN_URL: oidc.tokenUrl,
  };
  return {
    oidc,
    stats,
    env,
    async close() {
      await stats.close();
      await oidc.close();
    },
  };
}
