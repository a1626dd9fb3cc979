// Token exchanges against a real authorization server (oidc-provider), directly
// and through the fault proxy (which records the wire requests).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenClient, OAuthError } from 'datacosmos-auth';
import { startOidc } from '../servers/oidc.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import { DEFAULT_AUDIENCE, GRANT, bodyParams, formDecode, rawBasic, rejectsOAuth } from './helpers.mjs';

let oidc;
let proxy;
before(async () => {
  oidc = await startOidc();
  proxy = await startFaultProxy({ target: oidc.tokenUrl });
});
after(async () => {
  await proxy?.close();
  await oidc?.close();
});

/** Runs `fn` and returns the requests the proxy saw meanwhile. */
async function seen(fn) {
  const from = proxy.requests.length;
  const value = await fn();
  return { value, requests: proxy.requests.slice(from) };
}

describe('oidc-provider', { timeout: 20_000 }, () => {
  test('client_secret_post client gets a token; id and secret in the form body', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl });
    const { value: info, requests } = await seen(() => client.getTokenInfo());
    assert.equal(typeof info.accessToken, 'string');
    assert.ok(info.accessToken.length > 20);
    assert.equal(info.tokenType, 'Bearer');
    assert.equal(requests.length, 1);
    const [req] = requests;
    assert.equal(req.method, 'POST');
    assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded/);
    assert.equal(req.headers.authorization, undefined);
    assert.deepEqual(bodyParams(req), {
      grant_type: GRANT,
      client_id: clientId,
      client_secret: clientSecret,
      audience: DEFAULT_AUDIENCE,
    });
  });

  test('oidc-provider accepts the audience parameter (direct, no proxy)', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const before = oidc.tokenRequests();
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: oidc.tokenUrl, audience: 'https://api.example' });
    assert.equal(typeof (await client.getToken()), 'string');
    assert.equal(oidc.tokenRequests(), before + 1);
  });

  test('client_secret_basic client gets a token; the secret is not in the body', async () => {
    const { clientId, clientSecret } = oidc.clients.basic;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, authMethod: 'client_secret_basic' });
    const { value: token, requests } = await seen(() => client.getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests.length, 1);
    const basic = rawBasic(requests[0].headers.authorization);
    assert.equal(formDecode(basic.id), clientId);
    assert.equal(formDecode(basic.secret), clientSecret);
    assert.ok(!requests[0].body.includes(clientSecret));
    assert.equal(bodyParams(requests[0]).client_secret, undefined);
    assert.equal(bodyParams(requests[0]).grant_type, GRANT);
  });

  test('client id "aaa/;&" and a secret with ":", "%", "+", " " are form-encoded before Basic (RFC 6749 §2.3.1)', async () => {
    const { clientId, clientSecret } = oidc.clients.weird;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, authMethod: 'client_secret_basic' });
    const { value: token, requests } = await seen(() => client.getToken());
    assert.equal(typeof token, 'string');
    const basic = rawBasic(requests[0].headers.authorization);
    assert.equal(basic.id, 'aaa%2F%3B%26');
    assert.ok(!basic.secret.includes(':'), 'the ":" of the secret is percent-encoded');
    assert.equal(formDecode(basic.id), clientId);
    assert.equal(formDecode(basic.secret), clientSecret);
  });

  test('the weird client also works with client_secret_post (form body encoding)', async () => {
    // oidc-provider accepts client_secret_post for a client registered for Basic.
    const { clientId, clientSecret } = oidc.clients.weird;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl });
    const { value: token, requests } = await seen(() => client.getToken());
    assert.equal(typeof token, 'string');
    assert.equal(bodyParams(requests[0]).client_id, clientId);
    assert.equal(bodyParams(requests[0]).client_secret, clientSecret);
  });

  test('audience: null omits the parameter', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, audience: null });
    const { requests } = await seen(() => client.getToken());
    assert.equal(requests.length, 1);
    assert.ok(!('audience' in bodyParams(requests[0])));
    assert.ok(!requests[0].body.includes('audience'));
  });

  test('a custom audience is sent as the audience parameter', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, audience: 'https://api.example/v1?x=1&y=2' });
    const { requests } = await seen(() => client.getToken());
    assert.equal(bodyParams(requests[0]).audience, 'https://api.example/v1?x=1&y=2');
  });

  test('extraParams are sent in the body', async () => {
    const { clientId, clientSecret } = oidc.clients.basic;
    const client = new TokenClient({
      clientId,
      clientSecret,
      tokenUrl: proxy.tokenUrl,
      authMethod: 'client_secret_basic',
      extraParams: { organization: 'org 42/&=', foo: 'bär' },
    });
    const { value: token, requests } = await seen(() => client.getToken());
    assert.equal(typeof token, 'string');
    const params = bodyParams(requests[0]);
    assert.equal(params.organization, 'org 42/&=');
    assert.equal(params.foo, 'bär');
    assert.equal(params.grant_type, GRANT);
  });

  test('scope is sent and granted', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, scope: 'read write' });
    const { value: info, requests } = await seen(() => client.getTokenInfo());
    assert.equal(bodyParams(requests[0]).scope, 'read write');
    assert.deepEqual(info.scope.split(' ').sort(), ['read', 'write']);
  });

  test('an unknown scope is the server\'s invalid_scope error, not retried', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: proxy.tokenUrl, scope: 'admin' });
    const { value: err, requests } = await seen(() => rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_scope', status: 400 }));
    assert.equal(requests.length, 1);
    assert.equal(typeof err.description, 'string');
  });

  test('expiresAt follows expires_in (600 s)', async () => {
    const { clientId, clientSecret } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret, tokenUrl: oidc.tokenUrl });
    const t0 = Date.now();
    const info = await client.getTokenInfo();
    const t1 = Date.now();
    assert.ok(info.expiresAt >= t0 + 600_000 - 1000 && info.expiresAt <= t1 + 600_000 + 1000, `expiresAt ${info.expiresAt - t0} ms ahead`);
  });

  test('a wrong secret is invalid_client with status 401 and the server description', async () => {
    const { clientId } = oidc.clients.post;
    const client = new TokenClient({ clientId, clientSecret: 'wrong-secret-value', tokenUrl: proxy.tokenUrl });
    const { value: err, requests } = await seen(() => rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_client', status: 401 }));
    assert.equal(requests.length, 1, 'a 401 is not retried');
    assert.equal(err.description, 'client authentication failed');
  });

  test('a wrong Basic secret is invalid_client too', async () => {
    const { clientId } = oidc.clients.basic;
    const client = new TokenClient({ clientId, clientSecret: 'nope:nope', tokenUrl: oidc.tokenUrl, authMethod: 'client_secret_basic' });
    await rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_client', status: 401 });
  });
});
