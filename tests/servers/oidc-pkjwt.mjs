// oidc-provider (tests/servers/oidc.mjs) with a client that authenticates by
// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9) for the client-credentials
// grant, and the private keys that client may sign with, in every form the
// package imports.
//
// What oidc-provider 9.13.3 checks (lib/shared/jwt_client_auth.js):
// - `aud` (a string, or an array with one of them) must be the issuer, the token
//   endpoint URL, or the URL the request came to. The issuer here is
//   `http://127.0.0.1:PORT/` by default, as Auth0's issuers are, so the assertion
//   audience of Auth0's form (token URL origin + "/", `assertionAudience(tokenUrl)`)
//   is accepted; with `{ issuerTrailingSlash: false }` it is not, and the token URL is.
// - `exp`, `jti`, `iss` (= client_id) and `sub` (= client_id) are required; `alg` must
//   be one of the client's (RS256, PS256, ES256 here: the client pins none).
// - The signature is verified against the client's registered JWKS (by `kid` when the
//   header has one).
// - A `jti` is accepted once: a replayed assertion is `invalid_client` ("client
//   assertion tokens must only be used once", ReplayDetection, kept until exp + 15 s).
import { generateKeyPairSync } from 'node:crypto';
import { startOidc } from './oidc.mjs';

const CLIENT_ID = 'pkjwt-client';

function keyPair(type, keyId, options, pemTypes) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  const pems = Object.fromEntries(pemTypes.map((t) => [t, privateKey.export({ type: t, format: 'pem' })]));
  return {
    keyId,
    ...pems,
    jwk: privateKey.export({ format: 'jwk' }),
    publicKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: keyId, use: 'sig' },
  };
}

/**
 * Starts oidc-provider on 127.0.0.1 with the private_key_jwt client `pkjwt-client`, whose
 * registered JWKS holds the public halves of `keys.rsa` (2048 bits, kid `rsa-1`) and
 * `keys.ec` (P-256, kid `ec-1`).
 * @param {{ issuerTrailingSlash?: boolean, accessTokenTTL?: number }} [opts]
 *   issuerTrailingSlash (default true): the issuer is `http://127.0.0.1:PORT/`, Auth0's form.
 * @returns the startOidc server plus `clientId`, `grantErrors` (the reason of every failed token
 *   request, oidc-provider's error_detail, in order) and `keys`: `rsa` { keyId, pkcs8, pkcs1, jwk,
 *   publicKey, publicJwk } and `ec` { keyId, pkcs8, sec1, jwk, publicKey, publicJwk }, where
 *   pkcs8/pkcs1/sec1 are PEM strings, jwk the private JWK (no kid) and publicKey a KeyObject.
 */
export async function startOidcPrivateKeyJwt(opts = {}) {
  const { issuerTrailingSlash = true, accessTokenTTL } = opts;
  const keys = {
    rsa: keyPair('rsa', 'rsa-1', { modulusLength: 2048 }, ['pkcs8', 'pkcs1']),
    ec: keyPair('ec', 'ec-1', { namedCurve: 'P-256' }, ['pkcs8', 'sec1']),
  };
  const server = await startOidc({
    accessTokenTTL,
    issuerTrailingSlash,
    extraClients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [keys.rsa.publicJwk, keys.ec.publicJwk] },
    }],
  });
  // oidc-provider answers every client authentication failure with the same
  // description; the reason (its error_detail) is recorded here for the tests.
  const grantErrors = [];
  server.provider.on('grant.error', (_ctx, err) => grantErrors.push(err.error_detail ?? err.error_description));
  return { ...server, clientId: CLIENT_ID, keys, grantErrors };
}
