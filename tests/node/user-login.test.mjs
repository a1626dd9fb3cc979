// UserLogin (pkg/login.js) end to end in Node against a real authorization server
// (oidc-provider on 127.0.0.1: a public native client, PKCE S256 required, refresh token
// rotation), the login page completed by the fetch-only agent; the fault proxy in front
// of its token endpoint where the server itself must misbehave (hostile input, races).
// The browser flow runs in Chromium (tests/browser/user-login.test.mjs), the CLI's in tests/node/cli-login.test.mjs.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { UserLogin, OAuthError } from "datacosmos-auth";
import { startLoginServer } from "../servers/oidc-login.mjs";
import { completeLogin } from "../servers/login-agent.mjs";
import { startFaultProxy } from "../servers/faulty.mjs";

const REDIRECT = "http://127.0.0.1:9/callback"; // never fetched: the agent stops there
let server;
let proxy; // in front of the token endpoint, for a server that misbehaves

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

async function loggedIn(l) {
  const { callbackUrl } = await completeLogin(await l.authorizationUrl());
  return { client: await l.handleCallback(callbackUrl), callbackUrl };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("UserLogin against oidc-provider", { timeout: 60_000 }, () => {
  test("the authorization request carries PKCE S256, state, scope and audience", async () => {
    const l = login({ audience: "https://beeapp.open-cosmos.com", extraParams: { prompt: "login" } });
    const url = new URL(await l.authorizationUrl());
    const q = Object.fromEntries(url.searchParams);
    assert.equal(url.origin + url.pathname, server.authorizeUrl);
    assert.equal(q.response_type, "code");
    assert.equal(q.client_id, server.nativeClientId);
    assert.equal(q.redirect_uri, REDIRECT);
    assert.equal(q.scope, "openid profile email offline_access");
    assert.equal(q.code_challenge_method, "S256");
    assert.match(q.code_challenge, /^[\w-]{43}$/);
    assert.match(q.state, /^[\w-]{43}$/);
    assert.equal(q.audience, "https://beeapp.open-cosmos.com");
    assert.equal(q.prompt, "login");
    const again = new URL(await l.authorizationUrl()).searchParams;
    assert.notEqual(again.get("state"), q.state, "a fresh state per login");
    assert.notEqual(again.get("code_challenge"), q.code_challenge, "a fresh verifier per login");
  });

  test("login, then refreshes with rotation: one request per renewal, the old refresh token refused", async () => {
    const storage = memoryStorage();
    const l = login({ storage });
    const before = server.tokenLog().length;
    const { client } = await loggedIn(l);
    const first = await client.getTokenInfo();
    assert.equal(first.tokenType, "Bearer");
    assert.ok(first.expiresAt > Date.now());
    const refresh1 = storage.map.get(`datacosmos-auth:user:${server.nativeClientId}:refresh`);
    assert.ok(refresh1, "the refresh token is kept in storage");
    assert.equal(await client.getToken(), first.accessToken, "cached: no second request");
    await sleep(2300); // 3 s tokens, renewed from 1 s before expiry
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()));
    assert.equal(new Set(tokens).size, 1, "20 callers share one renewal");
    assert.notEqual(tokens[0], first.accessToken);
    const log = server.tokenLog().slice(before);
    assert.deepEqual(log.map((e) => [e.grantType, e.status]), [["authorization_code", 200], ["refresh_token", 200]]);
    const refresh2 = storage.map.get(`datacosmos-auth:user:${server.nativeClientId}:refresh`);
    assert.ok(refresh2 && refresh2 !== refresh1, "the rotated refresh token replaced the old one");
    // The old one is spent: the server refuses it (rotation is real, not just tolerated).
    const res = await fetch(server.tokenUrl, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refresh1, client_id: server.nativeClientId }),
    });
    assert.equal((await res.json()).error, "invalid_grant");
    client.free();
  });

  test("restore() rebuilds the session from storage; without storage there is none", async () => {
    const storage = memoryStorage();
    const { client } = await loggedIn(login({ storage }));
    const token = await client.getToken();
    const requests = server.tokenRequests();
    const restored = await login({ storage }).restore();
    assert.ok(restored);
    assert.equal(await restored.getToken(), token, "the stored access token, no request");
    assert.equal(server.tokenRequests(), requests);
    assert.equal(await login().restore(), null, "memory only: a new UserLogin has no session");
    client.free();
    restored.free();
  });

  test("a failed new login keeps the earlier session; a successful one replaces it", async () => {
    const storage = memoryStorage();
    const { client } = await loggedIn(login({ storage }));
    const token = await client.getToken();
    client.free();
    const l = login({ storage });
    const { callbackUrl } = await completeLogin(await l.authorizationUrl());
    const bad = new URL(callbackUrl);
    bad.searchParams.set("code", "not-a-code");
    await assert.rejects(l.handleCallback(bad), { code: "invalid_grant" });
    const kept = await login({ storage }).restore();
    assert.equal(await kept.getToken(), token, "the earlier session is still there");
    kept.free();
    const { client: next } = await loggedIn(login({ storage }));
    const fresh = await next.getToken();
    assert.notEqual(fresh, token, "the new login's token, not the stored one");
    const restored = await login({ storage }).restore();
    assert.equal(await restored.getToken(), fresh);
    next.free();
    restored.free();
  });

  test("a tampered or unknown state is state_mismatch, and no code is exchanged", async () => {
    const l = login();
    const { callbackUrl } = await completeLogin(await l.authorizationUrl());
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set("state", `${tampered.searchParams.get("state")}x`);
    const exchanges = server.codeExchanges();
    await assert.rejects(l.handleCallback(tampered), (e) => e instanceof OAuthError && e.code === "state_mismatch");
    await assert.rejects(login().handleCallback(callbackUrl), { code: "state_mismatch" }, "another UserLogin did not start it");
    const noState = new URL(callbackUrl);
    noState.searchParams.delete("state");
    await assert.rejects(l.handleCallback(noState), { code: "state_mismatch" });
    assert.equal(server.codeExchanges(), exchanges);
  });

  test("a pending login is used once: the same callback twice is state_mismatch", async () => {
    const l = login();
    const { client, callbackUrl } = await loggedIn(l);
    await assert.rejects(l.handleCallback(callbackUrl), { code: "state_mismatch" });
    client.free();
  });

  test("a reused code and a wrong code verifier are invalid_grant from the server", async () => {
    // Two logins: the second login's callback is completed with the first's (already
    // exchanged) code, so the state matches but the server refuses the code.
    const a = login();
    const { client, callbackUrl } = await loggedIn(a);
    const b = login();
    const second = await completeLogin(await b.authorizationUrl());
    const reused = new URL(second.callbackUrl);
    reused.searchParams.set("code", new URL(callbackUrl).searchParams.get("code"));
    await assert.rejects(b.handleCallback(reused), (e) => e.code === "invalid_grant" && e.status === 400);
    // The wrong verifier: b's code with c's pending login (its state, its verifier).
    const c = login();
    const third = await completeLogin(await c.authorizationUrl());
    const crossed = new URL(second.callbackUrl);
    crossed.searchParams.set("state", new URL(third.callbackUrl).searchParams.get("state"));
    await assert.rejects(c.handleCallback(crossed), { code: "invalid_grant" });
    client.free();
  });

  test("the server's refusal in the callback keeps its code and description", async () => {
    const l = login();
    const { callbackUrl } = await completeLogin(await l.authorizationUrl(), { cancel: true });
    await assert.rejects(l.handleCallback(callbackUrl), (e) => e.code === "access_denied" && typeof e.description === "string");
  });

  test("a revoked refresh token: the valid access token is still served, then invalid_grant", async () => {
    const l = login();
    const { client } = await loggedIn(l);
    const token = await client.getToken();
    server.revokeAll();
    await sleep(2300);
    // Due but not expired: the failed renewal does not take the valid token away.
    assert.equal(await client.getToken(), token);
    await sleep(1000);
    await assert.rejects(client.getToken(), (e) => e.code === "invalid_grant");
    // The refused refresh token is not sent again on every call (negative cache).
    const requests = server.tokenRequests();
    await assert.rejects(client.getToken(), { code: "invalid_grant" });
    assert.equal(server.tokenRequests(), requests);
    client.free();
  });

  test("logout revokes the refresh token at the server and forgets the session", async () => {
    const storage = memoryStorage();
    const l = login({ storage });
    const { client } = await loggedIn(l);
    await client.getToken();
    const refresh = storage.map.get(`datacosmos-auth:user:${server.nativeClientId}:refresh`);
    assert.deepEqual(await l.logout(), { revoked: true });
    assert.equal(storage.map.size, 0, "nothing left in storage");
    assert.equal(await l.restore(), null);
    await assert.rejects(client.getToken(), { code: "invalid_config" }, "the client was freed");
    const res = await fetch(server.tokenUrl, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refresh, client_id: server.nativeClientId }),
    });
    assert.equal((await res.json()).error, "invalid_grant", "revoked at the server (RFC 7009)");
  });

  test("logout says whether the server confirmed the revocation", async () => {
    const { client } = await loggedIn(login());
    client.free();
    assert.deepEqual(await login().logout(), { revoked: false }, "nobody logged in");
    const skip = login();
    await loggedIn(skip);
    assert.deepEqual(await skip.logout({ revoke: false }), { revoked: false });
    const down = login({ revocationUrl: "http://127.0.0.1:9/oauth/revoke" });
    await loggedIn(down);
    assert.deepEqual(await down.logout(), { revoked: false }, "the revocation endpoint is unreachable");
  });

  test("a new login revokes the refresh token of the session it replaces", async () => {
    const storage = memoryStorage();
    const key = `datacosmos-auth:user:${server.nativeClientId}:refresh`;
    const first = await loggedIn(login({ storage }));
    const old = storage.map.get(key);
    first.client.free();
    const revocations = server.revocations().length;
    const l = login({ storage });
    const { client } = await loggedIn(l);
    assert.notEqual(storage.map.get(key), old);
    assert.equal(server.revocations().length, revocations + 1);
    assert.equal((await server.refresh(old)).error, "invalid_grant", "the replaced refresh token is revoked");
    // The new session is not: it still refreshes.
    client.clear();
    assert.equal(typeof await client.getToken(), "string");
    client.free();
  });

  test("no secret of the login in errors or events", async () => {
    const events = [];
    const storage = memoryStorage();
    const l = login({ storage, onEvent: (e) => events.push(JSON.stringify(e)) });
    const { client } = await loggedIn(l);
    await client.getToken();
    const refresh = storage.map.get(`datacosmos-auth:user:${server.nativeClientId}:refresh`);
    server.revokeAll();
    client.clear();
    const err = await client.getToken().catch((e) => e);
    assert.equal(err.code, "invalid_grant");
    const seen = [err.message, err.stack, JSON.stringify(err), ...events].join("\n");
    assert.ok(events.length > 0);
    assert.ok(!seen.includes(refresh), "the refresh token is nowhere");
    client.free();
  });
});

