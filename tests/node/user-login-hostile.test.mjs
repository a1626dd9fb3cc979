// UserLogin (pkg/login.js) under hostile input and races, against the real login server
// (tests/servers/oidc-login.mjs: oidc-provider, PKCE S256, refresh token rotation with
// reuse detection) and, where the server itself must misbehave, the fault proxy in
// front of its token endpoint. Each test names the fault it guards against.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { UserLogin, OAuthError } from "datacosmos-auth";
import { startLoginServer } from "../servers/oidc-login.mjs";
import { completeLogin } from "../servers/login-agent.mjs";
import { startFaultProxy } from "../servers/faulty.mjs";

const REDIRECT = "http://127.0.0.1:9/callback"; // never fetched: the agent stops there
let server;
let proxy;

before(async () => {
  server = await startLoginServer({ accessTokenTTL: 3 });
  proxy = await startFaultProxy({ target: server.tokenUrl });
});
after(async () => {
  await proxy.close();
  await server.close();
});

const memoryStorage = () => {
  const m = new Map();
  return { map: m, getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, String(v)), removeItem: (k) => void m.delete(k) };
};

function login(extra = {}) {
  return new UserLogin({
    clientId: server.nativeClientId, redirectUri: REDIRECT, authorizeUrl: server.authorizeUrl,
    tokenUrl: server.tokenUrl, revocationUrl: server.revocationUrl, audience: null, refreshLeewaySeconds: 1,
    transientStorage: null, ...extra,
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const refreshKey = () => `datacosmos-auth:user:${server.nativeClientId}:refresh`;

describe("UserLogin: hostile callbacks, pollution and races", { timeout: 60_000 }, () => {
  test("two handleCallback of one callback at once (a page after a reload, React StrictMode): one code exchange", async () => {
    const transient = memoryStorage();
    const { callbackUrl } = await completeLogin(await login({ transientStorage: transient }).authorizationUrl());
    const page = login({ transientStorage: transient }); // the reloaded page: the pending login only in storage
    const exchanges = server.codeExchanges();
    const results = await Promise.allSettled([page.handleCallback(callbackUrl), page.handleCallback(callbackUrl)]);
    assert.equal(server.codeExchanges() - exchanges, 1, "the code is sent once (RFC 6749 §4.1.2: a reused code may revoke the grant)");
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    assert.equal(results.find((r) => r.status === "rejected").reason.code, "state_mismatch");
    results.find((r) => r.status === "fulfilled").value.free();
  });

  test("a polluted Object.prototype.refresh_token is never taken for a rotated refresh token", async () => {
    const storage = memoryStorage();
    const l = login({ storage, scope: "openid" }); // no offline_access: the server sends no refresh token
    const { callbackUrl } = await completeLogin(await l.authorizationUrl());
    Object.prototype.refresh_token = "polluted";
    let client;
    try {
      client = await l.handleCallback(callbackUrl);
    } finally {
      delete Object.prototype.refresh_token;
    }
    assert.equal(storage.map.get(refreshKey()), undefined, "no refresh token kept");
    client.free();
  });

  test("a polluted Object.prototype.revoke = false does not skip logout's revocation", async () => {
    const l = login();
    const { callbackUrl } = await completeLogin(await l.authorizationUrl());
    await l.handleCallback(callbackUrl);
    const before = server.revocations().length;
    Object.prototype.revoke = false;
    try {
      await l.logout({});
    } finally {
      delete Object.prototype.revoke;
    }
    assert.equal(server.revocations().length - before, 1);
  });

  test("two clients over one storage (two tabs on localStorage): the second never spends a rotated refresh token", async () => {
    const storage = memoryStorage();
    const a = login({ storage });
    const { callbackUrl } = await completeLogin(await a.authorizationUrl());
    const first = await a.handleCallback(callbackUrl);
    const second = await login({ storage }).restore(); // holds the refresh token of now
    await sleep(2300);
    await first.getToken(); // renews: the refresh token rotates, the old one is spent
    await sleep(2300);
    second.clear(); // forget the access token it may have read from storage: it must renew
    await second.getToken(); // must send the rotated refresh token, not the spent one
    await sleep(2300);
    await first.getToken();
    const refused = server.tokenLog().filter((e) => e.grantType === "refresh_token" && e.status !== 200);
    assert.deepEqual(refused, [], "no refresh token sent twice (reuse detection would revoke the grant)");
    first.free();
    second.free();
  });

  test("a token endpoint echoing the code, code verifier or refresh token: none of them in the error", async () => {
    const l = login({ tokenUrl: proxy.tokenUrl });
    const { callbackUrl } = await completeLogin(await l.authorizationUrl());
    const echo = (r) => {
      const p = new URLSearchParams(r.body);
      const said = ["code", "code_verifier", "refresh_token"].filter((k) => p.has(k)).map((k) => `${k}=${p.get(k)} ${encodeURIComponent(p.get(k))}`);
      return { status: 400, body: { error: "invalid_grant", error_description: `refused ${said.join(" ")}` } };
    };
    let sent;
    proxy.queue({ reply: (r) => { sent = new URLSearchParams(r.body); return echo(r); } });
    const err = await l.handleCallback(callbackUrl).catch((e) => e);
    assert.equal(err.code, "invalid_grant");
    const text = [err.message, err.description, err.stack, JSON.stringify(err), String(err)].join("\n");
    assert.match(text, /refused/);
    for (const k of ["code", "code_verifier"]) assert.ok(!text.includes(sent.get(k)), `no ${k} in the error`);

    const events = [];
    const storage = memoryStorage();
    const m = login({ tokenUrl: proxy.tokenUrl, storage, onEvent: (e) => events.push(JSON.stringify(e)) });
    const { callbackUrl: cb } = await completeLogin(await m.authorizationUrl());
    const client = await m.handleCallback(cb);
    const refresh = storage.map.get(refreshKey());
    proxy.queue({ reply: echo });
    client.clear(); // the next call renews with the refresh token
    const err2 = await client.getToken().catch((e) => e);
    assert.equal(err2.code, "invalid_grant");
    const seen = [err2?.message, err2?.description, err2?.stack, JSON.stringify(err2), ...events].join("\n");
    assert.match(seen, /refused/);
    assert.ok(!seen.includes(refresh), "no refresh token in the error or events");
    client.free();
  });

  test("a callback's error outside the error charset: access_denied, a message without it, the description bounded as the token endpoint's", async () => {
    const l = login();
    const state = async () => new URL(await l.authorizationUrl()).searchParams.get("state");
    const hostile = "\x1b]0;pwned\x07\x1b[2J" + "x".repeat(100_000);
    const err = await l.handleCallback(`${REDIRECT}?state=${await state()}&error=${encodeURIComponent(hostile)}&error_description=${encodeURIComponent(hostile)}`).catch((e) => e);
    assert.ok(err instanceof OAuthError);
    assert.equal(err.code, "access_denied");
    assert.ok(!/[\x00-\x1f\x7f-\x9f]/.test(err.message), "no control character in the message");
    assert.ok(err.message.length < 200, `the message is ours (${err.message.length})`);
    assert.ok(err.description.length <= 1025, `the description is cut at 1 KiB as the token endpoint's (${err.description.length})`);
  });

  test("a storage-blocked page (sessionStorage throws on access): the constructor works without it", () => {
    const had = Object.getOwnPropertyDescriptor(globalThis, "sessionStorage");
    Object.defineProperty(globalThis, "sessionStorage", {
      configurable: true, get() { throw new DOMException("Access is denied for this document.", "SecurityError"); },
    });
    try {
      const l = new UserLogin({ clientId: "c", redirectUri: "https://app.example/cb" });
      assert.ok(l instanceof UserLogin);
    } finally {
      if (had) Object.defineProperty(globalThis, "sessionStorage", had);
      else delete globalThis.sessionStorage;
    }
  });
});
