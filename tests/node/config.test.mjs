// Config validation, the OAuthError shape, TokenClient.fromCredentials and
// TokenClient.fromEnv.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { TokenClient, getToken, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import {
  DEFAULT_AUDIENCE, assertNoSecret, bodyParams, credentialsFile, jwtClaims, rejectsOAuth, throwsOAuth,
} from './helpers.mjs';

const AUD = 'https://test-audience.example';
const carol = { clientId: 'carol', clientSecret: 'carol-secret-0d9f3e1a' };

let demo; // default audience
let other; // custom audience AUD
let proxy; // in front of `demo`
before(async () => {
  demo = await startDemo({ clients: [carol] });
  other = await startDemo({ clients: [carol], audience: AUD });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
});
after(async () => {
  await proxy?.close();
  await other?.close();
  await demo?.close();
});
afterEach(() => proxy.clearQueue());

const valid = { clientId: 'id', clientSecret: 'shh-config-secret' };

describe('config validation', { timeout: 20_000 }, () => {
  test('OAuthError is an Error subclass with name "OAuthError"', () => {
    assert.equal(typeof OAuthError, 'function');
    assert.ok(OAuthError.prototype instanceof Error);
  });

  const invalid = [
    ['missing clientSecret', { clientId: 'id' }],
    ['missing clientId', { clientSecret: 'shh-config-secret' }],
    ['empty clientSecret', { clientId: 'id', clientSecret: '' }],
    ['empty clientId', { clientId: '', clientSecret: 'shh-config-secret' }],
    ['non-string clientSecret', { clientId: 'id', clientSecret: 42 }],
    ['http: non-loopback tokenUrl', { ...valid, tokenUrl: 'http://login.open-cosmos.com/oauth/token' }],
    ['http: host that only starts with 127.0.0.1', { ...valid, tokenUrl: 'http://127.0.0.1.example.com/oauth/token' }],
    ['http: host that only starts with localhost', { ...valid, tokenUrl: 'http://localhost.example.com/oauth/token' }],
    ['http: private address', { ...valid, tokenUrl: 'http://10.0.0.1/oauth/token' }],
    ['ftp: tokenUrl', { ...valid, tokenUrl: 'ftp://127.0.0.1/oauth/token' }],
    ['tokenUrl that is not a URL', { ...valid, tokenUrl: 'not a url' }],
    ['relative tokenUrl', { ...valid, tokenUrl: '/oauth/token' }],
    ['unknown option', { ...valid, clientID: 'typo' }],
    ['unknown option "secret"', { ...valid, secret: 'x' }],
    ['bad authMethod', { ...valid, authMethod: 'private_key_jwt' }],
    ['bad bodyEncoding', { ...valid, bodyEncoding: 'xml' }],
    ['negative timeoutMs', { ...valid, timeoutMs: -1 }],
    ['non-numeric timeoutMs', { ...valid, timeoutMs: 'soon' }],
    ['negative maxRetries', { ...valid, maxRetries: -1 }],
    ['negative refreshLeewaySeconds', { ...valid, refreshLeewaySeconds: -5 }],
    ['non-string extraParams value', { ...valid, extraParams: { a: 1 } }],
    ['store without get/put', { ...valid, store: {} }],
    ['fetch that is not a function', { ...valid, fetch: 'fetch' }],
  ];
  for (const [name, config] of invalid) {
    test(`${name}: constructor throws invalid_config synchronously`, () => {
      const err = throwsOAuth(OAuthError, () => new TokenClient(config), { code: 'invalid_config' });
      assert.equal(err.status, undefined);
      assert.ok(err.message.length > 0);
      assertNoSecret(err, 'shh-config-secret');
    });
  }

  test('a config that is not an object throws invalid_config', () => {
    for (const config of [undefined, null, 'id:secret', 42]) {
      throwsOAuth(OAuthError, () => new TokenClient(config), { code: 'invalid_config' });
    }
  });

  test('loopback http: token URLs are accepted', () => {
    for (const tokenUrl of [
      'http://localhost/oauth/token',
      'http://localhost:8080/oauth/token',
      'http://auth.localhost:8080/oauth/token',
      'http://127.0.0.1:1/oauth/token',
      'http://127.10.20.30/oauth/token',
      'http://[::1]:9000/oauth/token',
      'https://login.open-cosmos.com/oauth/token',
      'https://tenant.eu.auth0.com/oauth/token',
    ]) {
      assert.doesNotThrow(() => new TokenClient({ ...valid, tokenUrl }), tokenUrl);
    }
  });

  test('all documented options are accepted', () => {
    assert.doesNotThrow(() => new TokenClient({
      ...valid,
      audience: null,
      tokenUrl: 'https://login.open-cosmos.com/oauth/token',
      scope: 'a b',
      extraParams: { resource: 'https://api.example' },
      authMethod: 'client_secret_basic',
      bodyEncoding: 'json',
      refreshLeewaySeconds: 30,
      timeoutMs: 5000,
      maxRetries: 0,
      store: { get: async () => null, put: async () => {} },
      fetch: globalThis.fetch,
    }));
  });

  test('one-shot getToken rejects (does not throw) on an invalid config', async () => {
    let promise;
    assert.doesNotThrow(() => { promise = getToken({ ...valid, tokenUrl: 'http://example.com/token' }); });
    await rejectsOAuth(OAuthError, promise, { code: 'invalid_config' });
  });

  test('constructing a client makes no request', async () => {
    const from = demo.tokenRequests();
    // eslint-disable-next-line no-new
    new TokenClient({ ...carol, tokenUrl: demo.tokenUrl });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(demo.tokenRequests(), from);
  });
});

