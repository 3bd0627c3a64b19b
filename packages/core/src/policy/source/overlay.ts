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
  /**
   * API keys (raw, or "sha256:<hex>": prefer the hash, which keeps the secret out of the overlay) and their
   * tier names, or `{ tier, expiresAt }` for an entry that stops applying at `expiresAt` (ms since the
   * epoch). An overlay key replaces the base's entry for the same key, whichever form either is written in.
   */
  keys?: Record<string, string | OverlayKeyEntry | null>;
}

/**
 * A key's tier until a time: from `expiresAt` on (each instance judging by its own clock, so instances
 * disagree by their clocks' skew) the entry is left out of the merged document, and the base's entry for
 * the key, if any, applies again. The next publish removes expired entries from the overlay for good.
 */
export interface OverlayKeyEntry {
  /** The tier's name. */
  tier: string;
  /** When the entry stops applying, in ms since the epoch. */
  expiresAt: number;
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
  keys: 'the name of a tier, { "tier": name, "expiresAt": ms since the epoch }, or null to remove the key',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The tier and expiry of an overlay key entry (a tier name, or OverlayKeyEntry), or undefined when it is neither. */
export function keyEntryOf(value: unknown): { tier: string; expiresAt: number | undefined } | undefined {
  if (typeof value === 'string') return { tier: value, expiresAt: undefined };
  if (!isObject(value) || typeof value.tier !== 'string') return undefined;
  const { expiresAt } = value;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt <= 0) return undefined;
  if (Object.keys(value).some((k) => k !== 'tier' && k !== 'expiresAt')) return undefined;
  return { tier: value.tier, expiresAt };
}

/** The problems of one entry's value (null is a removal, judged by the caller); none when it can be merged. */
function entryProblems(section: Section, name: string, value: unknown): ConfigProblem[] {
  const path = formatPath([section, name]);
  if (section === 'keys' ? keyEntryOf(value) === undefined : !isObject(value)) {
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

/** The fields of key entries whose `expiresAt` is at or before `now`: the next write removes them. */
export function expiredKeyFields(fields: Readonly<Record<string, string>>, now: number): string[] {
  const expired: string[] = [];
  for (const [field, json] of Object.entries(fields)) {
    if (!field.startsWith('keys.') || !json.startsWith('{')) continue;
    try {
      const at = keyEntryOf(JSON.parse(json))?.expiresAt;
      if (at !== undefined && at <= now) expired.push(field);
    } catch {
      // Not JSON: decodeOverlay reports it.
    }
  }
  return expired;
}

/** A change's fields, plus the removal of `expired` fields the change does not set itself. */
export function withExpiredRemoved(
  change: { set: [string, string][]; remove: string[] },
  expired: readonly string[],
): { set: [string, string][]; remove: string[] } {
  const touched = new Set([...change.set.map(([f]) => f), ...change.remove]);
  return { set: change.set, remove: [...change.remove, ...expired.filter((f) => !touched.has(f))] };
}

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
