// private_key_jwt client authentication (RFC 7523 §2.2, §3; OpenID Connect Core §9):
// the signed JWT the client sends as `client_assertion` instead of a client secret.
// WebCrypto only (globalThis.crypto.subtle), no Node built-ins, no dependencies: it runs
// in workerd, Deno, Bun, Node >= 18 and browsers.
//
// Security: errors thrown here carry `code: "invalid_config"` and a message written
// here; they never quote the key, a PEM line, a JWK member or any other input value,
// and never keep the underlying error as `cause`.

/** RFC 7523 §2.2: the `client_assertion_type` sent with the assertion. */
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The longest assertion lifetime accepted, in seconds (Auth0's maximum, 5 minutes). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

// JWS alg (RFC 7518 §3.1) -> WebCrypto import and sign parameters, and the JWK kty.
const ALGS = {
  RS256: { kty: "RSA", importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, signParams: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { kty: "RSA", importParams: { name: "RSA-PSS", hash: "SHA-256" }, signParams: { name: "RSA-PSS", saltLength: 32 } },
  ES256: { kty: "EC", importParams: { name: "ECDSA", namedCurve: "P-256" }, signParams: { name: "ECDSA", hash: "SHA-256" } },
};

// Object identifiers (their DER content octets, in hex) and the AlgorithmIdentifier a
// PKCS#8 PrivateKeyInfo (RFC 5208 §5) gives each kind of key.
const RSA_OID = "2a864886f70d010101"; // 1.2.840.113549.1.1.1 rsaEncryption (RFC 8017 §A.1)
const EC_OID = "2a8648ce3d0201"; // 1.2.840.10045.2.1 id-ecPublicKey (RFC 5480 §2.1.1)
const P256_OID = "2a8648ce3d030107"; // 1.2.840.10045.3.1.7 secp256r1 (RFC 5480 §2.1.1.1)
const fromHex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
// SEQUENCE { OID rsaEncryption, NULL } and SEQUENCE { OID id-ecPublicKey, OID secp256r1 }.
const RSA_ALGORITHM_ID = fromHex(`300d0609${RSA_OID}0500`);
const P256_ALGORITHM_ID = fromHex(`30130607${EC_OID}0608${P256_OID}`);

// PEM label -> the AlgorithmIdentifier to wrap the body in (null: already PKCS#8).
const PEM_LABELS = { "PRIVATE KEY": null, "RSA PRIVATE KEY": RSA_ALGORITHM_ID, "EC PRIVATE KEY": P256_ALGORITHM_ID };

// The JWK members that describe key material (RFC 7518 §6.2.2, §6.3.2); everything else
// (alg, use, key_ops, ext, kid, x5c, ...) is left out of the import.
const JWK_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"];

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.code = "invalid_config";
  }
}
const configError = (message) => new ConfigError(message);

const isNonEmptyString = (v) => typeof v === "string" && v.length > 0;

function checkAlg(alg) {
  if (typeof alg !== "string" || !Object.hasOwn(ALGS, alg)) {
    throw configError("signingAlgorithm must be \"RS256\", \"PS256\" or \"ES256\"");
  }
  return ALGS[alg];
}

const wrongType = (type, alg) => configError(`privateKey is an ${type} key, which cannot sign ${alg}`);
const TOO_SHORT = "privateKey is an RSA key shorter than 2048 bits (RFC 7518 §3.3)";
const NOT_P256 = "privateKey is an EC key on a curve other than P-256, which ES256 needs";

/** A DER TLV: `tag`, the length in DER's definite form (X.690 §8.1.3), then `content`. */
function der(tag, content) {
  const n = content.length;
  const long = [];
  for (let m = n; m > 0; m = Math.floor(m / 256)) long.unshift(m & 0xff);
  const head = n < 0x80 ? [tag, n] : [tag, 0x80 | long.length, ...long];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(content, head.length);
  return out;
}

/** PrivateKeyInfo ::= SEQUENCE { version INTEGER 0, AlgorithmIdentifier, OCTET STRING key } */
function pkcs8(algorithmId, key) {
  const octets = der(0x04, key);
  const body = new Uint8Array(3 + algorithmId.length + octets.length);
  body.set([0x02, 0x01, 0x00]);
  body.set(algorithmId, 3);
  body.set(octets, 3 + algorithmId.length);
  return der(0x30, body);
}

/**
 * Checks the outline of a PKCS#8 key before WebCrypto sees it, so that a damaged key, a
 * key of the other type, an RSA key under 2048 bits or an EC key off P-256 is found
 * synchronously: the PrivateKeyInfo, its algorithm, and the RSA modulus or EC scalar size.
 */
