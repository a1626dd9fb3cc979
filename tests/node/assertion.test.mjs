// pkg/assertion.js: private_key_jwt client assertions (RFC 7523 §2.2, §3), checked
// by real verification: node:crypto.verify over keys node:crypto generated, and
// oidc-provider authenticating a client by them (tests/servers/oidc-pkjwt.mjs).
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CLIENT_ASSERTION_TYPE,
  assertionAudience,
  checkSigningKey,
  clientAssertion,
  importSigningKey,
} from '../../pkg/assertion.js';
import { startOidcPrivateKeyJwt } from '../servers/oidc-pkjwt.mjs';
import { assertNoSecret } from './helpers.mjs';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (keyObject, type, extra = {}) => keyObject.export({ type, format: 'pem', ...extra });

/** Every key form importSigningKey takes, with the algs it is used for and its public key. */
const FORMS = {
  'RSA PKCS#8 PEM': { key: pem(rsa.privateKey, 'pkcs8'), algs: ['RS256', 'PS256'], publicKey: rsa.publicKey },
  'RSA PKCS#1 PEM': { key: pem(rsa.privateKey, 'pkcs1'), algs: ['RS256', 'PS256'], publicKey: rsa.publicKey },
  'RSA JWK': { key: rsa.privateKey.export({ format: 'jwk' }), algs: ['RS256', 'PS256'], publicKey: rsa.publicKey },
  'EC PKCS#8 PEM': { key: pem(ec.privateKey, 'pkcs8'), algs: ['ES256'], publicKey: ec.publicKey },
  'EC SEC1 PEM': { key: pem(ec.privateKey, 'sec1'), algs: ['ES256'], publicKey: ec.publicKey },
  'EC JWK': { key: ec.privateKey.export({ format: 'jwk' }), algs: ['ES256'], publicKey: ec.publicKey },
};

