// Node.js, CommonJS: `require` of the installed package (the `node` + `require`
// condition). Run with --no-experimental-require-module: the CJS entry must not rely
// on require() of an ES module.
'use strict';
const mod = require('datacosmos-auth');

import('./scenario.mjs').then(async ({ configFrom, scenario }) => {
  const report = await scenario(mod, configFrom((n) => process.env[n]), {
    resolved: require.resolve('datacosmos-auth'),
    fromEnv: () => mod.TokenClient.fromEnv(),
  });
  const runtime = typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`;
  console.log(JSON.stringify({ runtime, ...report }));
});
