// Static tokens (API.md "TokenClient.fromEnv", issue 13 item 2): DATACOSMOS_USER_TOKEN,
// then DATACOSMOS_ACCESS_TOKEN, served without a request until the JWT `exp`, then
// `token_expired`; client credentials win; OC_AUTH_* after AUTHENTICATION__*.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenClient, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { assertNoSecret, fakeJwt, jwtClaims, memoryStore, rejectsOAuth, sleep, throwsOAuth } from './helpers.mjs';

const carol = { clientId: 'carol', clientSecret: 'carol-secret-5b7e01c2' };
const LATEST_DATE = 8.64e15;

let demo;
before(async () => {
  demo = await startDemo({ clients: [carol] });
});
after(() => demo?.close());

/** A fetch that records every call and answers 200 (the resource server). */
function recorder() {
  const calls = [];
  const fetch = async (input, init) => {
    calls.push({ url: String(input instanceof Request ? input.url : input), headers: new Headers(init?.headers) });
    return new Response('{}', { status: 200 });
  };
  return { calls, fetch };
}

/** The client id of the token `client` got from the demo server. */
const azp = async (client) => jwtClaims(await client.getToken()).azp;

describe('static tokens', { timeout: 30_000 }, () => {
  test('DATACOSMOS_USER_TOKEN (opaque): served as it is, never expires, no request', async () => {
    const { calls, fetch } = recorder();
    const events = [];
    const client = TokenClient.fromEnv({ DATACOSMOS_USER_TOKEN: 'opaque-user-token' }, { fetch, onEvent: (e) => events.push(e) });
    assert.equal(await client.getToken(), 'opaque-user-token');
    assert.deepEqual({ ...(await client.getTokenInfo()) }, { accessToken: 'opaque-user-token', tokenType: 'Bearer', expiresAt: LATEST_DATE });
    assert.equal(new Date((await client.getTokenInfo()).expiresAt).getTime(), LATEST_DATE);
    assert.equal(await client.authorizationHeader(), 'Bearer opaque-user-token');
    client.clear();
    assert.equal(await client.getToken(), 'opaque-user-token');
    assert.equal(calls.length, 0, 'no token request');
    // client.fetch sends it to the resource server (the only fetch call).
    await client.fetch('http://127.0.0.1:1/resource');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].url, 'http://127.0.0.1:1/resource');
    assert.equal(calls[0].headers.get('authorization'), 'Bearer opaque-user-token');
    assert.deepEqual(events, []);
  });

  test('DATACOSMOS_ACCESS_TOKEN when DATACOSMOS_USER_TOKEN is unset or empty', async () => {
    assert.equal(await TokenClient.fromEnv({ DATACOSMOS_ACCESS_TOKEN: 'docs-token' }).getToken(), 'docs-token');
    assert.equal(await TokenClient.fromEnv({ DATACOSMOS_USER_TOKEN: '', DATACOSMOS_ACCESS_TOKEN: 'docs-token' }).getToken(), 'docs-token');
  });

  test('DATACOSMOS_USER_TOKEN wins over DATACOSMOS_ACCESS_TOKEN', async () => {
    const client = TokenClient.fromEnv({ DATACOSMOS_ACCESS_TOKEN: 'docs-token', DATACOSMOS_USER_TOKEN: 'user-token' });
    assert.equal(await client.getToken(), 'user-token');
  });

  test('a JWT is served until its exp (2 s ahead), then token_expired, without any request', async () => {
    const { calls, fetch } = recorder();
    const store = memoryStore();
    const events = [];
    const exp = Math.ceil(Date.now() / 1000) + 2;
    const token = fakeJwt({ sub: 'user', exp });
    const client = TokenClient.fromEnv({ DATACOSMOS_USER_TOKEN: token },
      { fetch, store, onEvent: (e) => events.push(e), refreshLeewaySeconds: 60 });
    const info = await client.getTokenInfo();
    assert.equal(info.accessToken, token);
    assert.equal(info.expiresAt, exp * 1000);
    while (Date.now() < exp * 1000) await sleep(100);
    const err = await rejectsOAuth(OAuthError, client.getToken(), { code: 'token_expired', status: undefined });
    assert.match(err.message, /expired/);
    assertNoSecret(err, token);
    await rejectsOAuth(OAuthError, client.authorizationHeader(), { code: 'token_expired' });
    await rejectsOAuth(OAuthError, client.fetch('http://127.0.0.1:1/resource'), { code: 'token_expired' });
    client.clear();
    await rejectsOAuth(OAuthError, client.getTokenInfo(), { code: 'token_expired' });
    assert.equal(calls.length, 0, 'neither a token request nor the resource request');
    assert.deepEqual(store.calls, [], 'a static token is never stored');
    assert.ok(events.every((e) => e.type === 'negative_cache' && e.code === 'token_expired'), JSON.stringify(events));
  });

  test('a JWT whose exp has passed is token_expired at once', async () => {
    const client = TokenClient.fromEnv({ DATACOSMOS_ACCESS_TOKEN: fakeJwt({ exp: 1_600_000_000 }) });
    await rejectsOAuth(OAuthError, client.getToken(), { code: 'token_expired' });
  });

  test('a token with characters outside VSCHAR is invalid_config, not echoed', () => {
    const err = throwsOAuth(OAuthError, () => TokenClient.fromEnv({ DATACOSMOS_USER_TOKEN: 'abc\nsecret-part' }), { code: 'invalid_config' });
    assertNoSecret(err, 'secret-part');
  });

  test('neither credentials nor a static token: invalid_config', () => {
    throwsOAuth(OAuthError, () => TokenClient.fromEnv({ DATACOSMOS_USER_TOKEN: '', DATACOSMOS_ACCESS_TOKEN: '' }), { code: 'invalid_config' });
  });
});