const toPem = (label, der) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
const decodePart = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Splits a compact JWS, checking its base64url (no padding) form. */
function parseJws(jws) {
  const parts = jws.split('.');
  assert.equal(parts.length, 3, 'a compact JWS has three parts');
  for (const part of parts) assert.match(part, /^[A-Za-z0-9_-]+$/, 'base64url without padding');
  return { header: decodePart(parts[0]), claims: decodePart(parts[1]), input: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
}

/** node:crypto's verification of a JWS signature (RFC 7518 §3.3, §3.4, §3.5). */
function verifyJws(jws, alg, publicKey) {
  const { input, signature } = parseJws(jws);
  const key = {
    RS256: { key: publicKey },
    PS256: { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    ES256: { key: publicKey, dsaEncoding: 'ieee-p1363' },
  }[alg];
  return verify('sha256', Buffer.from(input), key, signature);
}

/** The secret parts of a key: every PEM body line, or the JWK's private members. */
function secretFragments(key) {
  if (typeof key === 'string') return key.split(/\r?\n/).filter((line) => line && !line.startsWith('-----'));
  return ['d', 'p', 'q', 'dp', 'dq', 'qi'].filter((m) => key[m]).map((m) => key[m]);
}

/**
 * importSigningKey(key, alg) rejects with invalid_config and no key material anywhere;
 * checkSigningKey(key, alg) throws the same message synchronously, unless `sync` is false
 * (then it accepts the key's outline).
 */
async function rejectsWithoutKey(key, alg, messagePattern, secrets = secretFragments(key), { sync = true } = {}) {
  const err = await importSigningKey(key, alg).then(() => assert.fail('importSigningKey resolved'), (e) => e);
  if (sync) {
    assert.throws(() => checkSigningKey(key, alg), { code: 'invalid_config', message: err.message });
  } else {
    assert.equal(checkSigningKey(key, alg), undefined);
  }
  assert.ok(err instanceof Error, 'an Error');
  assert.equal(err.code, 'invalid_config');
  assert.match(err.message, messagePattern);
  assert.equal(err.cause, undefined, 'no underlying error kept');
  assert.ok(secrets.length > 0, 'there is key material to look for');
  assertNoSecret(err, ...secrets);
  return err;
}

const BASE = { clientId: 'client-1', audience: 'https://login.open-cosmos.com/' };

describe('importSigningKey + clientAssertion, verified by node:crypto', () => {
  for (const [form, { key, algs, publicKey }] of Object.entries(FORMS)) {
    for (const alg of algs) {
      test(`${form}, ${alg}: a non-extractable signing key and a JWS that verifies`, async () => {
        const cryptoKey = await importSigningKey(key, alg);
        assert.equal(cryptoKey.extractable, false);
        assert.equal(cryptoKey.type, 'private');
        assert.deepEqual(cryptoKey.usages, ['sign']);
        const jws = await clientAssertion(cryptoKey, { ...BASE, keyId: 'kid-1' });
        assert.equal(verifyJws(jws, alg, publicKey), true, 'node:crypto verifies the signature');
        assert.deepEqual(parseJws(jws).header, { alg, typ: 'JWT', kid: 'kid-1' });
        if (alg === 'ES256') assert.equal(parseJws(jws).signature.length, 64, 'ES256 is r || s, 32 bytes each');
        const other = generateKeyPairSync(alg === 'ES256' ? 'ec' : 'rsa', { modulusLength: 2048, namedCurve: 'P-256' });
        assert.equal(verifyJws(jws, alg, other.publicKey), false, 'another public key does not verify it');
      });
    }
  }

  test('claims: iss = sub = clientId, aud, iat from now, exp = iat + lifetime; header without kid', async () => {
    const key = await importSigningKey(FORMS['RSA PKCS#8 PEM'].key);
    const now = Date.UTC(2030, 0, 1, 0, 0, 0, 999);
    const jws = await clientAssertion(key, { ...BASE, now, lifetimeSeconds: 300 });
    const { header, claims } = parseJws(jws);
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT' });
    const iat = Date.UTC(2030, 0, 1) / 1000;
    assert.deepEqual(claims, { iss: 'client-1', sub: 'client-1', aud: BASE.audience, jti: claims.jti, iat, exp: iat + 300 });
    const defaults = parseJws(await clientAssertion(key, { ...BASE, now })).claims;
    assert.equal(defaults.exp - defaults.iat, 60, 'default lifetime 60 s');
  });

  test('jti: 128 random bits in base64url, fresh on every call', async () => {
    const key = await importSigningKey(FORMS['EC JWK'].key, 'ES256');
    const jtis = new Set();
    for (let i = 0; i < 20; i += 1) {
      const { jti } = parseJws(await clientAssertion(key, BASE)).claims;
      assert.match(jti, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(jti, 'base64url').length, 16);
      jtis.add(jti);
    }
    assert.equal(jtis.size, 20);
  });

  test('bad assertion options are invalid_config', async () => {
    const key = await importSigningKey(FORMS['RSA JWK'].key, 'PS256');
    const bad = [
      { lifetimeSeconds: 301 }, { lifetimeSeconds: 0 }, { lifetimeSeconds: 1.5 }, { lifetimeSeconds: '60' },
      { clientId: '' }, { clientId: undefined }, { audience: '' }, { audience: ['a'] }, { keyId: '' }, { keyId: 1 },
      { now: Number.NaN }, { alg: 'RS256' }, { alg: 'HS256' },
    ];
    for (const options of bad) {
      await assert.rejects(clientAssertion(key, { ...BASE, ...options }), { code: 'invalid_config' }, JSON.stringify(options));
    }
    for (const notAKey of [undefined, {}, 'key', (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']))]) {
      await assert.rejects(clientAssertion(notAKey, BASE), { code: 'invalid_config', message: /must be a CryptoKey from importSigningKey/ });
    }
    const publicKey = await crypto.subtle.importKey('jwk', rsa.publicKey.export({ format: 'jwk' }), { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    await assert.rejects(clientAssertion(publicKey, BASE), { code: 'invalid_config', message: /must be a CryptoKey/ });
    await assert.rejects(clientAssertion(key, { ...BASE, alg: 'RS256' }), { code: 'invalid_config', message: /imported for PS256, not for RS256/ });
    assert.equal(parseJws(await clientAssertion(key, { ...BASE, alg: 'PS256', lifetimeSeconds: 1 })).header.alg, 'PS256');
  });

  test('assertionAudience: the token URL origin with a trailing slash', () => {
    assert.equal(assertionAudience('https://login.open-cosmos.com/oauth/token'), 'https://login.open-cosmos.com/');
    assert.equal(assertionAudience('https://user:pw@Login.Example:8443/a/b?c=d#e'), 'https://login.example:8443/');
    assert.equal(assertionAudience('http://127.0.0.1:4000/oauth/token'), 'http://127.0.0.1:4000/');
    for (const bad of ['not a url', '/oauth/token', 'file:///etc/passwd', undefined]) {
      assert.throws(() => assertionAudience(bad), { code: 'invalid_config' }, String(bad));
    }
  });

  test('PEM variants: CRLF, literal \\n escapes (.env files), an EC PARAMETERS block first', async () => {
    const pkcs1 = FORMS['RSA PKCS#1 PEM'].key;
    const sec1 = FORMS['EC SEC1 PEM'].key;
    const variants = [
      [pkcs1.replace(/\n/g, '\r\n'), 'RS256', rsa.publicKey],
      [pkcs1.replace(/\n/g, '\\n'), 'RS256', rsa.publicKey],
      [`-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`, 'ES256', ec.publicKey],
    ];
    for (const [text, alg, publicKey] of variants) {
      const jws = await clientAssertion(await importSigningKey(text, alg), BASE);
      assert.equal(verifyJws(jws, alg, publicKey), true);
    }
  });

  test('4096-bit RSA (a DER length above 255 bytes) wraps from PKCS#1', async () => {
    const big = generateKeyPairSync('rsa', { modulusLength: 4096 });
    const key = await importSigningKey(pem(big.privateKey, 'pkcs1'), 'PS256');
    assert.equal(key.algorithm.modulusLength, 4096);
    assert.equal(verifyJws(await clientAssertion(key, BASE), 'PS256', big.publicKey), true);
  });

  test('JWK: own members only; extra members ignored; a matching alg accepted', async () => {
    const jwk = FORMS['RSA JWK'].key;
    const withExtras = { ...jwk, kid: 'k', use: 'sig', key_ops: ['sign'], alg: 'RS256', ext: true };
    assert.equal((await importSigningKey(withExtras, 'RS256')).extractable, false);
    const { d, ...rest } = jwk;
    await rejectsWithoutKey(Object.assign(Object.create({ d }), rest), 'RS256', /no private member "d"/, [d]);
  });
});

describe('bad keys are invalid_config and never show key material', () => {
  const rsaPkcs8 = FORMS['RSA PKCS#8 PEM'].key;
  const lines = rsaPkcs8.split('\n');

  test('truncated PEM: no END line; body lines missing', async () => {
    await rejectsWithoutKey(rsaPkcs8.slice(0, 400), 'RS256', /must be a PEM/);
    const trailing = Buffer.concat([rsa.privateKey.export({ type: 'pkcs8', format: 'der' }), Buffer.from([2, 1, 0])]);
    await rejectsWithoutKey(toPem('PRIVATE KEY', trailing), 'RS256', /not a well-formed private key/);
    await rejectsWithoutKey([...lines.slice(0, 8), ...lines.slice(-2)].join('\n'), 'RS256', /not a well-formed private key/);
  });

  test('a well-formed outline with damaged inner numbers: checkSigningKey passes, importSigningKey rejects', async () => {
    const der = rsa.privateKey.export({ type: 'pkcs1', format: 'der' });
    const exponent = der.indexOf(Buffer.from([0x02, 0x03, 0x01, 0x00, 0x01]), 256);
    assert.ok(exponent > 0, 'found publicExponent 65537 after the modulus');
    der[exponent] = 0x04; // INTEGER -> OCTET STRING
    await rejectsWithoutKey(toPem('RSA PRIVATE KEY', der), 'RS256', /could not be imported as an RSA private key for RS256/, undefined, { sync: false });
  });

  test('wrong header: CERTIFICATE, PUBLIC KEY, mismatched END', async () => {
    const body = lines.slice(1, -2).join('\n');
    await rejectsWithoutKey(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`, 'RS256', /must be a PEM/);
    await rejectsWithoutKey(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`, 'RS256', /must be a PEM/);
    await rejectsWithoutKey(`-----BEGIN PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`, 'RS256', /must be a PEM/);
    await rejectsWithoutKey(`-----BEGIN PRIVATE KEY-----\n${body}!\n-----END PRIVATE KEY-----\n`, 'RS256', /not valid base64/);
  });

  test('the PKCS#1 label on a PKCS#8 body, and the reverse', async () => {
    await rejectsWithoutKey(rsaPkcs8.replace(/PRIVATE KEY/g, 'RSA PRIVATE KEY'), 'RS256', /not a well-formed private key/);
    await rejectsWithoutKey(FORMS['RSA PKCS#1 PEM'].key.replace(/RSA PRIVATE KEY/g, 'PRIVATE KEY'), 'RS256', /not a well-formed private key/);
  });

  test('JWK without d (a public JWK with its other private members left in)', async () => {
    const { d, ...noD } = FORMS['RSA JWK'].key;
    await rejectsWithoutKey(noD, 'RS256', /no private member "d"/, [...secretFragments(noD), d]);
    const { d: ecD, ...ecNoD } = FORMS['EC JWK'].key;
    const err = await importSigningKey(ecNoD, 'ES256').catch((e) => e);
    assert.equal(err.code, 'invalid_config');
    assertNoSecret(err, ecD, ecNoD.x, ecNoD.y);
  });

  test('EC key with RS256 / PS256, RSA key with ES256, in every form', async () => {
    for (const [form, { key, algs }] of Object.entries(FORMS)) {
      const wrong = algs.includes('ES256') ? ['RS256', 'PS256'] : ['ES256'];
      for (const alg of wrong) {
        const pattern = typeof key === 'string' ? /is an (EC|RSA) key, which cannot sign/ : /must have kty/;
        const err = await rejectsWithoutKey(key, alg, pattern);
        assert.ok(err.message.includes(alg), `${form} with ${alg}: the message names the alg`);
      }
    }
  });

  test('JWK alg member differing from the requested alg; a throwing getter; non-string members', async () => {
    const jwk = FORMS['RSA JWK'].key;
    await rejectsWithoutKey({ ...jwk, alg: 'RS256' }, 'PS256', /"alg" member differs/);
    const marker = `getter-${randomBytes(8).toString('hex')}`;
    const throwing = Object.defineProperty({ ...jwk }, 'd', { get() { throw new Error(`${marker} ${jwk.d}`); } });
    const err = await rejectsWithoutKey(throwing, 'RS256', /could not be read/, [jwk.d, jwk.p]);
    assertNoSecret(err, marker);
    const trap = new Proxy({ ...jwk }, { getOwnPropertyDescriptor() { throw new Error(marker); } });
    assertNoSecret(await rejectsWithoutKey(trap, 'RS256', /could not be read/, [jwk.d]), marker);
    await rejectsWithoutKey({ ...jwk, d: [jwk.d] }, 'RS256', /member "d" must be a string/, [jwk.d]);
  });

  test('RSA shorter than 2048 bits; P-384 for ES256; encrypted PEMs', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (const key of [pem(small.privateKey, 'pkcs8'), pem(small.privateKey, 'pkcs1'), small.privateKey.export({ format: 'jwk' })]) {
      await rejectsWithoutKey(key, 'PS256', /shorter than 2048 bits/);
    }
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    for (const key of [pem(p384.privateKey, 'pkcs8'), pem(p384.privateKey, 'sec1'), p384.privateKey.export({ format: 'jwk' })]) {
      await rejectsWithoutKey(key, 'ES256', /curve other than P-256/);
    }
    const ed25519 = generateKeyPairSync('ed25519');
    await rejectsWithoutKey(pem(ed25519.privateKey, 'pkcs8'), 'ES256', /neither an RSA \(rsaEncryption\) nor an EC key/);
    const cipher = { cipher: 'aes-256-cbc', passphrase: 'pass-phrase' };
    await rejectsWithoutKey(pem(rsa.privateKey, 'pkcs8', cipher), 'RS256', /encrypted PEM/);
    await rejectsWithoutKey(pem(rsa.privateKey, 'pkcs1', cipher), 'RS256', /encrypted PEM/);
  });

  test('unknown alg and non-key values', async () => {
    for (const alg of ['HS256', 'rs256', 'none', '__proto__', 'toString', null]) {
      await rejectsWithoutKey(rsaPkcs8, alg, /signingAlgorithm must be/);
    }
    for (const value of [undefined, null, 42, true]) {
      await assert.rejects(importSigningKey(value), { code: 'invalid_config', message: /PEM string or a JWK/ });
      assert.throws(() => checkSigningKey(value), { code: 'invalid_config', message: /PEM string or a JWK/ });
    }
  });
});

/** POSTs a client_credentials request authenticated by `assertion` (RFC 7523 §2.2). */
async function tokenRequest(tokenUrl, assertion, extra = {}) {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
    ...extra,
  });
  const res = await fetch(tokenUrl, { method: 'POST', body });
  return { status: res.status, body: await res.json() };
}

function assertToken({ status, body }) {
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(typeof body.access_token, 'string');
  assert.equal(body.token_type, 'Bearer');
}

/** A 401 invalid_client whose reason (oidc-provider's error_detail, logged by the server) matches `reason`. */
function assertInvalidClient(server, { status, body }, reason) {
  assert.equal(status, 401, JSON.stringify(body));
  assert.equal(body.error, 'invalid_client');
  assert.match(server.grantErrors.at(-1), reason);
}

describe('oidc-provider authenticates the client by the assertion', { timeout: 30_000 }, () => {
  let oidc;
  let bare;
  before(async () => {
    oidc = await startOidcPrivateKeyJwt();
    bare = await startOidcPrivateKeyJwt({ issuerTrailingSlash: false });
  });
  after(async () => {
    await oidc?.close();
    await bare?.close();
  });

  const sign = async (server, keyForm, alg, options = {}) => {
    const { keys } = server;
    const [kind, form] = keyForm.split(' ');
    const key = await importSigningKey(keys[kind][form], alg);
    return clientAssertion(key, { clientId: server.clientId, audience: assertionAudience(server.tokenUrl), keyId: keys[kind].keyId, ...options });
  };

  test('every key form and alg gets a token, aud = assertionAudience(tokenUrl) (Auth0 form = this issuer)', async () => {
    assert.equal(assertionAudience(oidc.tokenUrl), oidc.issuer);
    const cases = [
      ['rsa pkcs8', 'RS256'], ['rsa pkcs1', 'RS256'], ['rsa jwk', 'RS256'], ['rsa pkcs8', 'PS256'], ['rsa jwk', 'PS256'],
      ['ec pkcs8', 'ES256'], ['ec sec1', 'ES256'], ['ec jwk', 'ES256'],
    ];
    const before = oidc.tokenRequests();
    for (const [form, alg] of cases) {
      assertToken(await tokenRequest(oidc.tokenUrl, await sign(oidc, form, alg)));
    }
    assert.equal(oidc.tokenRequests(), before + cases.length);
  });

  test('without kid, and with client_id in the body', async () => {
    assertToken(await tokenRequest(oidc.tokenUrl, await sign(oidc, 'rsa pkcs8', 'RS256', { keyId: undefined })));
    assertToken(await tokenRequest(oidc.tokenUrl, await sign(oidc, 'ec jwk', 'ES256'), { client_id: oidc.clientId }));
  });

  test('accepted aud: the issuer and the token endpoint URL; anything else is invalid_client', async () => {
    assertToken(await tokenRequest(oidc.tokenUrl, await sign(oidc, 'rsa jwk', 'RS256', { audience: oidc.tokenUrl })));
    const origin = new URL(oidc.tokenUrl).origin;
    assertInvalidClient(oidc, await tokenRequest(oidc.tokenUrl, await sign(oidc, 'rsa jwk', 'RS256', { audience: origin })), /audience/);
    // An issuer without the trailing slash does not take Auth0's form; the issuer and token URL work.
    assert.equal(bare.issuer, new URL(bare.tokenUrl).origin);
    assertInvalidClient(bare, await tokenRequest(bare.tokenUrl, await sign(bare, 'rsa jwk', 'RS256')), /audience/);
    assertToken(await tokenRequest(bare.tokenUrl, await sign(bare, 'rsa jwk', 'RS256', { audience: bare.issuer })));
    assertToken(await tokenRequest(bare.tokenUrl, await sign(bare, 'rsa jwk', 'RS256', { audience: bare.tokenUrl })));
  });

  test('a wrong key (same kid) is invalid_client', async () => {
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const key = await importSigningKey(pem(wrong, 'pkcs8'));
    const assertion = await clientAssertion(key, { clientId: oidc.clientId, audience: oidc.issuer, keyId: oidc.keys.rsa.keyId });
    assertInvalidClient(oidc, await tokenRequest(oidc.tokenUrl, assertion), /signature verification failed/);
    // the other server's key for the same client id
    assertInvalidClient(oidc, await tokenRequest(oidc.tokenUrl, await sign(bare, 'ec pkcs8', 'ES256', { audience: oidc.issuer })), /signature verification failed/);
  });

  test('a replayed assertion (same jti) is invalid_client: oidc-provider enforces one use', async () => {
    const assertion = await sign(oidc, 'rsa pkcs1', 'PS256');
    assertToken(await tokenRequest(oidc.tokenUrl, assertion));
    assertInvalidClient(oidc, await tokenRequest(oidc.tokenUrl, assertion), /only be used once/);
  });

  test('an expired assertion is invalid_client', async () => {
    const assertion = await sign(oidc, 'ec sec1', 'ES256', { now: Date.now() - 10 * 60_000 });
    assertInvalidClient(oidc, await tokenRequest(oidc.tokenUrl, assertion), /jwt expired/);
  });
});
