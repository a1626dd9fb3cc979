// The optional shared TokenStore (Cloudflare-KV-shaped): opaque keys, sealed
// values, misses on failure, bounded calls, clear() deletes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenClient } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { memoryStore } from './helpers.mjs';

const dave = { clientId: 'dave-client-id', clientSecret: 'dave-secret-5e884898da28047151d0e56f' };
const dave2 = { clientId: 'dave-client-id', clientSecret: 'dave-second-secret-a1b2c3d4' };

let demo;
let shortDemo;
before(async () => {
  demo = await startDemo({ clients: [dave] });
  shortDemo = await startDemo({ clients: [dave], lifetimeSeconds: 30 });
});
after(async () => {
  await shortDemo?.close();
  await demo?.close();
});

const config = (store, extra = {}) => ({ ...dave, tokenUrl: demo.tokenUrl, store, ...extra });

async function counted(fn, server = demo) {
  const from = server.tokenRequests();
  const value = await fn();
  return { value, count: server.tokenRequests() - from };
}

const variants = (text) => [
  text,
  Buffer.from(text).toString('base64'),
  Buffer.from(text).toString('base64url'),
  Buffer.from(text).toString('hex'),
  encodeURIComponent(text),
];

// The calls on the token entry itself, without those on its refresh-lease key.
const entryCalls = (store) => store.calls.filter(([, key]) => !/:(lease|quota)$/.test(String(key)));

