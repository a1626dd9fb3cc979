// `import "datacosmos-auth/private-key-jwt"`: registers the private_key_jwt signer
// (RFC 7523 §2.2, OpenID Connect Core §9) for every TokenClient of the process. The
// Node.js entries import it themselves; browsers and Workers import it where they use
// `authMethod: "private_key_jwt"`, so that a Worker that does not sign does not carry
// the key parser (pkg/assertion.js).
//
// The driver (core.js) calls the signer once per client, in its constructor, with the
// client's private_key_jwt options and the token request the engine built (which has
// `client_id` and `client_assertion_type`). It checks the options and the key's shape
// synchronously (invalid_config), starts the key's import (once, non-extractable, sign
// only), and returns [sign, sealing secret]: `sign()` resolves the request with a fresh
// `client_assertion` appended, per attempt; the sealing secret (the PEM text, or the
// JWK's key members as JSON) seals store entries as a client secret would.
import { assertionAudience, checkSigningKey, clientAssertion, importSigningKey } from "./assertion.js";

const SIGNER = Symbol.for("datacosmos-auth/private-key-jwt");
const KEY_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"];

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.code = "invalid_config";
  }
}

function nonEmpty(options, name) {
  const v = options[name];
  if (v !== undefined && (typeof v !== "string" || v.length === 0)) throw new ConfigError(`${name} must be a non-empty string`);
  return v;
}

function signer(options, req) {
  const alg = options.signingAlgorithm ?? "RS256";
  if (!["RS256", "PS256", "ES256"].includes(alg)) throw new ConfigError('signingAlgorithm must be "RS256", "PS256" or "ES256"');
  const keyId = nonEmpty(options, "keyId");
  const audience = nonEmpty(options, "assertionAudience") ?? assertionAudience(req.url);
  const lifetimeSeconds = options.assertionLifetimeSeconds ?? 60;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 300) {
    throw new ConfigError("assertionLifetimeSeconds must be a whole number from 1 to 300");
  }
  const { privateKey } = options;
  checkSigningKey(privateKey, alg);
  // Read once: a JWK's members are copied now (own properties only), so that the key
  // imported and the sealing secret are the same whatever the object does later.
  let material = privateKey;
  if (typeof privateKey !== "string") {
    try {
      material = JSON.stringify(Object.fromEntries(KEY_MEMBERS.filter((k) => Object.hasOwn(privateKey, k)).map((k) => [k, privateKey[k]])));
    } catch {
      throw new ConfigError("privateKey JWK could not be read");
    }
  }
  const key = importSigningKey(typeof privateKey === "string" ? privateKey : JSON.parse(material), alg);
  key.catch(() => {});
  const json = req.body.startsWith("{");
  const clientId = json ? JSON.parse(req.body).client_id : new URLSearchParams(req.body).get("client_id");
  const sign = async () => {
    const jws = await clientAssertion(await key, { clientId, audience, keyId, alg, lifetimeSeconds });
    // A compact JWS is base64url and dots: nothing to escape in either encoding.
    const body = json ? `${req.body.slice(0, -1)},"client_assertion":"${jws}"}` : `${req.body}&client_assertion=${jws}`;
    return { ...req, body };
  };
  return [sign, material];
}

if (typeof globalThis[SIGNER] !== "function") {
  Object.defineProperty(globalThis, SIGNER, { value: signer, configurable: true });
}
