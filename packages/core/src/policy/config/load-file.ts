import { readFile } from 'node:fs/promises';
import { InvalidConfigError } from '../../errors.js';
import type { ConfigDocument } from './document.js';
import { parseJsonText } from './json-text.js';
import { formatPath } from './problems.js';
import { type ConfigCheck, checkConfig } from './validate.js';

/**
 * Reads and validates a configuration file (JSON) without throwing: the document, or every problem, an
 * unreadable file and a syntax error (with line and column) included.
 */
export async function checkConfigFile(file: string): Promise<ConfigCheck> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `cannot be read: ${(error as Error).message}` }] };
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return {
      ok: false,
      problems: parsed.problems.map((p) => ({ path: formatPath(p.path), message: p.message })),
    };
  }
  return checkConfig(parsed.value);
}

/** Reads and validates a configuration file (JSON), throwing InvalidConfigError that lists every problem. */
export async function loadConfigFile(file: string): Promise<ConfigDocument> {
  const result = await checkConfigFile(file);
  if (!result.ok) throw new InvalidConfigError(result.problems, file);
  return result.config;
}
