// Node.js, ESM: `import` of the installed package (the `node` + `import` condition).
import * as mod from 'datacosmos-auth';
import { fileURLToPath } from 'node:url';
import { configFrom, scenario } from './scenario.mjs';

const report = await scenario(mod, configFrom((n) => process.env[n]), {
  resolved: fileURLToPath(import.meta.resolve('datacosmos-auth')),
  fromEnv: () => mod.TokenClient.fromEnv(),
});
console.log(JSON.stringify({ runtime: `node ${process.version}`, ...report }));
