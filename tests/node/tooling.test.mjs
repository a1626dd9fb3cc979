// `datacosmos-auth proxy` and `datacosmos-auth exec`, run as child processes of the
// CLI against a protected resource on loopback whose tokens come from the demo
// token server (tests/servers/demo.mjs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { CLI, cleanEnv, runCli, sleep } from './helpers.mjs';

const client = { clientId: 'tooling', clientSecret: 'tooling-secret-4e07408562bedb8b60ce05c1decfe3ad' };
const ALLOWED = 'http://allowed.example:8080';
const MB = 1024 * 1024;
const TRANSFER = 200 * MB;

let demo;
let resource;
before(async () => {
  demo = await startDemo({ clients: [client] });
  resource = await startResource(demo);
});
after(async () => {
  await resource?.close();
  await demo?.close();
});

const env = (extra = {}) => cleanEnv({
  DATACOSMOS_CLIENT_ID: client.clientId,
  DATACOSMOS_CLIENT_SECRET: client.clientSecret,
  DATACOSMOS_TOKEN_URL: demo.tokenUrl,
  ...extra,
});

/**
 * A protected resource on 127.0.0.1: a request is served when its bearer is a token
 * the demo resource accepts (asked once per token) and not revoked here; else 401.
 *   GET  /api/data/v0/stac/collections   JSON
 *   GET  /download?bytes=N               N bytes, streamed with backpressure
 *   PUT  /upload, POST /search           the body's length (and /search its text)
 *   GET  /headers                        the request headers it received, answered
 *                                        with hop-by-hop, cookie and CORS headers
 *   GET  /redirect                       302 to its own collections URL
 */
