// Writes schema/distlimiter.schema.json from the zod schema: `pnpm --filter @distlimiter/core write-schema`.
// test/config-json-schema.test.ts fails when the committed file differs from what this writes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, JSON_SCHEMA_FILE } from '../src/policy/config/json-schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, JSON_SCHEMA_FILE);
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
// The repository's formatter has the last word on layout, so `biome check` passes on the file as written.
execFileSync('pnpm', ['exec', 'biome', 'format', '--write', file], { cwd: root, stdio: 'ignore' });
console.log(`Wrote ${path.relative(process.cwd(), file)}`);