describe("UserLogin config", () => {
  test("bad options are invalid_config, thrown by the constructor", () => {
    const base = { clientId: "c", redirectUri: "https://app.example/cb" };
    for (const [bad, what] of [
      [{ ...base, clientId: "" }, "clientId"],
      [{ redirectUri: base.redirectUri }, "clientId"],
      [{ clientId: "c" }, "redirectUri"],
      [{ ...base, redirectUri: "http://app.example/cb" }, "redirectUri"],
      [{ ...base, redirectUri: "https://app.example/cb#x" }, "redirectUri"],
      [{ ...base, authorizeUrl: "ftp://x/" }, "authorizeUrl"],
      [{ ...base, audience: "" }, "audience"],
      [{ ...base, extraParams: { state: "x" } }, "state"],
      [{ ...base, extraParams: { prompt: 1 } }, "prompt"],
      [{ ...base, storage: {} }, "storage"],
      [{ ...base, tokenUrl: "http://app.example/token" }, "tokenUrl"],
      [{ ...base, get scope() { throw new Error("boom"); } }, "scope"],
    ]) {
      assert.throws(() => new UserLogin(bad), (e) => e instanceof OAuthError && e.code === "invalid_config" && e.message.includes(what), what);
    }
    assert.throws(() => new UserLogin(null), { code: "invalid_config" });
  });

  test("inherited (polluted) options never count", async () => {
    Object.prototype.authorizeUrl = "https://evil.example/authorize";
    try {
      const url = await new UserLogin({ clientId: "c", redirectUri: "https://app.example/cb", transientStorage: null }).authorizationUrl();
      assert.ok(url.startsWith("https://login.open-cosmos.com/authorize?"), url);
    } finally {
      delete Object.prototype.authorizeUrl;
    }
  });

  test('authMethod "none" without a login is refused by TokenClient', async () => {
    const { TokenClient } = await import("datacosmos-auth");
    assert.throws(() => new TokenClient({ clientId: "c", authMethod: "none" }), (e) => e.code === "invalid_config" && /UserLogin/.test(e.message));
    // The session member counts only as an own member: an inherited one (a polluted
    // Object.prototype) does not make a public client.
    const SESSION = Symbol.for("datacosmos-auth/session");
    Object.prototype[SESSION] = { request() {}, answer() {} };
    try {
      assert.throws(() => new TokenClient({ clientId: "c", authMethod: "none" }), { code: "invalid_config" });
    } finally {
      delete Object.prototype[SESSION];
    }
    // A Proxy whose trap throws on that member's lookup is invalid_config, like any other.
    const trap = new Proxy({ clientId: "c", clientSecret: "s" }, {
      getOwnPropertyDescriptor(target, k) {
        if (typeof k === "symbol") throw new Error("trap");
        return Reflect.getOwnPropertyDescriptor(target, k);
      },
      ownKeys: (target) => [...Reflect.ownKeys(target), SESSION],
    });
    assert.throws(() => new TokenClient(trap), (e) => e.code === "invalid_config" && /could not be read/.test(e.message));
  });
});

