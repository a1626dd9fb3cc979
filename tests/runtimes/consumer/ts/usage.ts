// Type-level consumer (ESM): every exported name and type, as an application uses
// them. Compiled with tsc --strict --noEmit (typescript.test.mjs), never run.
import { OAuthError, TokenClient, getToken } from "datacosmos-auth";
import type { ClientConfig, DataCosmosCredentials, TokenInfo, TokenStore } from "datacosmos-auth";

// A TokenStore over a Map (a KV namespace has the same shape).
const map = new Map<string, string>();
export const store: TokenStore = {
  async get(key: string): Promise<string | null> { return map.get(key) ?? null; },
  async put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void> {
    void options?.expirationTtl;
    map.set(key, value);
  },
  async delete(key: string): Promise<void> { map.delete(key); },
};

export const config: ClientConfig = {
  clientId: "id",
  clientSecret: "secret",
  audience: null,
  tokenUrl: "http://127.0.0.1:8080/oauth/token",
  scope: "read",
  extraParams: { resource: "https://example.test/" },
  authMethod: "client_secret_basic",
  bodyEncoding: "json",
  refreshLeewaySeconds: 30,
  timeoutMs: 5000,
  maxRetries: 1,
  store,
  fetch: globalThis.fetch,
};

const credentials: DataCosmosCredentials = {
  client_id: "id", client_secret: "secret", audience: "https://beeapp.open-cosmos.com", grant_type: "client_credentials",
};

export async function main(): Promise<number> {
  const client = new TokenClient(config);
  const fromFile: TokenClient = TokenClient.fromCredentials(JSON.stringify(credentials), { scope: "read" });
  const fromObject = TokenClient.fromCredentials(credentials);
  const fromEnv = TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: "id", DATACOSMOS_CLIENT_SECRET: undefined }, { timeoutMs: 1000 });
  const fromProcessEnv = TokenClient.fromEnv();

  const token: string = await client.getToken();
  const info: TokenInfo = await fromFile.getTokenInfo();
  const expiresAt: number = info.expiresAt;
  const scope: string | undefined = info.scope;
  const header: string = await fromObject.authorizationHeader();
  const res: Response = await fromEnv.fetch(new URL("https://example.test/stac/collections"), { method: "GET" });
  const fromEnvToken: string = await fromProcessEnv.getToken();
  const oneShot: Promise<string> = getToken({ clientId: "id", clientSecret: "secret" });
  client.clear();
  client.free();

  try {
    await oneShot;
  } catch (e) {
    if (e instanceof OAuthError) {
      const code: string = e.code;
      const name: "OAuthError" = e.name;
      const status: number | undefined = e.status;
      const description: string | undefined = e.description;
      const uri: string | undefined = e.uri;
      const asError: Error = e;
      return [code, name, status, description, uri, asError.message].length;
    }
    throw e;
  }
  return token.length + expiresAt + (scope?.length ?? 0) + header.length + res.status + fromEnvToken.length;
}

// The types are real, not `any`: each of these must be an error.
// @ts-expect-error clientSecret is required
export const missingSecret: ClientConfig = { clientId: "id" };
// @ts-expect-error authMethod is a closed union
export const badMethod: ClientConfig = { clientId: "id", clientSecret: "s", authMethod: "private_key_jwt" };
// @ts-expect-error getToken() resolves to a string
export const notNumber: Promise<number> = new TokenClient(config).getToken();
// @ts-expect-error the store's get must return a promise
export const badStore: TokenStore = { get: (key: string) => key, put: async () => {} };