async function startResource(tokens) {
  const verdicts = new Map();
  const revoked = new Set();
  const seen = []; // { method, path, token, status }
  const valid = (token) => {
    if (!verdicts.has(token)) {
      verdicts.set(token, fetch(tokens.resourceUrl, { headers: { authorization: `Bearer ${token}` } })
        .then(async (r) => { await r.arrayBuffer(); return r.status === 200; }));
    }
    return verdicts.get(token);
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const record = { method: req.method, path: url.pathname, token, status: 401 };
    seen.push(record);
    if (!token || revoked.has(token) || !(await valid(token))) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-length': 0 });
      return res.end();
    }
    record.status = 200;
    const json = (body, headers = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      return pipeline(Readable.from(chunks(total)), res).catch(() => {});
    }
    if (url.pathname === '/upload' || url.pathname === '/search') {
      let bytes = 0;
      let text = '';
      for await (const chunk of req) {
        bytes += chunk.length;
        if (url.pathname === '/search') text += chunk;
      }
      return json({ bytes, text });
    }
    if (url.pathname === '/headers') {
      return json(req.headers, {
        connection: 'keep-alive, x-resp-hop', 'x-resp-hop': '1', 'set-cookie': 'session=upstream', 'access-control-allow-origin': '*', 'x-resp-kept': 'yes',
      });
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: `${origin()}/api/data/v0/stac/collections`, 'content-length': 0 });
      return res.end();
    }
    return json({ collections: [{ id: 'menut-l1b' }], links: [] });
  });
  let connections = 0;
  server.on('connection', () => { connections += 1; });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = () => `http://127.0.0.1:${server.address().port}`;
  return {
    url: origin(),
    seen,
    connections: () => connections,
    /** Upstream rejects every token seen so far (as after a key rotation). */
    revokeAll() { for (const { token } of seen) revoked.add(token); },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function* chunks(total, size = 64 * 1024) {
  const block = Buffer.alloc(size, 0x61);
  for (let sent = 0; sent < total; sent += size) yield sent + size <= total ? block : block.subarray(0, total - sent);
}

/** Starts `datacosmos-auth proxy` (a child process); resolves once it listens. */
async function startProxy(args = [], extraEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'proxy', '--port', '0', '--target', resource.url, ...args], {
    env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', () => {
      const m = /proxy listening on (http:\/\/\S+) -> /.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${stderr}`)));
  });
  return {
    url,
    pid: child.pid,
    stderr: () => stderr,
    async stop() {
      const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** One request with node:http (any header, any method), body streamed from `body`. */
function request(base, path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, async (res) => {
      let bytes = 0;
      const parts = [];
      res.on('data', (c) => { bytes += c.length; if (parts.length < 16) parts.push(c); });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else pipeline(body, req).catch(reject);
  });
}

/** Samples VmRSS (kB) of `pid` every 20 ms while `work` runs; resolves { result, peakMb }. */
async function sampleRss(pid, work) {
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  let peak = rss();
  const timer = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
  try {
    const result = await work();
    peak = Math.max(peak, rss());
    return { result, peakMb: peak / 1024 };
  } finally {
    clearInterval(timer);
  }
}

describe('datacosmos-auth proxy', { timeout: 120_000 }, () => {
  let proxy;
  before(async () => { proxy = await startProxy(['--cors', ALLOWED]); });
  after(async () => { await proxy?.stop(); });

  test('200 concurrent requests share one token request, each carries the bearer', async () => {
    const tokenRequests = demo.tokenRequests();
    const from = resource.seen.length;
    const answers = await Promise.all(Array.from({ length: 200 }, async () => {
      const res = await fetch(`${proxy.url}/api/data/v0/stac/collections`);
      return { status: res.status, body: await res.json() };
    }));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(answers[199].body.collections[0].id, 'menut-l1b');
    assert.equal(demo.tokenRequests() - tokenRequests, 1, 'one token request');
    const upstream = resource.seen.slice(from);
    assert.equal(upstream.length, 200);
    assert.equal(new Set(upstream.map((r) => r.token)).size, 1, 'one token for all');
  });

  test('upstream connections are kept alive: 20 requests in a row use at most one new connection', async () => {
    const before = resource.connections();
    for (let i = 0; i < 20; i += 1) assert.equal((await request(proxy.url, '/api/data/v0/stac/collections')).status, 200);
    assert.ok(resource.connections() - before <= 1, `${resource.connections() - before} new connections`);
  });

  test('a 401 from upstream: one renewal and one retry (also for 20 concurrent requests and a small body)', async () => {
    resource.revokeAll();
    let tokenRequests = demo.tokenRequests();
    let from = resource.seen.length;
    const res = await request(proxy.url, '/api/data/v0/stac/collections');
    assert.equal(res.status, 200);
    assert.equal(demo.tokenRequests() - tokenRequests, 1, 'one renewal');
    assert.deepEqual(resource.seen.slice(from).map((r) => r.status), [401, 200], 'one retry');

    resource.revokeAll();
    tokenRequests = demo.tokenRequests();
    from = resource.seen.length;
    const many = await Promise.all(Array.from({ length: 20 }, () => request(proxy.url, '/api/data/v0/stac/collections')));
    assert.deepEqual(new Set(many.map((r) => r.status)), new Set([200]));
    assert.equal(demo.tokenRequests() - tokenRequests, 1, 'one renewal for all 20');
    // Each request is rejected at most once and retried once; a request that asks for
    // its header after the renewal started waits for it and is never rejected.
    const statuses = resource.seen.slice(from).map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 20, 'every request served once');
    assert.ok(statuses.filter((s) => s === 401).length >= 1, 'at least the first was rejected');
    assert.ok(statuses.length <= 40, 'never more than one retry each');

    resource.revokeAll();
    tokenRequests = demo.tokenRequests();
    from = resource.seen.length;
    const search = await request(proxy.url, '/search', { method: 'POST', body: '{"collections":["menut-l1b"]}', headers: { 'content-type': 'application/json' } });
    assert.equal(search.status, 200);
    assert.equal(JSON.parse(search.text).text, '{"collections":["menut-l1b"]}', 'the body replayed whole');
    assert.deepEqual(resource.seen.slice(from).map((r) => r.status), [401, 200]);
    assert.equal(demo.tokenRequests() - tokenRequests, 1);
  });

  test('a 401 on a streamed (chunked) body is returned as it is; the token is renewed for the next request', async () => {
    resource.revokeAll();
    const tokenRequests = demo.tokenRequests();
    const from = resource.seen.length;
    const res = await request(proxy.url, '/upload', { method: 'PUT', body: Readable.from(chunks(256 * 1024)) });
    assert.equal(res.status, 401);
    assert.deepEqual(resource.seen.slice(from).map((r) => r.status), [401], 'not replayed');
    const next = await request(proxy.url, '/api/data/v0/stac/collections');
    assert.equal(next.status, 200);
    assert.deepEqual(resource.seen.slice(from).map((r) => r.status), [401, 200]);
    assert.equal(demo.tokenRequests() - tokenRequests, 1);
  });

  test('the client\'s Authorization, Cookie and hop-by-hop headers are not forwarded; upstream hop-by-hop, Set-Cookie and CORS are not returned', async () => {
    const res = await request(proxy.url, '/headers', {
      headers: {
        authorization: 'Bearer from-the-client',
        cookie: 'session=client',
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic eDp5',
        'x-kept': 'yes',
      },
    });
    assert.equal(res.status, 200);
    const received = JSON.parse(res.text);
    assert.match(received.authorization, /^Bearer eyJ/);
    for (const name of ['cookie', 'x-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(received[name], undefined, name);
    assert.equal(received['x-kept'], 'yes');
    assert.equal(received.host, new URL(resource.url).host);
    for (const name of ['x-resp-hop', 'set-cookie', 'access-control-allow-origin']) assert.equal(res.headers[name], undefined, name);
    assert.equal(res.headers['x-resp-kept'], 'yes');
  });

  test('an upstream redirect to itself points at the proxy', async () => {
    const res = await request(proxy.url, '/redirect');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `${proxy.url}/api/data/v0/stac/collections`);
  });

  test('CORS: a preflight from an allowed origin is answered, from another origin refused; neither reaches upstream', async () => {
    const from = resource.seen.length;
    const preflight = (origin) => request(proxy.url, '/search', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    const ok = await preflight(ALLOWED);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED);
    assert.match(ok.headers['access-control-allow-methods'], /POST/);
    assert.equal(ok.headers['access-control-allow-headers'], 'content-type');
    const refused = await preflight('http://evil.example');
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(resource.seen.length, from, 'preflights are answered by the proxy');

    const get = await request(proxy.url, '/api/data/v0/stac/collections', { headers: { origin: ALLOWED } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], ALLOWED);
    assert.match(get.headers.vary, /Origin/);
    const cross = await request(proxy.url, '/api/data/v0/stac/collections', { headers: { origin: 'http://evil.example' } });
    assert.equal(cross.status, 403, 'another origin\'s page cannot use the token');
    assert.equal(resource.seen.length - from, 1);
  });

  test('a cross-site request without Origin (an <img> of another page) is refused by its Sec-Fetch-Site', async () => {
    const from = resource.seen.length;
    for (const site of ['cross-site', 'same-site']) {
      const res = await request(proxy.url, '/api/data/v0/stac/collections', { headers: { 'sec-fetch-site': site } });
      assert.equal(res.status, 403, site);
    }
    const tool = await request(proxy.url, '/api/data/v0/stac/collections', { headers: { 'sec-fetch-site': 'none' } });
    assert.equal(tool.status, 200, 'a typed URL or a tool still works');
    assert.equal(resource.seen.length - from, 1);
  });

  test('a Host that is not loopback is refused (DNS rebinding)', async () => {
    const from = resource.seen.length;
    const res = await request(proxy.url, '/api/data/v0/stac/collections', { headers: { host: 'rebound.example:8787' } });
    assert.equal(res.status, 403);
    assert.equal(resource.seen.length, from);
  });

  test('a 200 MB download and a 200 MB upload stream through with RSS growth under 60 MB', async (t) => {
    // Warm up (token, connections, buffers) before the baseline.
    await request(proxy.url, `/download?bytes=${8 * MB}`);
    await request(proxy.url, '/upload', { method: 'PUT', body: Readable.from(chunks(8 * MB)) });
    const baseline = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proxy.pid}/status`, 'utf8'))[1]) / 1024;
    const down = await sampleRss(proxy.pid, () => request(proxy.url, `/download?bytes=${TRANSFER}`));
    assert.equal(down.result.status, 200);
    assert.equal(down.result.bytes, TRANSFER);
    const up = await sampleRss(proxy.pid, () => request(proxy.url, '/upload', { method: 'PUT', body: Readable.from(chunks(TRANSFER)) }));
    assert.equal(up.result.status, 200);
    assert.equal(JSON.parse(up.result.text).bytes, TRANSFER);
    const report = `baseline ${baseline.toFixed(1)} MB, download peak ${down.peakMb.toFixed(1)} MB, upload peak ${up.peakMb.toFixed(1)} MB`;
    t.diagnostic(`proxy RSS: ${report}`);
    assert.ok(down.peakMb - baseline < 60, report);
    assert.ok(up.peakMb - baseline < 60, report);
  });

  test('one log line per request: method, path without query, status, duration; no token, no secret', async () => {
    await request(proxy.url, '/api/data/v0/stac/collections?token=in-the-query&x=1');
    await sleep(50);
    const log = proxy.stderr();
    assert.match(log, /^GET \/api\/data\/v0\/stac\/collections 200 \d+ms$/m);
    assert.ok(!log.includes('in-the-query'), 'the query string is logged');
    assert.ok(!log.includes(client.clientSecret));
    for (const token of new Set(resource.seen.map((r) => r.token))) assert.ok(!log.includes(token), 'a token is logged');
    assert.doesNotMatch(log, /authorization|bearer/i);
  });
});

