// Type-level consumer (CommonJS, .cts): under module node16 this `import` compiles to
// require("datacosmos-auth"), resolved with the `require` condition (index.d.cts).
import { OAuthError, TokenClient, getToken } from "datacosmos-auth";
import type { ClientConfig, DataCosmosCredentials, TokenInfo, TokenStore } from "datacosmos-auth";

const store: TokenStore = { get: async () => null, put: async () => undefined };
const config: ClientConfig = { clientId: "id", clientSecret: "secret", store };
const credentials: DataCosmosCredentials = { client_id: "id", client_secret: "secret" };

export async function main(): Promise<string> {
  const client = TokenClient.fromCredentials(credentials);
  const info: TokenInfo = await client.getTokenInfo();
  try {
    return (await getToken(config)) + info.accessToken;
  } catch (e) {
    if (e instanceof OAuthError && e.code === "invalid_client") return `bad credentials (${e.status ?? "no status"})`;
    throw e;
  }
}

// @ts-expect-error getToken() needs a config
export const missing = getToken();

module.exports = { main };