describe('precedence of client credentials', { timeout: 30_000 }, () => {
  const url = () => ({ DATACOSMOS_TOKEN_URL: demo.tokenUrl, DATACOSMOS_USER_TOKEN: 'user-token' });

  test('client id and secret win over a static token', async () => {
    const client = TokenClient.fromEnv({ ...url(), DATACOSMOS_CLIENT_ID: carol.clientId, DATACOSMOS_CLIENT_SECRET: carol.clientSecret });
    assert.equal(await azp(client), 'carol');
  });

  test('OC_AUTH_CLIENT_ID / OC_AUTH_CLIENT_SECRET are read (and win over a static token)', async () => {
    const client = TokenClient.fromEnv({ ...url(), OC_AUTH_CLIENT_ID: carol.clientId, OC_AUTH_CLIENT_SECRET: carol.clientSecret });
    assert.equal(await azp(client), 'carol');
  });

  test('OC_AUTH_* come after AUTHENTICATION__* and DATACOSMOS_*', async () => {
    const wrong = { OC_AUTH_CLIENT_ID: 'someone-else', OC_AUTH_CLIENT_SECRET: 'wrong-secret' };
    const sdk = TokenClient.fromEnv({ ...url(), ...wrong,
      AUTHENTICATION__CLIENT_ID: carol.clientId, AUTHENTICATION__CLIENT_SECRET: carol.clientSecret });
    assert.equal(await azp(sdk), 'carol');
    const ours = TokenClient.fromEnv({ ...url(), ...wrong,
      DATACOSMOS_CLIENT_ID: carol.clientId, DATACOSMOS_CLIENT_SECRET: carol.clientSecret });
    assert.equal(await azp(ours), 'carol');
  });

  test('the OC_AUTH_CLIENT_SECRET seals the store', async () => {
    const store = memoryStore();
    const client = TokenClient.fromEnv({ ...url(), OC_AUTH_CLIENT_ID: carol.clientId, OC_AUTH_CLIENT_SECRET: carol.clientSecret }, { store });
    await client.getToken();
    const puts = store.calls.filter(([op]) => op === 'put');
    assert.ok(puts.length > 0);
    // A client given the same secret in code finds it: the entry was sealed with it.
    const other = new TokenClient({ ...carol, tokenUrl: demo.tokenUrl, store, fetch: () => { throw new Error('no request expected'); } });
    assert.equal(await other.getToken(), await client.getToken(), 'the second client unsealed the stored token');
  });

  for (const [name, vars] of [
    ['only a client id', { DATACOSMOS_CLIENT_ID: 'carol' }],
    ['only a client secret', { DATACOSMOS_CLIENT_SECRET: 'lonely-secret-77' }],
    ['only OC_AUTH_CLIENT_ID', { OC_AUTH_CLIENT_ID: 'carol' }],
    ['only AUTHENTICATION__CLIENT_SECRET', { AUTHENTICATION__CLIENT_SECRET: 'lonely-secret-77' }],
  ]) {
    test(`${name} with a static token: invalid_config`, () => {
      const err = throwsOAuth(OAuthError, () => TokenClient.fromEnv({ ...url(), ...vars }), { code: 'invalid_config' });
      assertNoSecret(err, 'lonely-secret-77', 'user-token');
    });
  }
});
