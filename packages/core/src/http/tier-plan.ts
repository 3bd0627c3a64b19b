import type { AlgorithmStep } from '../algorithms/types.js';
import type { Keyspace } from '../backends/types.js';
import { type KeyspacePart, partsKeyspace } from '../key-names.js';
import type { RuleKeyBy } from '../policy/config/document.js';
import type { CompiledRule, ConfigSnapshot, LoadStatus } from '../policy/snapshot.js';
import { RateHeaders } from './headers.js';
import type { HeaderMode } from './types.js';

// How a request of a tier that matched some rules is charged: limits are gathered into groups charged in
// one atomic call each. A group holds the limits that count the same client with the same cost (the tier
// and the rules counted by the key, at the request's cost, usually), so they are all-or-nothing; limits on
// other clients (a rule by IP or by a header) cannot share a call (another hash tag, maybe another Cluster
// slot) and form groups of their own. A plan depends only on the snapshot, the tier and the rules matched,
// so it is built once per combination and kept with the snapshot.

/** The scope a tier counts under: its name, so a reload that keeps the name keeps the counts. */
export function tierScope(tier: string): string {
  return `tier=${tier}`;
}

/** The scope a rule counts under: its id, so a reload that keeps the id keeps the counts. */
export function ruleScope(id: string): string {
  return `rule=${id}`;
}

/** Limits charged together in one atomic call: one client, one cost. */
export interface ChargeGroup {
  /** Whom the group counts: the tier's identity ("key"), the client IP, or a request header's value. */
  readonly by: RuleKeyBy;
  /** What the request costs in each of the group's limits. */
  readonly cost: number;
  /** The group's keys: each limit under its own scope, all under the client's hash tag. */
  readonly space: Keyspace;
  /** The rate-limit headers of a decision of this group (policy items named by tier and rule). */
  readonly headers: RateHeaders;
  /** For each member of `space`: the tier name or rule id it belongs to. */
  readonly owners: readonly string[];
}

/** How one request is charged: enforced groups (charged in order, stopping at a refusal), then shadow rules. */
export interface TierPlan {
  /** The request's tier. */
  readonly tier: string;
  /** What the request costs in its tier: the highest cost among the enforced rules it matched (1 if none). */
  readonly cost: number;
  /** Groups that may refuse: groups on other clients first, the tier's own group last. */
  readonly enforce: readonly ChargeGroup[];
  /** One group per shadow rule: counted only when the request is allowed, never refusing. */
  readonly shadow: readonly ChargeGroup[];
  /** The ids of the rules matched, enforced and shadow, in document order. */
  readonly rules: readonly string[];
}

// Plans per snapshot: a reload builds a new snapshot, and its plans go with the old one.
const cache = new WeakMap<ConfigSnapshot, Map<string, TierPlan>>();
// A snapshot has few tiers and rules; this bounds the map should requests match rules in many combinations.
const MAX_PLANS = 1024;

/** The plan for a request of `tier` that matched `rules` (in document order), built once per combination. */
export function planFor(
  snapshot: ConfigSnapshot,
  tier: string,
  rules: readonly CompiledRule[],
  prefix: string,
  mode: HeaderMode,
  status: LoadStatus = 'NORMAL',
): TierPlan {
  let plans = cache.get(snapshot);
  if (plans === undefined) {
    plans = new Map();
    cache.set(snapshot, plans);
  }
  let id = `${prefix}\n${mode}\n${status}\n${tier}`;
  for (const r of rules) id += `\n${r.id}`;
  let plan = plans.get(id);
  if (plan === undefined) {
    plan = buildPlan(snapshot, tier, rules, prefix, mode, status);
    if (plans.size >= MAX_PLANS) plans.clear();
    plans.set(id, plan);
  }
  return plan;
}

interface Limit {
  readonly owner: string;
  readonly scope: string;
  readonly members: readonly AlgorithmStep[];
}

function buildPlan(
  snapshot: ConfigSnapshot,
  tier: string,
  rules: readonly CompiledRule[],
  prefix: string,
  mode: HeaderMode,
  status: LoadStatus,
): TierPlan {
  const compiled = snapshot.tiers.get(tier);
  if (compiled === undefined) throw new Error(`tier "${tier}" is not in configuration ${snapshot.version}`);
  const enforced = rules.filter((r) => r.mode === 'enforce');
  // The rule's cost applies to the tier too; of several rules, the dearest sets what the request costs.
  const cost = enforced.reduce((c, r) => Math.max(c, r.cost), 1);
  const groups = new Map<string, { by: RuleKeyBy; cost: number; limits: Limit[] }>();
  const add = (by: RuleKeyBy, c: number, limit: Limit) => {
    const id = `${typeof by === 'string' ? by : `h:${by.header}`}\n${c}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = { by, cost: c, limits: [] };
      groups.set(id, g);
    }
    g.limits.push(limit);
  };
  add('key', cost, { owner: tier, scope: tierScope(tier), members: compiled.algorithmIn(status).members });
  for (const r of enforced) {
    add(r.keyBy, r.cost, {
      owner: r.id,
      scope: ruleScope(r.id),
      members: r.algorithmIn(tier, status).members,
    });
  }
  const all = [...groups.values()].map((g) => group(g.by, g.cost, g.limits, prefix, mode));
  // The tier's own group is charged last: a rule on another client (a login limit by IP) refuses before
  // the tier is charged, the usual case; the tier refusing after such a rule allowed leaves that rule
  // charged, which can only err on the strict side.
  const tierGroup = all[0]!;
  const enforce = Object.freeze([...all.slice(1), tierGroup]);
  const shadow = Object.freeze(
    rules
      .filter((r) => r.mode === 'shadow')
      .map((r) =>
        group(
          r.keyBy,
          r.cost,
          [{ owner: r.id, scope: ruleScope(r.id), members: r.algorithmIn(tier, status).members }],
          prefix,
          mode,
        ),
      ),
  );
  return Object.freeze({ tier, cost, enforce, shadow, rules: Object.freeze(rules.map((r) => r.id)) });
}

function group(
  by: RuleKeyBy,
  cost: number,
  limits: readonly Limit[],
  prefix: string,
  mode: HeaderMode,
): ChargeGroup {
  const parts: KeyspacePart[] = limits.map((l) => ({ scope: l.scope, members: l.members }));
  const space = partsKeyspace(prefix, parts);
  const owners = limits.flatMap((l) => l.members.map(() => l.owner));
  // Policy items are named by tier and rule; a limit of several rates numbers its items.
  const names = limits.flatMap((l) =>
    l.members.length === 1 ? [l.owner] : l.members.map((_, i) => `${l.owner}-${i}`),
  );
  const headers = new RateHeaders(mode, 'default', space.members, names);
  return Object.freeze({ by, cost, space, headers, owners: Object.freeze(owners) });
}
