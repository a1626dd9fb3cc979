// Deno without --allow-env: fromEnv() cannot read Deno.env and must throw
// OAuthError("invalid_config") synchronously (and not prompt: run with --no-prompt).
import { OAuthError, TokenClient } from "datacosmos-auth";

let result: Record<string, unknown> = { threw: false };
try {
  TokenClient.fromEnv();
} catch (e) {
  const err = e as OAuthError;
  result = { threw: true, instanceOfOAuthError: e instanceof OAuthError, name: err.name, code: err.code, message: err.message };
}
// With an explicit env object it needs no permission at all.
const explicit = TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: "a", DATACOSMOS_CLIENT_SECRET: "b-secret" });
console.log(JSON.stringify({ ...result, explicitOk: explicit instanceof TokenClient }));