function checkPkcs8(bytes, kty, alg) {
  const damaged = () => configError("privateKey is not a well-formed private key (damaged or truncated)");
  /** The content [start, end) of the TLV at `at`, which must have `tag`. */
  const read = (at, tag) => {
    if (bytes[at] !== tag) throw damaged();
    let length = bytes[at + 1];
    let start = at + 2;
    if (length > 0x80 && length < 0x84) {
      const octets = length & 0x7f;
      length = 0;
      for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[start++];
    } else if (length >= 0x80) {
      throw damaged();
    }
    const end = start + length;
    if (!(end <= bytes.length)) throw damaged(); // also NaN: the bytes ran out
    return { start, end, hex: () => Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join("") };
  };
  const info = read(0, 0x30);
  if (info.end !== bytes.length) throw damaged();
  const algorithmId = read(read(info.start, 0x02).end, 0x30);
  const oid = read(algorithmId.start, 0x06);
  const key = read(algorithmId.end, 0x04);
  const type = oid.hex();
  if (type === RSA_OID) {
    if (kty !== "RSA") throw wrongType("RSA", alg);
    const modulus = read(read(read(key.start, 0x30).start, 0x02).end, 0x02);
    if (modulus.end - modulus.start - (bytes[modulus.start] === 0 ? 1 : 0) < 256) throw configError(TOO_SHORT);
  } else if (type === EC_OID) {
    if (kty !== "EC") throw wrongType("EC", alg);
    const scalar = read(read(read(key.start, 0x30).start, 0x02).end, 0x04);
    if (read(oid.end, 0x06).hex() !== P256_OID || scalar.end - scalar.start > 32) throw configError(NOT_P256);
  } else {
    throw configError("privateKey is neither an RSA (rsaEncryption) nor an EC key");
  }
}

/** The PKCS#8 DER bytes of a PEM private key (RFC 7468 §10, §11; RFC 8017 §A.1.2; RFC 5915 §4). */
function pemToPkcs8(pem) {
  if (/-----BEGIN ENCRYPTED |Proc-Type:/.test(pem)) {
    throw configError("privateKey is an encrypted PEM; decrypt it first (openssl pkey -in key.pem -out plain.pem)");
  }
  // The key block only: `openssl ecparam -genkey` writes an EC PARAMETERS block before it.
  const match = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) {
    throw configError(
      "privateKey must be a PEM with a BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY block, or a JWK object",
    );
  }
  // Line breaks written as the two characters \n (as .env files often hold them) count as line breaks.
  const base64 = match[2].replace(/\\[rn]|\s/g, "");
  let bytes;
  try {
    bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    throw configError("privateKey is a PEM whose body is not valid base64");
  }
  const algorithmId = PEM_LABELS[match[1]];
  return algorithmId ? pkcs8(algorithmId, bytes) : bytes;
}

/** An own property's value (a getter runs; an inherited property is absent). */
const own = (obj, name) => (Object.hasOwn(obj, name) ? obj[name] : undefined);

/** The key-material members of a JWK, read as own properties only, and checked for `alg`. */
function ownJwk(jwk, kty, alg) {
  const out = {};
  for (const name of JWK_MEMBERS) {
    const value = own(jwk, name);
    if (value === undefined) continue;
    if (typeof value !== "string") throw configError(`privateKey JWK member "${name}" must be a string`);
    out[name] = value;
  }
  if (out.d === undefined) throw configError("privateKey JWK has no private member \"d\": it is a public key");
  if (out.kty !== kty) throw configError(`privateKey JWK must have kty "${kty}" for ${alg}`);
  const jwkAlg = own(jwk, "alg");
  if (jwkAlg !== undefined && jwkAlg !== alg) throw configError(`privateKey JWK's "alg" member differs from ${alg}`);
  if (kty === "EC" && out.crv !== "P-256") throw configError(NOT_P256);
  // n is the modulus in base64url without leading zero octets (RFC 7518 §6.3.1.1).
  if (kty === "RSA" && Math.floor(((out.n ?? "").length * 3) / 4) < 256) throw configError(TOO_SHORT);
  return out;
}

/** What WebCrypto's importKey is given for `privateKey`, checked (synchronously) for `alg`. */
function keyData(privateKey, alg) {
  const { kty } = checkAlg(alg);
  if (typeof privateKey === "string") {
    const bytes = pemToPkcs8(privateKey);
    checkPkcs8(bytes, kty, alg);
    return ["pkcs8", bytes];
  }
  if (typeof privateKey !== "object" || privateKey === null) {
    throw configError("privateKey must be a PEM string or a JWK object");
  }
  try {
    return ["jwk", ownJwk(privateKey, kty, alg)];
  } catch (err) {
    // A throwing getter or Proxy trap: its message is not ours to repeat.
    throw err instanceof ConfigError ? err : configError("privateKey JWK could not be read");
  }
}

/**
 * Checks synchronously what importSigningKey checks before it calls WebCrypto: the PEM
 * or JWK shape, the key type against `alg`, the RSA size and the EC curve. A constructor
 * can call it to throw at once; importSigningKey can still reject a key whose inner
 * numbers are damaged.
 *
 * @param {string | object} privateKey as for importSigningKey
 * @param {"RS256" | "PS256" | "ES256"} [alg]
 * @throws {Error} `code: "invalid_config"`; the message never contains key material.
 */
