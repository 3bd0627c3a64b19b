import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, JSON_SCHEMA_FILE } from '../src/policy/config/json-schema.js';
import { issueDocument } from './support/config-document.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string) => JSON.parse(readFileSync(path.join(packageRoot, file), 'utf8'));

describe('the JSON Schema shipped in the package', () => {
  it('is what the zod schema generates (run `pnpm --filter @distlimiter/core write-schema` after a change)', () => {
    expect(read(JSON_SCHEMA_FILE)).toEqual(configJsonSchema());
  });

  it("describes every field of the issue's document, and requires what has no default", () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { additionalProperties?: { properties?: object } }>;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(Object.keys(issueDocument())));
    expect(schema.required).toEqual(['version', 'defaultTier', 'tiers']);
    expect(Object.keys(schema.properties.tiers!.additionalProperties!.properties!)).toEqual([
      'rate',
      'burst',
      'degraded',
      'shed',
    ]);
  });

  it('is shipped and exported by the package', () => {
    const manifest = read('package.json');
    expect(manifest.files).toContain('schema');
    expect(manifest.exports['./schema.json']).toBe(`./${JSON_SCHEMA_FILE}`);
    expect(manifest.publishConfig.exports['./schema.json']).toBe(`./${JSON_SCHEMA_FILE}`);
  });
});
