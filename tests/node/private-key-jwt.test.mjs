// authMethod "private_key_jwt" (issue 13 item 1, API.md "private_key_jwt"): a TokenClient
// against oidc-provider configured for private_key_jwt (tests/servers/oidc-pkjwt.mjs),
// in Node (whose entry registers the signer itself). workerd: tests/runtimes/
// private-key-jwt-workerd.test.mjs.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TokenClient, OAuthError, getToken } from 'datacosmos-auth';
import { startOidcPrivateKeyJwt } from '../servers/oidc-pkjwt.mjs';
import { assertNoSecret, memoryStore, rejectsOAuth, throwsOAuth } from './helpers.mjs';

const params = (body) => Object.fromEntries(new URLSearchParams(body));

let oidc;
before(async () => {
  oidc = await startOidcPrivateKeyJwt();
});
after(() => oidc?.close());

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const config = (extra) => ({ clientId: oidc.clientId, authMethod: 'private_key_jwt', tokenUrl: oidc.tokenUrl, audience: null, ...extra });

/** Every PEM line and JWK member of `pair`'s private key: none may appear anywhere. */
const material = (pair) => [
  ...['pkcs8', 'pkcs1', 'sec1'].filter((f) => pair[f]).flatMap((f) => pair[f].split('\n').slice(1, -2)),
  ...['d', 'p', 'q', 'dp', 'dq', 'qi'].map((m) => pair.jwk[m]).filter(Boolean),
];

/** A fetch that records the token requests it passes on. */
function recording() {
  const bodies = [];
  const fetch = (url, init) => {
    bodies.push(init.body);
    return globalThis.fetch(url, init);
  };
  return { bodies, fetch };
}

