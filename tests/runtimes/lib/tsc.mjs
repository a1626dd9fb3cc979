// Runs the suite's pinned tsc on consumer files with a tsconfig written into the
// consumer project (type roots point at this suite's node_modules).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER, HERE, bin, run } from './harness.mjs';

export const TYPE_ROOTS = [join(HERE, 'node_modules', '@types')];
export const WORKERS_TYPES = join(HERE, 'node_modules', '@cloudflare', 'workers-types');

/**
 * tsc --strict --noEmit over `files` with `options`; resolves { code, output,
 * resolved } where `resolved` lists the declaration files "datacosmos-auth" resolved to.
 */
export async function tsc(name, options, files) {
  const config = join(CONSUMER, `tsconfig.${name}.json`);
  writeFileSync(config, JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', ...options },
    files,
  }, null, 2));
  const r = await run(process.execPath, [bin('tsc'), '-p', config, '--traceResolution', '--pretty', 'false']);
  const lines = r.stdout.split('\n');
  const resolved = [...new Set(lines
    .map((l) => /^======== Module name 'datacosmos-auth' was successfully resolved to '([^']+)'/.exec(l)?.[1])
    .filter(Boolean)
    .map((p) => p.slice(p.indexOf('node_modules/'))))].sort();
  const output = lines.filter((l) => /error TS\d+/.test(l)).join('\n');
  return { code: r.code, output, resolved };
}
