/**
 * `import "datacosmos-auth/private-key-jwt"` registers the `private_key_jwt` signer
 * (RFC 7523 §2.2) for every `TokenClient` of the process: import it once before making
 * a client with `authMethod: "private_key_jwt"` in browsers and Workers (the Node.js
 * entries import it themselves). It exports nothing.
 */
export {};