describe('private_key_jwt against oidc-provider', { timeout: 60_000 }, () => {
  const forms = () => [
    ...['pkcs8', 'pkcs1', 'jwk'].flatMap((form) => ['RS256', 'PS256'].map((alg) => [oidc.keys.rsa, form, alg])),
    ...['pkcs8', 'sec1', 'jwk'].map((form) => [oidc.keys.ec, form, 'ES256']),
  ];

  test('every key form and algorithm gets a token; each attempt has a fresh assertion', async () => {
    for (const [pair, form, alg] of forms()) {
      const { bodies, fetch } = recording();
      const client = new TokenClient(config({ privateKey: pair[form], signingAlgorithm: alg, keyId: pair.keyId, fetch }));
      assert.equal(typeof await client.getToken(), 'string', `${form} ${alg}`);
      client.clear();
      await client.getToken(); // a second request: a replayed jti would be invalid_client
      assert.equal(bodies.length, 2);
      const [a, b] = bodies.map(params);
      for (const p of [a, b]) {
        assert.equal(p.client_id, oidc.clientId);
        assert.equal(p.client_assertion_type, ASSERTION_TYPE);
        assert.ok(!('client_secret' in p));
      }
      const [ha, ca] = a.client_assertion.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
      const cb = JSON.parse(Buffer.from(b.client_assertion.split('.')[1], 'base64url'));
      assert.deepEqual(ha, { alg, typ: 'JWT', kid: pair.keyId });
      assert.equal(ca.iss, oidc.clientId);
      assert.equal(ca.sub, oidc.clientId);
      assert.equal(ca.aud, oidc.issuer, "the default aud: the token URL's origin + /");
      assert.equal(ca.exp - ca.iat, 60);
      assert.notEqual(ca.jti, cb.jti);
      client.free();
    }
  });

  test('assertionAudience and assertionLifetimeSeconds are used', async () => {
    const { bodies, fetch } = recording();
    const client = new TokenClient(config({ privateKey: oidc.keys.rsa.pkcs8, assertionAudience: oidc.tokenUrl, assertionLifetimeSeconds: 300, fetch }));
    await client.getToken();
    const claims = JSON.parse(Buffer.from(params(bodies[0]).client_assertion.split('.')[1], 'base64url'));
    assert.equal(claims.aud, oidc.tokenUrl);
    assert.equal(claims.exp - claims.iat, 300);
  });

  test('a key the server does not know: invalid_client; no key material in errors or events', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pem = other.export({ type: 'pkcs8', format: 'pem' });
    const events = [];
    const client = new TokenClient(config({ privateKey: pem, keyId: 'rsa-1', onEvent: (e) => events.push(e) }));
    const err = await rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_client', status: 401 });
    const secrets = [...pem.split('\n').slice(1, -2), other.export({ format: 'jwk' }).d];
    assertNoSecret(err, ...secrets);
    const text = JSON.stringify(events);
    assert.ok(!secrets.some((s) => text.includes(s)), 'no key material in events');
    // The negative cache answers the next call without a request.
    await rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_client' });
    assert.equal(events.filter((e) => e.type === 'negative_cache').length, 1);
  });

  test('the store is sealed with the key: another client with the same key reads it, the key is not in it', async () => {
    const store = memoryStore();
    const pair = oidc.keys.ec;
    const a = new TokenClient(config({ privateKey: pair.jwk, signingAlgorithm: 'ES256', store }));
    const token = await a.getToken();
    const b = new TokenClient(config({ privateKey: { ...pair.jwk }, signingAlgorithm: 'ES256', store, fetch: () => { throw new Error('no request expected'); } }));
    assert.equal(await b.getToken(), token);
    const stored = JSON.stringify([...store.map]);
    assert.ok(!material(pair).some((s) => stored.includes(s)), 'no key material in the store');
    assert.ok(!stored.includes(token), 'the token is sealed');
  });

  test('bodyEncoding json: client_assertion is a member of the JSON body', async () => {
    const bodies = [];
    const client = new TokenClient(config({
      privateKey: oidc.keys.rsa.pkcs8, bodyEncoding: 'json', maxRetries: 0,
      fetch: async (_url, init) => { bodies.push(init.body); return Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 }); },
    }));
    assert.equal(await client.getToken(), 'at');
    const body = JSON.parse(bodies[0]);
    assert.deepEqual(Object.keys(body), ['grant_type', 'client_id', 'client_assertion_type', 'client_assertion']);
    assert.equal(body.client_assertion.split('.').length, 3);
  });

  test('a key whose numbers WebCrypto refuses: the first getToken rejects invalid_config, no request', async () => {
    const der = oidc.keys.rsa.publicKey ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'der' }) : null;
    const exponent = der.indexOf(Buffer.from([0x02, 0x03, 0x01, 0x00, 0x01]), 256);
    der[exponent] = 0x04; // INTEGER -> OCTET STRING: the outline holds, the import fails
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END RSA PRIVATE KEY-----\n`;
    let requests = 0;
    const client = new TokenClient(config({ privateKey: pem, fetch: () => { requests += 1; throw new Error('no request expected'); } }));
    const err = await rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_config', status: undefined });
    assert.match(err.message, /could not be imported/);
    assertNoSecret(err, ...pem.split('\n').slice(1, -2));
    assert.equal(requests, 0);
  });
});

describe('private_key_jwt options', () => {
  const key = () => oidc.keys.rsa.pkcs8;
  const cases = [
    ['no privateKey', { privateKey: undefined }, /privateKey is required/],
    ['privateKey without the authMethod', { privateKey: 'x', authMethod: undefined, clientSecret: 's' }, /need authMethod "private_key_jwt"/],
    ['keyId without the authMethod', { keyId: 'k', privateKey: undefined, authMethod: undefined, clientSecret: 's' }, /need authMethod/],
    ['a PEM that is not one', { privateKey: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, /must be a PEM/],
    ['privateKey a number', { privateKey: 42 }, /privateKey must be a PEM string or a JWK object/],
    ['an EC key with RS256', { privateKey: 'EC' }, /cannot sign RS256/],
    ['an unknown algorithm', { signingAlgorithm: 'HS256' }, /signingAlgorithm must be/],
    ['an empty keyId', { keyId: '' }, /keyId must be a non-empty string/],
    ['an empty assertionAudience', { assertionAudience: '' }, /assertionAudience must be a non-empty string/],
    ['a lifetime over 300 s', { assertionLifetimeSeconds: 301 }, /assertionLifetimeSeconds must be a whole number from 1 to 300/],
    ['a fractional lifetime', { assertionLifetimeSeconds: 1.5 }, /assertionLifetimeSeconds/],
    ['client_assertion through extraParams', { extraParams: { client_assertion: 'x' } }, /extraParams may not set `client_assertion`/],
  ];
  for (const [name, extra, pattern] of cases) {
    test(`${name}: invalid_config from the constructor, no key material`, () => {
      const merged = { ...config({ privateKey: key() }), ...extra };
      if (merged.privateKey === 'EC') merged.privateKey = oidc.keys.ec.pkcs8;
      for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
      const err = throwsOAuth(OAuthError, () => new TokenClient(merged), { code: 'invalid_config' });
      assert.match(err.message, pattern);
      assertNoSecret(err, ...material(oidc.keys.rsa), ...material(oidc.keys.ec));
    });
  }

  test('getToken(config) reuses a client only for the same key object', async () => {
    const a = await getToken(config({ privateKey: oidc.keys.rsa.jwk }));
    const b = await getToken(config({ privateKey: oidc.keys.rsa.jwk }));
    assert.equal(a, b, 'the same JWK object: the cached client');
    const c = await getToken(config({ privateKey: { ...oidc.keys.rsa.jwk } }));
    assert.notEqual(c, a, 'another JWK object: another client');
  });

  test('fromEnv with private_key_jwt in the overrides', async () => {
    const client = TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: oidc.clientId, DATACOSMOS_TOKEN_URL: oidc.tokenUrl },
      { authMethod: 'private_key_jwt', privateKey: oidc.keys.ec.sec1, signingAlgorithm: 'ES256', audience: null });
    assert.equal(typeof await client.getToken(), 'string');
  });
});

// README.md's private_key_jwt block, as written, but for its hosts and files: the key
// file holds the server's registered RSA key, the token URL is oidc-provider's, and the
// API is a loopback resource that records the bearer.
test('README.md: the private_key_jwt quick start gets a token and calls the API', { timeout: 30_000 }, async () => {
  const { readFileSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const http = await import('node:http');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Without a shared secret: `private_key_jwt`'));
  const block = /```js\n([\s\S]*?)```/.exec(section)[1];
  const seen = [];
  const api = http.createServer((req, res) => { seen.push(req.headers.authorization); res.end('{}'); });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
  // Inside the repository, so that the block's import of the package resolves.
  const dir = fileURLToPath(new URL('../artifacts/readme-pkjwt/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  try {
    const key = join(dir, 'datacosmos-key.pem');
    writeFileSync(key, oidc.keys.rsa.pkcs8);
    let code = block;
    for (const [from, to] of [
      ['readFileSync("datacosmos-key.pem", "utf8")', `readFileSync(${JSON.stringify(key)}, "utf8")`],
      ['keyId: "my-key-1",', `keyId: ${JSON.stringify(oidc.keys.rsa.keyId)}, tokenUrl: ${JSON.stringify(oidc.tokenUrl)}, audience: null,`],
      ['https://app.open-cosmos.com/api/data/v0/stac/collections', `http://127.0.0.1:${api.address().port}/stac`],
    ]) {
      assert.ok(code.includes(from), from);
      code = code.replace(from, to);
    }
    const file = join(dir, 'block.mjs');
    writeFileSync(file, `${code}\nexport { res };\n`);
    process.env.DATACOSMOS_CLIENT_ID = oidc.clientId;
    const { res } = await import(file);
    assert.equal(res.status, 200);
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^Bearer \S+$/);
  } finally {
    delete process.env.DATACOSMOS_CLIENT_ID;
    api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
