// A fault-injecting HTTP proxy on 127.0.0.1, put in front of a token endpoint.
//
// Each incoming request is recorded in `requests` ({ method, url, headers, body })
// and then takes the next queued fault; with the queue empty it is forwarded to
// the target unchanged (method, path, body and headers, Authorization included).
//
// Faults:
//   { status, body?, headers? }   answer with that status; an object body is sent as JSON
//   { json: {...}, status? }      application/json with that JSON (status 200 by default)
//   { raw: 'text', headers? }     200 with that text (content-type application/json by default)
//   { oversize: true }            200 with a 2 MiB JSON body that is otherwise valid
//   { stall: true }               read the request, never answer
//   { stallBody: true }           send 200 headers and part of a body, never finish it
//   { drop: true }                destroy the socket without answering
//   { reply: (request) => fault } the fault made from this request (e.g. echoing a header)
import http from 'node:http';

const HOP_BY_HOP = ['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'];

/** @param {{ target: string }} opts target: the token endpoint URL */
export async function startFaultProxy({ target }) {
  const targetUrl = new URL(target);
  const faults = [];
  const requests = [];

  // A client that goes away mid-request rejects the body iteration: just drop it.
  const server = http.createServer((req, res) => handle(req, res).catch(() => res.destroy()));

  async function handle(req, res) {
    res.on('error', () => {});
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8') });

    let fault = faults.shift();
    if (typeof fault?.reply === 'function') fault = fault.reply(requests.at(-1));
    if (!fault) return forward(req, body, res);
    if (fault.drop) return req.socket.destroy();
    if (fault.stall) return undefined;
    if (fault.stallBody) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"partial');
      return undefined;
    }
    if (fault.oversize) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const filler = 'a'.repeat(64 * 1024);
      res.write('{"token_type":"Bearer","expires_in":3600,"access_token":"');
      for (let i = 0; i < 32 && !res.destroyed; i += 1) res.write(filler); // 2 MiB
      return res.end('"}');
    }
    if (fault.json !== undefined) {
      return send(res, fault.status ?? 200, { 'content-type': 'application/json', ...fault.headers }, JSON.stringify(fault.json));
    }
    if (fault.raw !== undefined) {
      return send(res, 200, { 'content-type': 'application/json', ...fault.headers }, fault.raw);
    }
    const isObject = fault.body !== null && typeof fault.body === 'object';
    const text = isObject ? JSON.stringify(fault.body) : String(fault.body ?? '');
    const type = isObject ? 'application/json' : 'text/plain';
    return send(res, fault.status ?? 500, { 'content-type': type, ...fault.headers }, text);
  }

  function send(res, status, headers, text) {
    res.writeHead(status, headers);
    res.end(text);
  }

  function forward(req, body, res) {
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    headers['content-length'] = String(body.length);
    const upstream = http.request(
      { host: targetUrl.hostname, port: targetUrl.port, path: req.url, method: req.method, headers },
      (up) => {
        const out = { ...up.headers };
        for (const name of HOP_BY_HOP) delete out[name];
        res.writeHead(up.statusCode, out);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    tokenUrl: `${url}${targetUrl.pathname}`,
    requests,
    queue(...more) { faults.push(...more); },
    clearQueue() { faults.length = 0; },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
