// A small static file server on 127.0.0.1, for `make demo` (the www page and the
// package's ./web entry) and the browser tests. node: built-ins only.
//
//   startStatic({ mounts: { '/': 'www', '/pkg/': 'pkg' }, files: { '/demo-config.json': {...} } })
//
// GET and HEAD only. A URL path is percent-decoded, resolved inside its mount's
// directory and served only if the real path (symlinks followed) is still inside it:
// `..`, encoded `%2e%2e` or `%2f`, backslashes, NUL bytes and symlinks out of a mount
// are all 404. A directory serves its index.html. Content types are explicit
// (application/wasm, text/javascript, ...), with `nosniff`.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.cts': 'text/plain; charset=utf-8',
};

/**
 * @param {{ mounts: Record<string, string>, files?: Record<string, unknown>,
 *           headers?: Record<string, string>, port?: number }} opts
 *   mounts: URL prefix (ending in `/`) -> directory; the longest prefix wins.
 *   files: exact URL path -> a value served as JSON (or a string served as text/plain).
 *   headers: extra headers on every HTML response (e.g. a Content-Security-Policy).
 */
export async function startStatic({ mounts, files = {}, headers = {}, port = 0 }) {
  const roots = await Promise.all(Object.entries(mounts).map(async ([prefix, dir]) => {
    if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`mount prefix must start and end with "/": ${prefix}`);
    return { prefix, dir: await realpath(resolve(dir)) };
  }));
  roots.sort((a, b) => b.prefix.length - a.prefix.length);

  const server = http.createServer((req, res) => {
    serve(req, res).catch(() => {
      if (res.headersSent) return res.destroy();
      send(res, 500, 'text/plain; charset=utf-8', 'Internal error');
    });
  });

  async function serve(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', { allow: 'GET, HEAD' });
    }
    const notFound = () => send(res, 404, 'text/plain; charset=utf-8', 'Not found');
    const rawPath = (req.url ?? '/').split('?')[0].split('#')[0];
    if (Object.hasOwn(files, rawPath)) {
      const value = files[rawPath];
      return typeof value === 'string'
        ? send(res, 200, MIME['.txt'], value)
        : send(res, 200, MIME['.json'], JSON.stringify(value));
    }
    let path;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return notFound();
    }
    if (!path.startsWith('/') || path.includes('\0') || path.includes('\\')) return notFound();
    const root = roots.find((r) => path.startsWith(r.prefix) || `${path}/` === r.prefix);
    if (!root) return notFound();
    if (`${path}/` === root.prefix) return redirect(res, `${root.prefix}`);
    const rest = path.slice(root.prefix.length);
    if (rest.split('/').some((part) => part === '..')) return notFound();

    let file = resolve(root.dir, `.${sep}${rest}`);
    if (!inside(root.dir, file)) return notFound();
    let info;
    try {
      file = await realpath(file);
      if (!inside(root.dir, file)) return notFound();
      info = await stat(file);
      if (info.isDirectory()) {
        if (!rawPath.endsWith('/')) return redirect(res, `${rawPath}/`);
        file = await realpath(join(file, 'index.html'));
        if (!inside(root.dir, file)) return notFound();
        info = await stat(file);
      }
    } catch {
      return notFound();
    }
    if (!info.isFile()) return notFound();
    const type = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'content-type': type,
      'content-length': info.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(type.startsWith('text/html') ? headers : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }

  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

/**
 * The policy the www page is served with: scripts only from this origin, plus
 * 'wasm-unsafe-eval', which the ./web entry needs to compile its embedded WebAssembly.
 * connect-src: this origin, loopback token servers and any https: endpoint.
 */
export const WWW_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http://127.0.0.1:* http://localhost:* http://*.localhost:* https:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The token inspector as `make demo` serves it: www/ at /, pkg/ at /pkg/, and at
 * /demo-config.json the `demoConfig` (token URL, client id and secret of the embedded
 * demo server, resource URL) for the page to pre-fill its form, or `{}` without one.
 */
export function startWww({ demoConfig, port = 0 } = {}) {
  return startStatic({
    mounts: { '/': join(ROOT, 'www'), '/pkg/': join(ROOT, 'pkg') },
    files: { '/demo-config.json': demoConfig ?? {} },
    headers: { 'content-security-policy': WWW_CSP },
    port,
  });
}

const inside = (root, file) => file === root || file.startsWith(root + sep);

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

function redirect(res, location) {
  res.writeHead(301, { location, 'content-length': 0 });
  res.end();
}

// `node tests/servers/static.mjs DIR [--port N]`: serves DIR at / until SIGINT/SIGTERM.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--port');
  const port = at > 0 ? Number(process.argv[at + 1]) : 0;
  const dir = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '.';
  const server = await startStatic({ mounts: { '/': dir }, port });
  process.stdout.write(`${server.url}/\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