describe('TokenClient.fromCredentials', { timeout: 20_000 }, () => {
  test('reads the DataCosmos credentials file (object), audience included', async () => {
    const client = TokenClient.fromCredentials(credentialsFile(carol, AUD), { tokenUrl: other.tokenUrl });
    const token = await client.getToken();
    assert.equal(jwtClaims(token).aud, AUD);
    assert.equal(jwtClaims(token).azp, 'carol');
  });

  test('reads the DataCosmos credentials file (string)', async () => {
    const client = TokenClient.fromCredentials(JSON.stringify(credentialsFile(carol, AUD), null, 2), { tokenUrl: other.tokenUrl });
    assert.equal(jwtClaims(await client.getToken()).aud, AUD);
  });

  test('overrides win over the file', async () => {
    const client = TokenClient.fromCredentials(credentialsFile(carol, 'https://file-audience.example'), {
      tokenUrl: proxy.tokenUrl,
      audience: DEFAULT_AUDIENCE,
      scope: 'from-overrides',
    });
    const from = proxy.requests.length;
    await client.getToken();
    const params = bodyParams(proxy.requests[from]);
    assert.equal(params.audience, DEFAULT_AUDIENCE);
    assert.equal(params.scope, 'from-overrides');
    assert.equal(params.client_id, 'carol');
  });

  test('a wrong secret in the file fails at the server', async () => {
    const client = TokenClient.fromCredentials({ ...credentialsFile(carol), client_secret: 'bad' }, { tokenUrl: demo.tokenUrl, maxRetries: 0 });
    await rejectsOAuth(OAuthError, client.getToken(), { code: 'access_denied', status: 401 });
  });

  test('a grant_type other than client_credentials is invalid_config', () => {
    for (const creds of [
      { ...credentialsFile(carol), grant_type: 'password' },
      JSON.stringify({ ...credentialsFile(carol), grant_type: 'authorization_code' }),
    ]) {
      const err = throwsOAuth(OAuthError, () => TokenClient.fromCredentials(creds, { tokenUrl: demo.tokenUrl }), { code: 'invalid_config' });
      assertNoSecret(err, carol.clientSecret);
    }
  });

  test('a string that is not JSON is invalid_config and its text is not echoed', () => {
    const text = `client_id=carol\nclient_secret=${carol.clientSecret}\n`;
    const truncated = JSON.stringify(credentialsFile(carol)).slice(0, -5);
    for (const creds of [text, truncated, '']) {
      const err = throwsOAuth(OAuthError, () => TokenClient.fromCredentials(creds), { code: 'invalid_config' });
      assertNoSecret(err, carol.clientSecret, 'client_secret=');
    }
  });

  test('missing client_secret is invalid_config', () => {
    const { client_secret: _, ...rest } = credentialsFile(carol);
    throwsOAuth(OAuthError, () => TokenClient.fromCredentials(rest), { code: 'invalid_config' });
  });
});

