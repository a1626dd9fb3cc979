// One scenario, the same in every runtime that runs scripts (Node ESM and CJS, Deno,
// Bun): `mod` is the package as that runtime loaded it from node_modules. It prints
// nothing itself; it returns a report (JSON) that the node test checks.
//
// `cfg` (strings): TOKEN_URL, COUNTS_URL, CLOSED_URL, and the oidc-provider clients
// POST_ID/POST_SECRET, BASIC_ID/BASIC_SECRET, WEIRD_ID/WEIRD_SECRET.
// `fromEnv()` calls TokenClient.fromEnv() with no argument (the runtime's environment,
// which the test set to the `post` client).
export async function scenario(mod, cfg, { resolved, fromEnv }) {
  const { TokenClient, getToken, OAuthError } = mod;
  const counts = async () => (await (await fetch(cfg.COUNTS_URL)).json()).oidc;
  const report = { resolved, exports: Object.keys(mod).sort() };
  let before = await counts();
  const delta = async () => {
    const now = await counts();
    const d = now - before;
    before = now;
    return d;
  };

  // Caching: the second call is served from memory.
  const client = new TokenClient({ clientId: cfg.POST_ID, clientSecret: cfg.POST_SECRET, tokenUrl: cfg.TOKEN_URL });
  const first = await client.getToken();
  const afterFirst = await delta();
  const second = await client.getToken();
  const afterSecond = await delta();
  report.cache = { requests: [afterFirst, afterSecond], same: first === second, tokenLength: first.length };

  const info = await client.getTokenInfo();
  const header = await client.authorizationHeader();
  const expiresIn = (info.expiresAt - Date.now()) / 1000;
  report.info = {
    tokenType: info.tokenType,
    expiresInAbout600s: expiresIn > 590 && expiresIn <= 600,
    headerMatches: header === `Bearer ${first}` && info.accessToken === first,
  };

  // Single flight: five concurrent callers on a cold client, one exchange.
  const basic = new TokenClient({
    clientId: cfg.BASIC_ID, clientSecret: cfg.BASIC_SECRET, tokenUrl: cfg.TOKEN_URL, authMethod: 'client_secret_basic',
  });
  const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => basic.getToken()));
  report.concurrent = { callers: tokens.length, distinct: new Set(tokens).size, requests: await delta() };

  const weird = new TokenClient({
    clientId: cfg.WEIRD_ID, clientSecret: cfg.WEIRD_SECRET, tokenUrl: cfg.TOKEN_URL, authMethod: 'client_secret_basic',
  });
  report.weird = { ok: (await weird.getToken()).length > 10, requests: await delta() };

  // One-shot getToken(config), twice: one request.
  const oneShotConfig = { clientId: cfg.POST_ID, clientSecret: cfg.POST_SECRET, tokenUrl: cfg.TOKEN_URL, scope: 'read' };
  const a = await getToken(oneShotConfig);
  const b = await getToken({ ...oneShotConfig });
  report.oneShot = { same: a === b, requests: await delta() };

  // fromEnv() without an argument reads the runtime's environment.
  const envToken = await fromEnv().getToken();
  report.fromEnv = { ok: typeof envToken === 'string' && envToken.length > 10, requests: await delta() };

  // An OAuth error from the server: wrong secret -> invalid_client, not retried.
  const wrongSecret = 'wrong-secret-5d1e0f7a';
  try {
    await new TokenClient({ clientId: cfg.POST_ID, clientSecret: wrongSecret, tokenUrl: cfg.TOKEN_URL }).getToken();
    report.wrongSecret = { rejected: false };
  } catch (e) {
    const renderings = [String(e), JSON.stringify(e), String(e?.message), String(e?.stack), String(e?.description)];
    report.wrongSecret = {
      rejected: true,
      instanceOfOAuthError: e instanceof OAuthError,
      instanceOfError: e instanceof Error,
      name: e?.name,
      code: e?.code,
      status: e?.status,
      leaked: renderings.some((r) => r.includes(wrongSecret)),
      requests: await delta(),
    };
  }

  // Invalid config: thrown synchronously by the constructor.
  try {
    new TokenClient({ clientId: 'x', clientSecret: 'y-secret', tokenUrl: 'http://example.com/oauth/token' });
    report.invalidConfig = { threwSynchronously: false };
  } catch (e) {
    report.invalidConfig = { threwSynchronously: true, instanceOfOAuthError: e instanceof OAuthError, code: e?.code };
  }

  // Nothing listening: network_error, no status.
  try {
    await new TokenClient({ clientId: 'x', clientSecret: 'y-secret', tokenUrl: cfg.CLOSED_URL, maxRetries: 0 }).getToken();
    report.network = { rejected: false };
  } catch (e) {
    report.network = { instanceOfOAuthError: e instanceof OAuthError, code: e?.code, status: e?.status ?? null };
  }
  return report;
}

/** The scenario's inputs, from an environment getter (process.env or Deno.env.get). */
export function configFrom(get) {
  const names = ['TOKEN_URL', 'COUNTS_URL', 'CLOSED_URL', 'POST_ID', 'POST_SECRET', 'BASIC_ID', 'BASIC_SECRET', 'WEIRD_ID', 'WEIRD_SECRET'];
  return Object.fromEntries(names.map((n) => [n, get(`SCENARIO_${n}`)]));
}