const refreshKey = () => `datacosmos-auth:user:${server.nativeClientId}:refresh`;

/** `a` and `b` handle one callback at once: its code is sent once, the other is state_mismatch. */
async function handledOnce(a, b, callbackUrl) {
  const exchanges = server.codeExchanges();
  const results = await Promise.allSettled([a.handleCallback(callbackUrl), b.handleCallback(callbackUrl)]);
  assert.equal(server.codeExchanges() - exchanges, 1, "the code is sent once (RFC 6749 §4.1.2: a reused code may revoke the grant)");
  assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  assert.equal(results.find((r) => r.status === "rejected").reason.code, "state_mismatch");
  results.find((r) => r.status === "fulfilled").value.free();
}

describe("UserLogin: hostile callbacks, pollution and races", { timeout: 60_000 }, () => {
  test("two handleCallback of one callback at once (a page after a reload, React StrictMode): one code exchange", async () => {
    const transient = memoryStorage();
    const { callbackUrl } = await completeLogin(await login({ transientStorage: transient }).authorizationUrl());
    const page = login({ transientStorage: transient }); // the reloaded page: the pending login only in storage
    await handledOnce(page, page, callbackUrl);
  });

  test("one callback handled by two copies of the package at once (ESM and CommonJS, or two bundles): one UserLogin class, one code exchange", async () => {
    const cjs = createRequire(import.meta.url)("datacosmos-auth");
    assert.equal(cjs.UserLogin, UserLogin, "one UserLogin class per process, as TokenClient and OAuthError");
    const transient = memoryStorage();
    const { callbackUrl } = await completeLogin(await login({ transientStorage: transient }).authorizationUrl());
    const esmPage = login({ transientStorage: transient });
    const cjsPage = new cjs.UserLogin({
      clientId: server.nativeClientId, redirectUri: REDIRECT, authorizeUrl: server.authorizeUrl,
      tokenUrl: server.tokenUrl, revocationUrl: server.revocationUrl, audience: null, transientStorage: transient,
    });
    await handledOnce(esmPage, cjsPage, callbackUrl);
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
    const start = server.tokenLog().length;
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
    const refused = server.tokenLog().slice(start).filter((e) => e.grantType === "refresh_token" && e.status !== 200);
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

  test("a storage or transientStorage whose members throw when read (a Proxy trap, a getter) is invalid_config", () => {
    const trap = new Proxy({}, { get() { throw new Error("trap"); } });
    const getter = { get getItem() { throw new Error("getter"); }, setItem() {}, removeItem() {} };
    for (const name of ["storage", "transientStorage"]) {
      for (const s of [trap, getter]) {
        assert.throws(() => login({ [name]: s }), (e) => e instanceof OAuthError && e.code === "invalid_config" && e.message.includes(name), name);
      }
    }
  });

  test("no crypto.subtle (a page on plain http that is not loopback: not a secure context): authorizationUrl() is invalid_config", async () => {
    const had = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    const { getRandomValues } = globalThis.crypto;
    Object.defineProperty(globalThis, "crypto", { configurable: true, value: { getRandomValues: (a) => getRandomValues.call(had.get ? had.get.call(globalThis) : had.value, a) } });
    try {
      await assert.rejects(login().authorizationUrl(), (e) => e instanceof OAuthError && e.code === "invalid_config" && /secure context/.test(e.message));
    } finally {
      Object.defineProperty(globalThis, "crypto", had);
    }
  });
});
