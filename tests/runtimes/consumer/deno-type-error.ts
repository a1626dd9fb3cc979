// Must NOT type-check (deno.test.mjs): clientId is a string in ClientConfig.
import { TokenClient } from "datacosmos-auth";

new TokenClient({ clientId: 1234, clientSecret: "s" });