describe('TokenStore', { timeout: 20_000 }, () => {
  test('getToken puts one entry; key and value hold neither secret, client id nor token', async () => {
    const store = memoryStore();
    const token = await new TokenClient(config(store)).getToken();
    const puts = entryCalls(store).filter(([op]) => op === 'put');
    assert.equal(puts.length, 1);
    const [, key, value, options] = puts[0];
    assert.equal(typeof key, 'string');
    assert.equal(typeof value, 'string');
    for (const secret of [dave.clientSecret, dave.clientId, token, token.split('.')[1], token.split('.')[2]]) {
      for (const v of variants(secret)) {
        assert.ok(!key.includes(v), 'the store key contains a secret value');
        assert.ok(!value.includes(v), 'the store value contains a secret value');
      }
    }
    assert.ok(!key.includes(demo.tokenUrl), 'the key is an opaque hash');
    assert.ok(options && Number.isInteger(options.expirationTtl), 'put passes expirationTtl');
    assert.ok(options.expirationTtl >= 60);
  });

  test('a second client with the same config reads the store, no token request', async () => {
    const store = memoryStore();
    const first = await new TokenClient(config(store)).getToken();
    const { value: second, count } = await counted(() => new TokenClient(config(store)).getTokenInfo());
    assert.equal(count, 0);
    assert.equal(second.accessToken, first);
    assert.equal(second.tokenType, 'Bearer');
    assert.ok(second.expiresAt > Date.now() + 3000_000);
  });

  test('a different secret, audience or scope is a different key', async () => {
    const store = memoryStore();
    await new TokenClient(config(store)).getToken();
    await new TokenClient(config(store, { scope: 'other' })).getToken();
    await new TokenClient(config(store, { audience: null })).getToken();
    const wrongSecret = new TokenClient(config(store, { ...dave2, maxRetries: 0 }));
    await assert.rejects(wrongSecret.getToken()); // not served from the entry of the right secret
    const keys = new Set(entryCalls(store).filter(([op]) => op === 'get').map(([, key]) => key));
    assert.equal(keys.size, 4);
  });

  test('expirationTtl is at least 60 even for a 30 s token', async () => {
    const store = memoryStore();
    await new TokenClient({ ...dave, tokenUrl: shortDemo.tokenUrl, store }).getToken();
    const [, , , options] = entryCalls(store).find(([op]) => op === 'put');
    assert.ok(options.expirationTtl >= 60, `expirationTtl ${options.expirationTtl}`);
  });

  test('a tampered value is a miss', async () => {
    const store = memoryStore();
    await new TokenClient(config(store)).getToken();
    const [key, value] = [...store.map][0];
    const i = Math.floor(value.length / 2);
    const flipped = value[i] === 'A' ? 'B' : 'A';
    store.map.set(key, value.slice(0, i) + flipped + value.slice(i + 1));
    const { value: token, count } = await counted(() => new TokenClient(config(store)).getToken());
    assert.equal(count, 1);
    assert.equal(typeof token, 'string');
  });

  test('garbage and forged plaintext values are misses', async () => {
    const store = memoryStore();
    await new TokenClient(config(store)).getToken();
    const [key] = [...store.map.keys()];
    for (const junk of ['', 'not sealed', '{"accessToken":"x","expiresAt":9999999999999}']) {
      store.map.set(key, junk);
      const { count } = await counted(() => new TokenClient(config(store)).getToken());
      assert.equal(count, 1, `value ${JSON.stringify(junk)} was accepted`);
    }
  });

  test('clear() calls delete with the stored key', async () => {
    const store = memoryStore();
    const client = new TokenClient(config(store));
    await client.getToken();
    const [key] = [...store.map.keys()];
    client.clear();
    await new Promise((r) => setTimeout(r, 100)); // delete may be fire-and-forget
    assert.deepEqual(entryCalls(store).filter(([op]) => op === 'delete'), [['delete', key]]);
    assert.equal(store.map.size, 0);
    const { count } = await counted(() => new TokenClient(config(store)).getToken());
    assert.equal(count, 1);
  });

  test('clear() works with a store that has no delete', async () => {
    const { get, put, map } = memoryStore();
    const client = new TokenClient(config({ get, put }));
    await client.getToken();
    assert.doesNotThrow(() => client.clear());
    assert.equal(typeof (await client.getToken()), 'string');
    const keys = [...map.keys()];
    assert.equal(keys.filter((k) => !k.endsWith(':lease')).length, 1);
    // Without delete, the refresh lease is given back by marking it expired.
    for (const k of keys.filter((k) => k.endsWith(':lease'))) assert.match(map.get(k), /\.0$/);
  });

  test('a store that throws still yields the token', async () => {
    const store = {
      get() { throw new Error('get exploded'); },
      put() { throw new Error('put exploded'); },
      delete() { throw new Error('delete exploded'); },
    };
    const client = new TokenClient(config(store));
    assert.equal(typeof (await client.getToken()), 'string');
    assert.doesNotThrow(() => client.clear());
  });

  test('a store that rejects still yields the token', async () => {
    const store = {
      get: async () => { throw new Error('get rejected'); },
      put: async () => { throw new Error('put rejected'); },
    };
    assert.equal(typeof (await new TokenClient(config(store)).getToken()), 'string');
  });

  test('a store that never answers still yields the token, bounded by min(timeoutMs, 1000)', async () => {
    const never = () => new Promise(() => {});
    const store = { get: never, put: never, delete: never };
    const t0 = performance.now();
    const token = await new TokenClient(config(store, { timeoutMs: 300 })).getToken();
    const ms = performance.now() - t0;
    assert.equal(typeof token, 'string');
    assert.ok(ms < 3000, `took ${Math.round(ms)} ms`);
  });

  test('a store that never answers, default timeoutMs: bounded by about 1 s per call', async () => {
    const never = () => new Promise(() => {});
    const t0 = performance.now();
    const token = await new TokenClient(config({ get: never, put: never })).getToken();
    const ms = performance.now() - t0;
    assert.equal(typeof token, 'string');
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
  });

  test('getToken resolves after put() settles', async () => {
    const store = memoryStore();
    let putDone = false;
    const slow = {
      get: store.get,
      async put(...args) {
        await new Promise((r) => setTimeout(r, 150));
        await store.put(...args);
        putDone = true;
      },
    };
    await new TokenClient(config(slow)).getToken();
    assert.equal(putDone, true);
  });

  test('a store hit is still served from memory afterwards (one get)', async () => {
    const store = memoryStore();
    await new TokenClient(config(store)).getToken();
    const client = new TokenClient(config(store));
    await client.getToken();
    const gets = entryCalls(store).filter(([op]) => op === 'get').length;
    await client.getToken();
    assert.equal(entryCalls(store).filter(([op]) => op === 'get').length, gets);
  });

  test('waitUntil: store writes are handed over, getToken does not wait for them', async () => {
    const store = memoryStore();
    let releasePut;
    const gate = new Promise((r) => { releasePut = r; });
    const slow = { get: store.get, async put(...args) { await gate; await store.put(...args); } };
    const handed = [];
    const token = await new TokenClient(config(slow, { waitUntil: (p) => handed.push(p) })).getToken();
    assert.equal(typeof token, 'string');
    assert.equal(store.map.size, 0, 'the put had not happened when the token was returned');
    assert.ok(handed.length >= 1, 'the write went to waitUntil');
    releasePut();
    await Promise.all(handed);
    assert.equal(entryCalls(store).filter(([op]) => op === 'put').length, 1);
    assert.throws(() => new TokenClient(config(store, { waitUntil: 'later' })), { code: 'invalid_config' });
  });

  test('an entry sealed with another secret, copied under this client\'s key, is a miss', async () => {
    // One client id with two valid secrets (as during a rotation), at one token URL:
    // the entries differ only by the secret they are sealed with.
    const rotating = await startDemo({ clients: [dave, dave2] });
    try {
      const at = (creds, store) => new TokenClient({ ...creds, tokenUrl: rotating.tokenUrl, store, maxRetries: 0 });
      const entry = (store) => [...store.map].find(([k]) => !k.endsWith(':lease'));
      const storeA = memoryStore();
      const tokenA = await at(dave, storeA).getToken();
      const [keyA, valueA] = entry(storeA);
      const storeB = memoryStore();
      await at(dave2, storeB).getToken();
      const [keyB] = entry(storeB);
      assert.notEqual(keyB, keyA, 'the key depends on the secret');
      storeB.map.set(keyB, valueA); // A's sealed value under B's key
      const { value: tokenB, count } = await counted(() => at(dave2, storeB).getToken(), rotating);
      assert.equal(count, 1, 'the planted entry did not unseal: B asked the server');
      assert.notEqual(tokenB, tokenA, 'B was not handed A\'s token');
    } finally {
      await rotating.close();
    }
  });
});

describe('the store is sealed with the secret the options reader read', () => {
  test('a clientSecret getter: a wrong secret does not unseal the right one\'s entry (found by review)', async () => {
    const store = memoryStore();
    const withGetter = (secret) => Object.defineProperty({ clientId: dave.clientId, tokenUrl: demo.tokenUrl, store, maxRetries: 0 },
      'clientSecret', { get: () => secret, enumerable: true });
    const right = await new TokenClient(withGetter(dave.clientSecret)).getToken();
    const before = demo.tokenRequests();
    const wrong = await new TokenClient(withGetter('attacker-guess')).getToken().then(() => 'token', (e) => e.code);
    assert.notEqual(wrong, 'token', 'the guessed secret got no token');
    assert.equal(demo.tokenRequests() - before, 1, 'it asked the server (and was refused)');
    const again = await new TokenClient(withGetter(dave.clientSecret)).getToken();
    assert.equal(again, right, 'the right secret still reads its entry');
  });
});
