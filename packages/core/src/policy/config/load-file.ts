import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidConfigError } from '../../errors.js';
import type { ConfigDocument } from './document.js';
import { parseJsonText } from './json-text.js';
import { formatPath } from './problems.js';
import { type ConfigCheck, checkConfig } from './validate.js';

/** Validates the text of a configuration file (JSON) without throwing: the document, or every problem. */
export function checkConfigText(text: string): ConfigCheck {
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return {
      ok: false,
      problems: parsed.problems.map((p) => ({ path: formatPath(p.path), message: p.message })),
    };
  }
  return checkConfig(parsed.value);
}

/** The problem of a file that could not be read. */
export function unreadable(error: unknown): ConfigCheck {
  return { ok: false, problems: [{ path: '', message: `cannot be read: ${(error as Error).message}` }] };
}

/**
 * Reads and validates a configuration file (JSON) without throwing: the document, or every problem, an
 * unreadable file and a syntax error (with line and column) included.
 */
export async function checkConfigFile(file: string): Promise<ConfigCheck> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return unreadable(error);
  }
  return checkConfigText(text);
}

/** checkConfigFile, reading synchronously: for start-up, where an invalid file must fail at once. */
export function checkConfigFileSync(file: string): ConfigCheck {
  return readConfigFileSync(file).check;
}

/** What checkConfigFileSync finds, with the text it read (undefined when unreadable), for a watcher to compare. */
export function readConfigFileSync(file: string): { check: ConfigCheck; text: string | undefined } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { check: unreadable(error), text: undefined };
  }
  return { check: checkConfigText(text), text };
}

/** Reads and validates a configuration file (JSON), throwing InvalidConfigError that lists every problem. */
export async function loadConfigFile(file: string): Promise<ConfigDocument> {
  return documentOf(await checkConfigFile(file), file);
}

/** loadConfigFile, reading synchronously: throws InvalidConfigError that lists every problem. */
export function loadConfigFileSync(file: string): ConfigDocument {
  return documentOf(checkConfigFileSync(file), file);
}

function documentOf(result: ConfigCheck, file: string): ConfigDocument {
  if (!result.ok) throw new InvalidConfigError(result.problems, file);
  return result.config;
}
