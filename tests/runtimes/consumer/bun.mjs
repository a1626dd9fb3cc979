// Bun: `import` of the installed package (Bun's conditions: bun, node, import).
import * as mod from 'datacosmos-auth';
import { configFrom, scenario } from './scenario.mjs';

const report = await scenario(mod, configFrom((n) => process.env[n]), {
  resolved: Bun.resolveSync('datacosmos-auth', import.meta.dir),
  fromEnv: () => mod.TokenClient.fromEnv(),
});
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, ...report }));
