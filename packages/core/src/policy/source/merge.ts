import { type ConfigProblem, InvalidConfigError } from '../../errors.js';
import type { ConfigDocument } from '../config/document.js';
import { formatPath } from '../config/problems.js';
import { checkConfig } from '../config/validate.js';
import { type ConfigSnapshot, compileConfig } from '../snapshot.js';
import type { Overlay, Section } from './overlay.js';

// The overlay overrides the base by tier name, rule id and key. The merged document is validated whole
// (parseConfig's checks across fields included), because an entry is only valid in its context: a rule may
// name a tier the base defines, and removing an overridden tier may leave a key of the base pointing nowhere.

/** The merged document (not yet validated), and which tiers and rules came from the overlay. */
export interface Merged {
  readonly input: Record<string, unknown>;
  readonly fromRedis: { tiers: string[]; rules: string[] };
}

/**
 * The base with the overlay on top: an overridden tier keeps its place, a new one comes after the base's;
 * an overridden rule is replaced in place (document order is match order), a new one is appended; keys merged.
 */
export function mergeOverlay(base: ConfigDocument, overlay: Overlay): Merged {
  const tiers = new Map<string, unknown>(Object.entries(base.tiers));
  for (const [name, tier] of overlay.tiers) tiers.set(name, tier);
  const rules: unknown[] = base.rules.map((rule) =>
    overlay.rules.has(rule.id) ? overlay.rules.get(rule.id) : rule,
  );
  const baseIds = new Set(base.rules.map((r) => r.id));
  for (const [id, rule] of overlay.rules) if (!baseIds.has(id)) rules.push(rule);
  const keys = new Map<string, unknown>(Object.entries(base.keys));
  for (const [key, tier] of overlay.keys) keys.set(key, tier);
  return {
    // fromEntries, not assignment: a name "__proto__" stays a name, for checkConfig to report.
    input: { ...base, tiers: Object.fromEntries(tiers), keys: Object.fromEntries(keys), rules },
    fromRedis: { tiers: [...overlay.tiers.keys()], rules: [...overlay.rules.keys()] },
  };
}

/** The snapshot of the base with the overlay on top, or the error listing every problem of the merge. */
export function composeSnapshot(
  base: ConfigDocument,
  overlay: Overlay,
  source: string | undefined,
): { ok: true; snapshot: ConfigSnapshot } | { ok: false; error: InvalidConfigError } {
  const merged = mergeOverlay(base, overlay);
  const check = checkConfig(merged.input);
  if (!check.ok) {
    const where =
      overlay.version === undefined
        ? source
        : `${source ?? 'the document'} with the Redis overlay (version ${overlay.version})`;
    return { ok: false, error: new InvalidConfigError(markOverlay(check.problems, merged, overlay), where) };
  }
  const snapshot = compileConfig(check.config, {
    overlay: { ...merged.fromRedis, version: overlay.version },
  });
  return { ok: true, snapshot };
}

/**
 * Problems inside an entry of the overlay say so, and under which name: the merged document's path alone
 * (`rules[3].rate`) would send the reader to a file that does not hold the mistake.
 */
function markOverlay(problems: ConfigProblem[], merged: Merged, overlay: Overlay): ConfigProblem[] {
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
    return owner
      ? { ...problem, message: `${problem.message} (from the Redis overlay's ${owner[1]})` }
      : problem;
  });
}
