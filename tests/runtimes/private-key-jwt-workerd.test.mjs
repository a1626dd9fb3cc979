// authMethod "private_key_jwt" in workerd (miniflare): a Worker that imports the package's
// workerd entry and the opt-in signer (`datacosmos-auth/private-key-jwt`, here by path:
// pkg/ as built, no tarball) gets a token from oidc-provider over loopback; a Worker
// without that import fails with invalid_config naming it, and its bundle does not
// carry pkg/assertion.js. Runs alone: `node --test tests/runtimes/private-key-jwt-workerd.test.mjs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { startOidcPrivateKeyJwt } from '../servers/oidc-pkjwt.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg');
const COMPATIBILITY_DATE = '2026-04-26'; // as lib/workerd.mjs

const worker = (signer) => `
import { TokenClient } from ${JSON.stringify(join(PKG, 'workerd.js'))};
${signer ? `import ${JSON.stringify(join(PKG, 'private-key-jwt.js'))};` : ''}
export default {
  async fetch(request) {
    const { config } = await request.json();
    try {
      const client = new TokenClient({ ...config, authMethod: "private_key_jwt", audience: null });
      const events = [];
      const again = new TokenClient({ ...config, authMethod: "private_key_jwt", audience: null, onEvent: (e) => events.push(e) });
      const token = await client.getToken();
      let second;
      try { await again.getToken(); } catch (err) { second = { code: err.code, text: [err.message, String(err.stack), JSON.stringify(err)].join(" ") }; }
      return Response.json({ userAgent: navigator.userAgent, token, second, events });
    } catch (err) {
      return Response.json({ userAgent: navigator.userAgent, error: { code: err.code, text: [err.message, String(err.stack), JSON.stringify(err)].join(" ") } });
    }
  },
};`;

/** Bundles `source` as wrangler would; resolves { mf, inputs }. */
async function start(source) {
  const out = await build({
    stdin: { contents: source, resolveDir: ROOT, sourcefile: 'worker.js' },
    bundle: true, format: 'esm', write: false, metafile: true, logLevel: 'error',
    external: ['*.wasm', 'cloudflare:*'],
  });
  const code = out.outputFiles[0].text;
  const wasmSpec = out.metafile.outputs[Object.keys(out.metafile.outputs)[0]].imports.find((i) => i.path.endsWith('.wasm')).path;
  const mf = new Miniflare({
    cf: false,
    modulesRoot: ROOT,
    modules: [
      { type: 'ESModule', path: join(ROOT, 'worker.js'), contents: code },
      { type: 'CompiledWasm', path: join(ROOT, wasmSpec), contents: readFileSync(join(PKG, 'datacosmos_auth_bg.wasm')) },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
  });
  await mf.ready;
  return { mf, inputs: Object.keys(out.metafile.inputs) };
}

let oidc;
const workers = [];
before(async () => {
  oidc = await startOidcPrivateKeyJwt();
});
after(async () => {
  for (const w of workers) await w.mf.dispose();
  await oidc?.close();
});

async function call(w, config) {
  const res = await w.mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify({ config }) });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.userAgent, 'Cloudflare-Workers', 'it ran in workerd');
  return body;
}

const keyMaterial = (pair) => [...pair.pkcs8.split('\n').slice(1, -2), pair.jwk.d];

describe('private_key_jwt in workerd', { timeout: 90_000 }, () => {
  test('with the signer imported: tokens for an RSA PEM (RS256, PS256) and an EC JWK (ES256)', async () => {
    const w = await start(worker(true));
    workers.push(w);
    assert.ok(w.inputs.some((p) => p.endsWith('pkg/assertion.js')), 'the signer brings pkg/assertion.js');
    const { rsa, ec } = oidc.keys;
    for (const [privateKey, signingAlgorithm, keyId] of [[rsa.pkcs8, 'RS256', rsa.keyId], [rsa.pkcs1, 'PS256', rsa.keyId], [ec.jwk, 'ES256', ec.keyId]]) {
      const body = await call(w, { clientId: oidc.clientId, tokenUrl: oidc.tokenUrl, privateKey, signingAlgorithm, keyId });
      assert.equal(body.error, undefined, JSON.stringify(body.error));
      assert.equal(typeof body.token, 'string', signingAlgorithm);
      assert.equal(body.second, undefined, 'a second client (a new assertion, a new jti) gets a token too');
    }
  });

  test('a key the server does not know: invalid_client, no key material', async () => {
    const w = workers[0] ?? await start(worker(true));
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = other.export({ type: 'pkcs8', format: 'pem' });
    const body = await call(w, { clientId: oidc.clientId, tokenUrl: oidc.tokenUrl, privateKey: pem, signingAlgorithm: 'ES256', keyId: 'ec-1' });
    assert.equal(body.error?.code, 'invalid_client', JSON.stringify(body));
    const secrets = [...pem.split('\n').slice(1, -2), other.export({ format: 'jwk' }).d];
    assert.ok(!secrets.some((s) => body.error.text.includes(s)), 'no key material in the error');
    assert.ok(!secrets.some((s) => JSON.stringify(body.events ?? []).includes(s)), 'nor in events');
  });

  test('without the signer import: invalid_config naming it, and no assertion.js in the bundle', async () => {
    const w = await start(worker(false));
    workers.push(w);
    assert.ok(!w.inputs.some((p) => p.endsWith('pkg/assertion.js') || p.endsWith('pkg/private-key-jwt.js')), 'the key parser is not bundled');
    const body = await call(w, { clientId: oidc.clientId, tokenUrl: oidc.tokenUrl, privateKey: oidc.keys.rsa.pkcs8 });
    assert.equal(body.error?.code, 'invalid_config');
    assert.match(body.error.text, /import "datacosmos-auth\/private-key-jwt"/);
    assert.ok(!keyMaterial(oidc.keys.rsa).some((s) => body.error.text.includes(s)), 'no key material in the error');
  });
});
