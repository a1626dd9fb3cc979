// pkg/assertion.js (private_key_jwt client assertions, RFC 7523) executed in workerd
// through miniflare: the source module itself, not the tarball (the driver that imports
// it is not wired yet), next to a tiny worker that imports and signs with every key
// form. Node then verifies each JWS with node:crypto and has oidc-provider accept it.
// Needs no packed tarball: `node --test tests/runtimes/assertion-workerd.test.mjs` runs
// it alone once this suite's npm packages are installed.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Miniflare } from 'miniflare';
import { CLIENT_ASSERTION_TYPE } from '../../pkg/assertion.js';
import { startOidcPrivateKeyJwt } from '../servers/oidc-pkjwt.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPATIBILITY_DATE = '2026-04-26'; // as lib/workerd.mjs (which needs run.sh's environment)

const WORKER = `
import { assertionAudience, clientAssertion, importSigningKey } from "./pkg/assertion.js";
export default {
  async fetch(request) {
    const { cases, clientId, tokenUrl } = await request.json();
    const results = [];
    for (const { key, alg, keyId } of cases) {
      try {
        const signingKey = await importSigningKey(key, alg);
        const jws = await clientAssertion(signingKey, { clientId, audience: assertionAudience(tokenUrl), keyId });
        results.push({ extractable: signingKey.extractable, jws });
      } catch (err) {
        results.push({ error: { code: err.code, message: err.message, stack: String(err.stack), json: JSON.stringify(err) } });
      }
    }
    return Response.json({ userAgent: navigator.userAgent, results });
  },
};`;

let oidc;
let mf;
before(async () => {
  oidc = await startOidcPrivateKeyJwt();
  mf = new Miniflare({
    cf: false,
    modulesRoot: ROOT,
    modules: [
      { type: 'ESModule', path: join(ROOT, 'assertion-worker.js'), contents: WORKER },
      { type: 'ESModule', path: join(ROOT, 'pkg', 'assertion.js'), contents: readFileSync(join(ROOT, 'pkg', 'assertion.js'), 'utf8') },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: [],
  });
  await mf.ready;
});
after(async () => {
  await mf?.dispose();
  await oidc?.close();
});

/** Runs `cases` ({ key, alg, keyId? }) in the worker; one result per case. */
async function inWorkerd(cases) {
  const res = await mf.dispatchFetch('http://worker/', {
    method: 'POST',
    body: JSON.stringify({ cases, clientId: oidc.clientId, tokenUrl: oidc.tokenUrl }),
  });
  assert.equal(res.status, 200);
  const { userAgent, results } = await res.json();
  assert.equal(userAgent, 'Cloudflare-Workers', 'the worker ran in workerd');
  return results;
}

const VERIFY = {
  RS256: (publicKey) => ({ key: publicKey }),
  PS256: (publicKey) => ({ key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  ES256: (publicKey) => ({ key: publicKey, dsaEncoding: 'ieee-p1363' }),
};

describe('private_key_jwt assertions made in workerd', { timeout: 60_000 }, () => {
  test('every key form and alg: node:crypto verifies, oidc-provider issues a token', async () => {
    const { rsa, ec } = oidc.keys;
    const cases = [
      ...['pkcs8', 'pkcs1', 'jwk'].flatMap((form) => ['RS256', 'PS256'].map((alg) => ({ pair: rsa, key: rsa[form], alg }))),
      ...['pkcs8', 'sec1', 'jwk'].map((form) => ({ pair: ec, key: ec[form], alg: 'ES256' })),
    ];
    const results = await inWorkerd(cases.map(({ pair, key, alg }) => ({ key, alg, keyId: pair.keyId })));
    assert.equal(results.length, 9);
    for (const [i, { pair, alg }] of cases.entries()) {
      const { jws, extractable, error } = results[i];
      assert.equal(error, undefined, `case ${i}: ${error?.message}`);
      assert.equal(extractable, false);
      const [h, p, s] = jws.split('.');
      assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { alg, typ: 'JWT', kid: pair.keyId });
      const claims = JSON.parse(Buffer.from(p, 'base64url'));
      assert.equal(claims.aud, oidc.issuer, 'assertionAudience(tokenUrl) in workerd = the issuer (trailing slash)');
      assert.equal(claims.exp - claims.iat, 60);
      assert.equal(verify('sha256', Buffer.from(`${h}.${p}`), VERIFY[alg](pair.publicKey), Buffer.from(s, 'base64url')), true, `case ${i} verifies`);
      const res = await fetch(oidc.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jws }),
      });
      const body = await res.json();
      assert.equal(res.status, 200, `case ${i}: ${JSON.stringify(body)}`);
      assert.equal(body.token_type, 'Bearer');
    }
  });

  test('bad keys are invalid_config in workerd too, without key material', async () => {
    const { rsa, ec } = oidc.keys;
    const { d, ...publicRsa } = rsa.jwk;
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'sec1', format: 'pem' });
    const cases = [
      [{ key: ec.pkcs8, alg: 'RS256' }, /an EC key, which cannot sign RS256/],
      [{ key: ec.sec1, alg: 'PS256' }, /an EC key, which cannot sign PS256/],
      [{ key: rsa.pkcs1, alg: 'ES256' }, /an RSA key, which cannot sign ES256/],
      [{ key: rsa.pkcs8.slice(0, 500), alg: 'RS256' }, /must be a PEM/],
      [{ key: publicRsa, alg: 'RS256' }, /no private member "d"/],
      [{ key: small, alg: 'RS256' }, /shorter than 2048 bits/],
      [{ key: p384, alg: 'ES256' }, /curve other than P-256/],
    ];
    const results = await inWorkerd(cases.map(([c]) => c));
    const secrets = [d, rsa.jwk.p, ...[rsa.pkcs8, rsa.pkcs1, ec.pkcs8, ec.sec1, small, p384].flatMap((pem) => pem.split('\n').slice(1, -2))];
    for (const [i, [, pattern]] of cases.entries()) {
      const { error } = results[i];
      assert.ok(error, `case ${i} fails`);
      assert.equal(error.code, 'invalid_config');
      assert.match(error.message, pattern);
      for (const text of Object.values(error)) {
        assert.ok(!secrets.some((secret) => text.includes(secret)), `case ${i}: no key material in the error`);
      }
    }
  });
});
