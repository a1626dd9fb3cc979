// Deno: the package from ./node_modules (npm-installed tarball, package.json
// resolution with --node-modules-dir=manual), not an npm: specifier.
import * as mod from "datacosmos-auth";
import { TokenClient } from "datacosmos-auth";
import type { TokenInfo } from "datacosmos-auth";
import { configFrom, scenario } from "./scenario.mjs";

const report = await scenario(mod, configFrom((n: string) => Deno.env.get(n)), {
  resolved: new URL(import.meta.resolve("datacosmos-auth")).pathname,
  fromEnv: () => TokenClient.fromEnv(), // Deno.env
});
const info: TokenInfo = await TokenClient.fromEnv().getTokenInfo();
console.log(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, typed: info.tokenType, ...report }));