describe('datacosmos-auth proxy options', { timeout: 30_000 }, () => {
  test('a non-loopback --host without --allow-remote: exit 2, nothing listens', async () => {
    for (const host of ['0.0.0.0', '192.0.2.1', 'example.com', '::']) {
      const result = await runCli(['proxy', '--port', '0', '--host', host], { env: env() });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--allow-remote/);
      assert.doesNotMatch(result.stderr, /listening/);
    }
  });

  test('--allow-remote: a warning before listening', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: the listen fails (exit 1)
    // after the warning, and nothing is bound beyond loopback.
    const result = await runCli(['proxy', '--port', '0', '--host', '192.0.2.1', '--allow-remote'], { env: env() });
    assert.match(result.stderr, /warning: .*192\.0\.2\.1.*token/);
    assert.equal(result.code, 1, result.stderr);
  });

  test('bad --port, --target and --cors values: exit 2', async () => {
    for (const args of [['--port', 'x'], ['--port', '70000'], ['--target', 'http://example.com'], ['--target', 'ftp://127.0.0.1/'],
      ['--target', 'https://u:p@example.com'], ['--cors', '*'], ['--cors', 'http://a.example/path']]) {
      const result = await runCli(['proxy', ...args], { env: env() });
      assert.equal(result.code, 2, `${args}: ${result.stderr}`);
    }
  });

  test('without a token the proxy answers 502 with the reason and logs the code, never the secret', async () => {
    const proxy = await startProxy([], { DATACOSMOS_CLIENT_SECRET: 'a-wrong-secret-123456789' });
    try {
      const res = await request(proxy.url, '/api/data/v0/stac/collections');
      assert.equal(res.status, 502);
      assert.equal(JSON.parse(res.text).error, 'token_unavailable');
      await sleep(50);
      assert.match(proxy.stderr(), /^GET \/api\/data\/v0\/stac\/collections 502 \d+ms \(token: access_denied\)$/m);
      assert.ok(!proxy.stderr().includes('a-wrong-secret-123456789'));
      assert.ok(!res.text.includes('a-wrong-secret-123456789'));
    } finally {
      assert.deepEqual(await proxy.stop(), { code: 0, signal: null }, 'SIGTERM stops it with status 0');
    }
  });
});