describe('TokenClient.fromEnv', { timeout: 20_000 }, () => {
  const vars = (extra) => ({
    DATACOSMOS_CLIENT_ID: carol.clientId,
    DATACOSMOS_CLIENT_SECRET: carol.clientSecret,
    DATACOSMOS_TOKEN_URL: proxy.tokenUrl,
    ...extra,
  });

  /** getToken through `client` and return the wire params the proxy saw. */
  async function sent(client) {
    const from = proxy.requests.length;
    const token = await client.getToken();
    return { token, params: bodyParams(proxy.requests[from]) };
  }

  test('DATACOSMOS_* variables', async () => {
    const { token, params } = await sent(TokenClient.fromEnv(vars({ DATACOSMOS_SCOPE: 'stac:read' })));
    assert.equal(typeof token, 'string');
    assert.equal(params.client_id, 'carol');
    assert.equal(params.audience, DEFAULT_AUDIENCE);
    assert.equal(params.scope, 'stac:read');
  });

  test('DATACOSMOS_AUDIENCE is used', async () => {
    const client = TokenClient.fromEnv({ ...vars(), DATACOSMOS_TOKEN_URL: other.tokenUrl, DATACOSMOS_AUDIENCE: AUD });
    assert.equal(jwtClaims(await client.getToken()).aud, AUD);
  });

  test('AUTHENTICATION__* fallbacks (the DataCosmos Python SDK names)', async () => {
    const client = TokenClient.fromEnv({
      AUTHENTICATION__CLIENT_ID: carol.clientId,
      AUTHENTICATION__CLIENT_SECRET: carol.clientSecret,
      AUTHENTICATION__AUDIENCE: AUD,
      AUTHENTICATION__TOKEN_URL: other.tokenUrl,
    });
    const claims = jwtClaims(await client.getToken());
    assert.equal(claims.aud, AUD);
    assert.equal(claims.azp, 'carol');
  });

  test('DATACOSMOS_* wins over AUTHENTICATION__*', async () => {
    const { params } = await sent(TokenClient.fromEnv(vars({
      DATACOSMOS_AUDIENCE: DEFAULT_AUDIENCE,
      AUTHENTICATION__CLIENT_ID: 'someone-else',
      AUTHENTICATION__CLIENT_SECRET: 'wrong',
      AUTHENTICATION__TOKEN_URL: 'http://127.0.0.1:9/nowhere',
      AUTHENTICATION__AUDIENCE: 'https://wrong.example',
    })));
    assert.equal(params.client_id, 'carol');
    assert.equal(params.audience, DEFAULT_AUDIENCE);
  });

  test('empty variables count as unset', async () => {
    const { params } = await sent(TokenClient.fromEnv({
      DATACOSMOS_CLIENT_ID: '',
      DATACOSMOS_CLIENT_SECRET: '',
      DATACOSMOS_AUDIENCE: '',
      DATACOSMOS_SCOPE: '',
      DATACOSMOS_TOKEN_URL: '',
      AUTHENTICATION__CLIENT_ID: carol.clientId,
      AUTHENTICATION__CLIENT_SECRET: carol.clientSecret,
      AUTHENTICATION__TOKEN_URL: proxy.tokenUrl,
      AUTHENTICATION__AUDIENCE: '',
    }));
    assert.equal(params.client_id, 'carol');
    assert.equal(params.audience, DEFAULT_AUDIENCE);
    assert.ok(!('scope' in params));
  });

  test('overrides win over the environment', async () => {
    const { params } = await sent(TokenClient.fromEnv(vars({ DATACOSMOS_SCOPE: 'env-scope' }), { scope: 'override-scope', audience: null }));
    assert.equal(params.scope, 'override-scope');
    assert.ok(!('audience' in params));
  });

  test('missing credentials are invalid_config', () => {
    throwsOAuth(OAuthError, () => TokenClient.fromEnv({}), { code: 'invalid_config' });
    throwsOAuth(OAuthError, () => TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: 'x' }), { code: 'invalid_config' });
    const err = throwsOAuth(OAuthError, () => TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: 'x', DATACOSMOS_CLIENT_SECRET: 'env-secret-9', DATACOSMOS_TOKEN_URL: 'http://example.com/t' }), { code: 'invalid_config' });
    assertNoSecret(err, 'env-secret-9');
  });

  test('with no argument it reads process.env', async () => {
    const saved = { ...process.env };
    for (const key of Object.keys(process.env)) {
      if (/^(DATACOSMOS_|AUTHENTICATION__)/.test(key)) delete process.env[key];
    }
    Object.assign(process.env, vars({ DATACOSMOS_SCOPE: 'from-process-env' }));
    let client;
    try {
      client = TokenClient.fromEnv();
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const { params } = await sent(client);
    assert.equal(params.scope, 'from-process-env');
  });
});
