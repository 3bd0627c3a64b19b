import { z } from 'zod';
import { configSchema } from './schema.js';

/** Where the JSON Schema ships in @distlimiter/core, relative to the package root. */
export const JSON_SCHEMA_FILE = 'schema/distlimiter.schema.json';

/**
 * The JSON Schema of the configuration document, generated from the zod schema so the two cannot drift.
 * It describes the document as written (fields with defaults are optional); draft-07, which editors know
 * best. The checks across fields (tiers that exist, unique ids) are beyond JSON Schema: `distlimiter
 * validate` runs them.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07' }) as Record<string, unknown>;
}
