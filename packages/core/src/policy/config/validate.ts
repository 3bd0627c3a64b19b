import { type ConfigProblem, InvalidConfigError } from '../../errors.js';
import type { ConfigDocument } from './document.js';
import { formatPath, toProblems } from './problems.js';
import { configSchema } from './schema.js';

/** What `checkConfig` finds: the validated document, or every problem in it. */
export type ConfigCheck = { ok: true; config: ConfigDocument } | { ok: false; problems: ConfigProblem[] };

/** Validates a configuration document (parsed JSON or an object) without throwing: the document, or every problem. */
export function checkConfig(input: unknown): ConfigCheck {
  try {
    const result = configSchema.safeParse(input);
    const found = result.success ? [] : toProblems(result.error.issues, configSchema);
    const reported = new Set(found.map((p) => p.path));
    const problems = [...found, ...protoNames(input).filter((p) => !reported.has(p.path))];
    if (result.success && problems.length === 0) return { ok: true, config: result.data };
    return { ok: false, problems };
  } catch (error) {
    // Only an input no JSON text could produce gets here (a getter or a proxy that throws, say).
    return { ok: false, problems: [{ path: '', message: `could not be read: ${describeThrown(error)}` }] };
  }
}

// JSON.parse keeps "__proto__" as an ordinary name, but zod drops it (assigning it would set a prototype),
// so a tier, key or field of that name would vanish without a word. The schema's depth is all that is read.
function protoNames(input: unknown, path: (string | number)[] = [], depth = 0): ConfigProblem[] {
  if (typeof input !== 'object' || input === null || depth > 6) return [];
  const problems: ConfigProblem[] = [];
  if (!Array.isArray(input) && Object.hasOwn(input, '__proto__')) {
    problems.push({
      path: formatPath([...path, '__proto__']),
      message: 'is "__proto__", which cannot name anything here',
    });
  }
  for (const [key, value] of Object.entries(input)) {
    problems.push(...protoNames(value, [...path, Array.isArray(input) ? Number(key) : key], depth + 1));
  }
  return problems;
}

function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an exception that cannot be shown';
  }
}

/** Validates a configuration document, throwing InvalidConfigError that lists every problem with its path. */
export function parseConfig(input: unknown): ConfigDocument {
  const result = checkConfig(input);
  if (!result.ok) throw new InvalidConfigError(result.problems);
  return result.config;
}
