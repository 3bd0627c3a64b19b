import { sha256 } from '../../key-names.js';
import type { ConfigProblem } from '../../errors.js';
import type { RuleInput, TierConfig } from '../config/document.js';
import { didYouMean, notA, quote } from '../config/messages.js';
import { formatPath } from '../config/problems.js';

// The Redis overlay as data: what a change says, how it is stored (one hash field per entry, JSON values),
// and how it is read back. Values are not judged here: a tier or rule is only valid or not in the document
// it is merged into (a rule may name a tier of the base), so merge.ts validates the merged document whole.

/** A change to the Redis overlay; `null` removes an entry, so the base document's applies again. */
export interface ConfigOverlayChange {
  /** Tiers by name, each replacing the base's tier of that name (or added). */
  tiers?: Record<string, TierConfig | null>;
  /** Rules by id (a rule's `id` must equal its name here), each replacing the base's rule in place (or appended). */
  rules?: Record<string, RuleInput | null>;
  /** API keys (raw, or "sha256:<hex>") and their tier names. */
  keys?: Record<string, string | null>;
}

/** The sections of an overlay, as named in a change and in the Redis hash fields (`<section>.<name>`). */
export const SECTIONS = ['tiers', 'rules', 'keys'] as const;
/** One of SECTIONS. */
export type Section = (typeof SECTIONS)[number];

/** The overlay as read: entries by section (values unchecked until merged), its version and a digest of its content. */
export interface Overlay {
  readonly tiers: ReadonlyMap<string, unknown>;
  readonly rules: ReadonlyMap<string, unknown>;
  readonly keys: ReadonlyMap<string, unknown>;
  /** The version counter in Redis when this was read, or undefined when none was ever written. */
  readonly version: number | undefined;
  /** Names the content, so a re-read of the same version and content changes nothing. */
  readonly digest: string;
}

/** The overlay of a deployment that never wrote one. */
export const EMPTY_OVERLAY: Overlay = overlayOf({}, undefined);

const EXPECTED_CHANGE = 'a change such as { "tiers": { "free": { "rate": "20/minute" } } }';
const EXPECTED: Record<Section, string> = {
  tiers: 'a tier object such as { "rate": "10/minute" }, or null to remove the override',
  rules:
    'a rule object such as { "id": "login", "match": { "path": "/api/login" }, "rate": "3/minute" }, or null to remove it',
  keys: 'the name of a tier, or null to remove the key',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The problems of one entry's value (null is a removal, judged by the caller); none when it can be merged. */
function entryProblems(section: Section, name: string, value: unknown): ConfigProblem[] {
  const path = formatPath([section, name]);
  if (section === 'keys' ? typeof value !== 'string' : !isObject(value)) {
    return [{ path, message: notA(value, EXPECTED[section]) }];
  }
  if (section === 'rules' && (value as Record<string, unknown>).id !== name) {
    const id = (value as Record<string, unknown>).id;
    return [
      {
        path: formatPath([section, name, 'id']),
        message: `${notA(id, `"${name}"`)}: a rule is set under its own id`,
      },
    ];
  }
  return [];
}

/** Every problem in the shape of a change (the tiers and rules themselves are checked once merged). */
export function changeProblems(change: unknown): ConfigProblem[] {
  if (!isObject(change)) return [{ path: '', message: notA(change, EXPECTED_CHANGE) }];
  const problems: ConfigProblem[] = [];
  for (const [field, section] of Object.entries(change)) {
    if (!(SECTIONS as readonly string[]).includes(field)) {
      problems.push({
        path: formatPath([field]),
        message: `no such field${didYouMean(field, SECTIONS)}; known fields: ${SECTIONS.join(', ')}`,
      });
    } else if (section !== undefined && !isObject(section)) {
      problems.push({ path: field, message: notA(section, `an object of entries by name, or null values`) });
    } else {
      for (const [name, value] of Object.entries(section ?? {})) {
        if (value !== null) problems.push(...entryProblems(field as Section, name, value));
      }
    }
  }
  if (problems.length === 0 && SECTIONS.every((s) => Object.keys(change[s] ?? {}).length === 0)) {
    problems.push({ path: '', message: 'changes nothing; name at least one tier, rule or key' });
  }
  return problems;
}

/** The hash field of an entry: `<section>.<name>`. */
export const fieldOf = (section: Section, name: string) => `${section}.${name}`;

/** The hash fields a (valid) change writes, as JSON, and the fields it removes. */
export function changeFields(change: ConfigOverlayChange): { set: [string, string][]; remove: string[] } {
  const set: [string, string][] = [];
  const remove: string[] = [];
  for (const section of SECTIONS) {
    for (const [name, value] of Object.entries(change[section] ?? {})) {
      if (value === null) remove.push(fieldOf(section, name));
      else set.push([fieldOf(section, name), JSON.stringify(value)]);
    }
  }
  return { set, remove };
}

/** `fields` with a change's writes and removals applied. */
export function withFields(
  fields: Readonly<Record<string, string>>,
  { set, remove }: { set: [string, string][]; remove: string[] },
): Record<string, string> {
  const map = new Map(Object.entries(fields));
  for (const field of remove) map.delete(field);
  for (const [field, json] of set) map.set(field, json);
  return Object.fromEntries(map);
}

/** The overlay stored in a Redis hash's fields, or every field that cannot be read (named by its entry). */
export function decodeOverlay(
  fields: Readonly<Record<string, string>>,
  version: number | undefined,
): { ok: true; overlay: Overlay } | { ok: false; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  for (const [field, json] of Object.entries(fields)) {
    const dot = field.indexOf('.');
    const section = field.slice(0, dot) as Section;
    if (dot < 1 || !SECTIONS.includes(section)) {
      problems.push({
        path: '',
        message: `the overlay field ${quote(field)} is not "tiers.", "rules." or "keys." and a name`,
      });
      continue;
    }
    const name = field.slice(dot + 1);
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      problems.push({
        path: formatPath([section, name]),
        message: 'holds text that is not JSON in the Redis overlay',
      });
      continue;
    }
    problems.push(...entryProblems(section, name, value));
  }
  return problems.length ? { ok: false, problems } : { ok: true, overlay: overlayOf(fields, version) };
}

function overlayOf(fields: Readonly<Record<string, string>>, version: number | undefined): Overlay {
  const sections = { tiers: new Map<string, unknown>(), rules: new Map(), keys: new Map() };
  // Sorted: HGETALL's order differs between servers, and the merged document must not.
  const sorted = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [field, json] of sorted) {
    const dot = field.indexOf('.');
    sections[field.slice(0, dot) as Section].set(field.slice(dot + 1), JSON.parse(json));
  }
  return Object.freeze({ ...sections, version, digest: sha256(JSON.stringify(sorted)) });
}
