import { type ConfigProblem, InvalidConfigError } from '../../errors.js';
import { sha256 } from '../../key-names.js';
import { digestInName } from '../api-keys.js';
import type { ConfigDocument } from '../config/document.js';
import { formatPath } from '../config/problems.js';
import { checkConfig } from '../config/validate.js';
import { type ConfigSnapshot, compileConfig } from '../snapshot.js';
import { keyEntryOf, type Overlay, type Section } from './overlay.js';

// The overlay overrides the base by tier name, rule id and key. The merged document is validated whole
// (parseConfig's checks across fields included), because an entry is only valid in its context: a rule may
// name a tier the base defines, and removing an overridden tier may leave a key of the base pointing nowhere.
// Keys are matched by the key they stand for, not by how they are written: an overlay entry
// "sha256:<hex>" replaces the base's raw entry for the same key (both kept, with two tiers, would be a
// conflict). An overlay key whose expiresAt has passed is left out, so the base's entry applies again.

/** The merged document (not yet validated), which tiers and rules came from the overlay, and the next expiry. */
export interface Merged {
  readonly input: Record<string, unknown>;
  readonly fromRedis: { tiers: string[]; rules: string[] };
  /** The earliest expiresAt of an overlay key still in force, when there is one: the merge changes then. */
  readonly nextExpiry: number | undefined;
}

/** The SHA-256 a `keys` name stands for: the hex of a hashed name, the hash of a raw one. */
function digestOfName(name: string): string {
  return digestInName(name) ?? sha256(name);
}

// The base's key names by digest, hashed once per base document (a reload brings a new one).
const baseDigests = new WeakMap<Readonly<Record<string, string>>, Map<string, string[]>>();

function namesByDigest(keys: Readonly<Record<string, string>>): Map<string, string[]> {
  let byDigest = baseDigests.get(keys);
  if (byDigest === undefined) {
    byDigest = new Map();
    for (const name of Object.keys(keys)) {
      const digest = digestOfName(name);
      byDigest.set(digest, [...(byDigest.get(digest) ?? []), name]);
    }
    baseDigests.set(keys, byDigest);
  }
  return byDigest;
}

/**
 * The base with the overlay on top: an overridden tier keeps its place, a new one comes after the base's;
 * an overridden rule is replaced in place (document order is match order), a new one is appended; keys merged.
 */
export function mergeOverlay(base: ConfigDocument, overlay: Overlay, now: number = Date.now()): Merged {
  const tiers = new Map<string, unknown>(Object.entries(base.tiers));
  for (const [name, tier] of overlay.tiers) tiers.set(name, tier);
  const rules: unknown[] = base.rules.map((rule) =>
    overlay.rules.has(rule.id) ? overlay.rules.get(rule.id) : rule,
  );
  const baseIds = new Set(base.rules.map((r) => r.id));
  for (const [id, rule] of overlay.rules) if (!baseIds.has(id)) rules.push(rule);
  const keys = new Map<string, unknown>(Object.entries(base.keys));
  let nextExpiry: number | undefined;
  if (overlay.keys.size > 0) {
    const byDigest = namesByDigest(base.keys);
    for (const [key, value] of overlay.keys) {
      const entry = keyEntryOf(value);
      const expiresAt = entry?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) continue;
      if (expiresAt !== undefined && (nextExpiry === undefined || expiresAt < nextExpiry))
        nextExpiry = expiresAt;
      for (const name of byDigest.get(digestOfName(key)) ?? []) keys.delete(name);
      // A value that is no entry at all is kept as it is, for checkConfig to report.
      keys.set(key, entry?.tier ?? value);
    }
  }
  return {
    // fromEntries, not assignment: a name "__proto__" stays a name, for checkConfig to report.
    input: { ...base, tiers: Object.fromEntries(tiers), keys: Object.fromEntries(keys), rules },
    fromRedis: { tiers: [...overlay.tiers.keys()], rules: [...overlay.rules.keys()] },
    nextExpiry,
  };
}

/** A merge put in force: its snapshot, the validated document it was compiled from, and the next expiry. */
export interface Composed {
  readonly snapshot: ConfigSnapshot;
  /** The merged document, validated (defaults filled in), expired overlay keys left out. */
  readonly document: ConfigDocument;
  /** The earliest expiresAt among the overlay keys in force, when there is one. */
  readonly nextExpiry: number | undefined;
}

/** Where an overlay lives, as problems name it. */
export type OverlayLabel = 'Redis overlay' | 'local overlay';

/** The snapshot of the base with the overlay on top, or the error listing every problem of the merge. */
export function composeSnapshot(
  base: ConfigDocument,
  overlay: Overlay,
  source: string | undefined,
  now: number = Date.now(),
  label: OverlayLabel = 'Redis overlay',
): ({ ok: true } & Composed) | { ok: false; error: InvalidConfigError } {
  const merged = mergeOverlay(base, overlay, now);
  const check = checkConfig(merged.input);
  if (!check.ok) {
    const where =
      overlay.version === undefined
        ? source
        : `${source ?? 'the document'} with the ${label} (version ${overlay.version})`;
    const problems = markOverlay(check.problems, merged, overlay, label);
    return { ok: false, error: new InvalidConfigError(problems, where) };
  }
  const snapshot = compileConfig(check.config, {
    overlay: { ...merged.fromRedis, version: overlay.version },
  });
  return { ok: true, snapshot, document: check.config, nextExpiry: merged.nextExpiry };
}

/**
 * Problems inside an entry of the overlay say so, and under which name: the merged document's path alone
 * (`rules[3].rate`) would send the reader to a file that does not hold the mistake.
 */
function markOverlay(
  problems: ConfigProblem[],
  merged: Merged,
  overlay: Overlay,
  label: OverlayLabel,
): ConfigProblem[] {
  const owners: [prefix: string, entry: string][] = [];
  const own = (section: Section, name: string, at: string | number = name) =>
    owners.push([formatPath([section, at]), formatPath([section, name])]);
  for (const name of overlay.tiers.keys()) own('tiers', name);
  for (const key of overlay.keys.keys()) own('keys', key);
  const rules = merged.input.rules as { id?: unknown }[];
  rules.forEach((rule, i) => {
    if (typeof rule?.id === 'string' && overlay.rules.has(rule.id)) own('rules', rule.id, i);
  });
  return problems.map((problem) => {
    const owner = owners.find(
      ([prefix]) =>
        problem.path === prefix ||
        problem.path.startsWith(`${prefix}.`) ||
        problem.path.startsWith(`${prefix}[`),
    );
    return owner ? { ...problem, message: `${problem.message} (from the ${label}'s ${owner[1]})` } : problem;
  });
}