describe('datacosmos-auth exec', { timeout: 30_000 }, () => {
  const node = (script) => [process.execPath, '-e', script];
  const secrets = {
    AUTHENTICATION__CLIENT_SECRET: 'sdk-secret-1234567890',
    OC_AUTH_CLIENT_SECRET: 'oc-secret-1234567890',
    KEEP_ME: 'kept',
  };

  test('the command gets DATACOSMOS_ACCESS_TOKEN and none of the secret variables', async () => {
    const script = `console.log(JSON.stringify({ token: process.env.DATACOSMOS_ACCESS_TOKEN,
      present: ['DATACOSMOS_CLIENT_SECRET', 'AUTHENTICATION__CLIENT_SECRET', 'OC_AUTH_CLIENT_SECRET'].filter((n) => n in process.env),
      keep: process.env.KEEP_ME, id: process.env.DATACOSMOS_CLIENT_ID }))`;
    const result = await runCli(['exec', '--', ...node(script)], { env: env(secrets) });
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout);
    assert.deepEqual(seen.present, []);
    assert.equal(seen.keep, 'kept');
    assert.equal(seen.id, client.clientId);
    const res = await fetch(demo.resourceUrl, { headers: { authorization: `Bearer ${seen.token}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 200, 'the token is valid');
  });

  test('the exit status passes through (3), a signal death is 128 + signal', async () => {
    assert.equal((await runCli(['exec', '--', ...node('process.exit(3)')], { env: env() })).code, 3);
    assert.equal((await runCli(['exec', '--', ...node('process.kill(process.pid, "SIGTERM")')], { env: env() })).code, 128 + 15);
    assert.equal((await runCli(['exec', '--', ...node('process.kill(process.pid, "SIGKILL")')], { env: env() })).code, 128 + 9);
  });

  test('SIGINT and SIGTERM sent to the CLI reach the command', async () => {
    for (const signal of ['SIGINT', 'SIGTERM']) {
      const script = `process.on('${signal}', () => { console.log('got ${signal}'); process.exit(7); }); console.log('ready'); setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, [CLI, 'exec', '--', ...node(script)], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8');
      await new Promise((resolve) => child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('ready')) resolve(); }));
      const exited = new Promise((r) => child.once('exit', (code) => r(code)));
      child.kill(signal);
      assert.equal(await exited, 7, signal);
      assert.match(stdout, new RegExp(`got ${signal}`));
    }
  });

  test('no token, no command: exit 1 and the command does not run; a missing command is 127; no -- is usage (2)', async () => {
    const failed = await runCli(['exec', '--', ...node('console.log("ran")')], { env: env({ DATACOSMOS_CLIENT_SECRET: 'a-wrong-secret-123456789' }) });
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.equal((await runCli(['exec', '--', 'datacosmos-no-such-command'], { env: env() })).code, 127);
    assert.equal((await runCli(['exec', process.execPath], { env: env() })).code, 2);
  });
});