export function checkSigningKey(privateKey, alg = "RS256") {
  keyData(privateKey, alg);
}

/**
 * Imports a private key once, as a non-extractable CryptoKey that can only sign with `alg`.
 *
 * @param {string | object} privateKey PKCS#8 PEM (`BEGIN PRIVATE KEY`), PKCS#1 PEM
 *   (`BEGIN RSA PRIVATE KEY`), SEC1 PEM (`BEGIN EC PRIVATE KEY`, P-256), or a private JWK
 *   (own properties; `d` required; a JWK `alg`, if present, must equal `alg`).
 * @param {"RS256" | "PS256" | "ES256"} [alg] JWS algorithm (RFC 7518 §3.1). RSA keys must be
 *   at least 2048 bits (RFC 7518 §3.3, §3.5); ES256 needs a P-256 key.
 * @returns {Promise<CryptoKey>}
 * @throws {Error} (rejects) `code: "invalid_config"` when the key cannot be imported for
 *   `alg`; the message never contains key material.
 */
export async function importSigningKey(privateKey, alg = "RS256") {
  const [format, data] = keyData(privateKey, alg);
  const { importParams } = ALGS[alg];
  try {
    return await globalThis.crypto.subtle.importKey(format, data, importParams, false, ["sign"]);
  } catch {
    // The runtime's message is not repeated: it is not guaranteed to be free of key data.
    const kind = importParams.name === "ECDSA" ? "a P-256 EC" : "an RSA";
    throw configError(`privateKey could not be imported as ${kind} private key for ${alg} (damaged)`);
  }
}

/** The `aud` Auth0 expects: the token URL's origin with a trailing slash (`https://host/`). */
export function assertionAudience(tokenUrl) {
  let origin = "null";
  try {
    origin = new URL(tokenUrl).origin;
  } catch {
    // reported below
  }
  if (origin === "null") throw configError("tokenUrl must be an absolute http(s) URL");
  return `${origin}/`;
}

function base64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const encodeJson = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/** The JWS alg a key from importSigningKey signs with. */
function algOf(key) {
  const name = key?.algorithm?.name;
  return Object.keys(ALGS).find((alg) => ALGS[alg].importParams.name === name);
}

/**
 * A fresh client assertion (compact JWS, RFC 7515 §7.1) for one token request.
 *
 * Header `{ alg, typ: "JWT", kid? }`; claims `{ iss: clientId, sub: clientId, aud: audience,
 * jti, iat, exp }` (RFC 7523 §3), with `jti` 128 random bits in base64url, `iat` from `now`
 * in whole seconds and `exp = iat + lifetimeSeconds`.
 *
 * @param {CryptoKey} key from importSigningKey
 * @param {{ clientId: string, audience: string, keyId?: string, alg?: "RS256" | "PS256" | "ES256",
 *   lifetimeSeconds?: number, now?: number }} options `alg` defaults to the key's; `lifetimeSeconds`
 *   an integer 1..300 (default 60); `now` in ms since the epoch (default Date.now()).
 * @returns {Promise<string>}
 * @throws {Error} `code: "invalid_config"` on a bad option or a key that cannot sign `alg`.
 */
export async function clientAssertion(key, { clientId, audience, keyId, alg, lifetimeSeconds = 60, now = Date.now() } = {}) {
  const keyAlg = algOf(key);
  if (keyAlg === undefined || key.type !== "private" || !key.usages?.includes("sign")) {
    throw configError("the signing key must be a CryptoKey from importSigningKey");
  }
  alg ??= keyAlg;
  const { signParams } = checkAlg(alg);
  if (alg !== keyAlg) throw configError(`the signing key was imported for ${keyAlg}, not for ${alg}`);
  if (!isNonEmptyString(clientId)) throw configError("clientId must be a non-empty string");
  if (!isNonEmptyString(audience)) throw configError("the assertion audience must be a non-empty string");
  if (keyId !== undefined && !isNonEmptyString(keyId)) throw configError("keyId must be a non-empty string");
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw configError(`assertionLifetimeSeconds must be an integer from 1 to ${MAX_ASSERTION_LIFETIME_SECONDS}`);
  }
  if (!Number.isFinite(now)) throw configError("now must be a finite number of milliseconds");

  const iat = Math.floor(now / 1000);
  const header = keyId === undefined ? { alg, typ: "JWT" } : { alg, typ: "JWT", kid: keyId };
  const claims = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: base64url(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    iat,
    exp: iat + lifetimeSeconds,
  };
  const signingInput = `${encodeJson(header)}.${encodeJson(claims)}`;
  // ECDSA signatures come from WebCrypto as r || s, which is the JWS form (RFC 7518 §3.4).
  let signature;
  try {
    signature = await globalThis.crypto.subtle.sign(signParams, key, new TextEncoder().encode(signingInput));
  } catch {
    throw configError(`the signing key could not sign ${alg}`);
  }
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}
