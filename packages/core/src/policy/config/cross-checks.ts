import { sha256 } from '../../key-names.js';
import { parseRate } from '../rate.js';
import { didYouMean, maskKey, quote } from './messages.js';

// The checks that span fields: names that must exist, ids that must be unique, numbers that depend on a
// rate. They run even when some field failed its own check (so one pass lists every problem), so they
// read the document as `unknown` and skip whatever is malformed: that field has its own problem already.

/** A problem found across fields: the path of the field to fix, and what is wrong. */
export interface FieldProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

type Fields = Record<string, unknown>;

const fields = (value: unknown): Fields | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/** The counts of a rate or list of rates, or undefined when any of them does not parse (reported elsewhere). */
function counts(rate: unknown): number[] | undefined {
  const list = Array.isArray(rate) ? rate : [rate];
  try {
    return list.map((r) => parseRate(r).limit);
  } catch {
    return undefined;
  }
}

/** Every problem across the fields of a configuration document. */
export function crossFieldProblems(input: unknown): FieldProblem[] {
  const doc = fields(input);
  if (!doc) return [];
  const problems: FieldProblem[] = [];
  const tiers = fields(doc.tiers);
  const tierNames = tiers ? Object.keys(tiers) : undefined;
  // A name that should be a tier's; only judged when the tiers themselves could be read.
  const tierRef = (value: unknown, path: (string | number)[]) => {
    if (!tierNames || typeof value !== 'string' || tierNames.includes(value)) return;
    const list = tierNames.length ? `tiers: ${tierNames.join(', ')}` : 'the document has no tiers';
    problems.push({
      path,
      message: `${quote(value)} is not a tier of this document${didYouMean(value, tierNames)}; ${list}`,
    });
  };

  tierRef(doc.defaultTier, ['defaultTier']);
  const keys = fields(doc.keys);
  if (keys) {
    for (const [key, tier] of Object.entries(keys)) tierRef(tier, ['keys', key]);
    problems.push(...hashConflicts(keys));
  }
  if (tiers) {
    for (const [name, tier] of Object.entries(tiers)) problems.push(...tierProblems(name, fields(tier)));
  }
  if (Array.isArray(doc.rules)) {
    const firstWithId = new Map<string, number>();
    doc.rules.forEach((value, i) => {
      const rule = fields(value);
      if (!rule) return;
      if (typeof rule.id === 'string') {
        const first = firstWithId.get(rule.id);
        if (first === undefined) firstWithId.set(rule.id, i);
        else {
          problems.push({
            path: ['rules', i, 'id'],
            message: `${quote(rule.id)} is also the id of rules[${first}]; each rule needs its own id`,
          });
        }
      }
      const overrides = fields(rule.tiers);
      for (const name of Object.keys(overrides ?? {})) tierRef(name, ['rules', i, 'tiers', name]);
      problems.push(...ruleProblems(rule, i, tiers));
    });
  }
  return problems;
}

function tierProblems(name: string, tier: Fields | undefined): FieldProblem[] {
  if (!tier || !isPositiveInteger(tier.burst)) return [];
  const path = ['tiers', name, 'burst'];
  if (Array.isArray(tier.rate)) {
    return [
      {
        path,
        message:
          'is for a single rate; with a list of rates each limit holds its own count (leave "burst" out, or give one rate)',
      },
    ];
  }
  const count = counts(tier.rate)?.[0];
  if (count === undefined || tier.burst >= count) return [];
  return [
    {
      path,
      message: `${tier.burst} is below the count of ${quote(tier.rate)}: the bucket holds at least ${count}, the rate's count`,
    },
  ];
}

/** The most a tier's limits let through at once: its burst, or the smallest count of its rates. */
function tierCapacity(tier: Fields | undefined): number | undefined {
  if (!tier) return undefined;
  if (!Array.isArray(tier.rate) && isPositiveInteger(tier.burst)) return tier.burst;
  const c = counts(tier.rate);
  return c ? Math.min(...c) : undefined;
}

// A cost above what a limit holds can never be paid: every request it applies to would be refused forever.
function ruleProblems(rule: Fields, i: number, tiers: Fields | undefined): FieldProblem[] {
  const cost = rule.cost;
  if (!isPositiveInteger(cost)) return [];
  const path = ['rules', i, 'cost'];
  const problems: FieldProblem[] = [];
  const tooSmall = (rate: unknown) => (counts(rate) ?? []).some((c) => c < cost);
  if (tooSmall(rule.rate)) {
    problems.push({
      path,
      message: `${cost} is more than the rule's rate ${quote(rule.rate)} lets through at once, so no matching request could ever pass`,
    });
  }
  for (const [name, override] of Object.entries(fields(rule.tiers) ?? {})) {
    if (tooSmall(fields(override)?.rate)) {
      problems.push({
        path,
        message: `${cost} is more than the rule's rate for tier "${name}" lets through at once, so none of its matching requests could ever pass`,
      });
    }
  }
  const starved = Object.entries(tiers ?? {})
    .filter(([, tier]) => (tierCapacity(fields(tier)) ?? cost) < cost)
    .map(([name, tier]) => `"${name}" (${tierCapacity(fields(tier))})`);
  if (starved.length) {
    problems.push({
      path,
      message: `${cost} is more than the bucket of tier ${starved.join(', tier ')} holds; the cost is charged to the tier too, so its matching requests could never pass`,
    });
  }
  return problems;
}

// A key listed both raw and by its hash, with two different tiers, has no single tier.
function hashConflicts(keys: Fields): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, tier] of Object.entries(keys)) {
    if (key.startsWith('sha256:')) continue;
    const hashed = `sha256:${sha256(key)}`;
    if (Object.hasOwn(keys, hashed) && keys[hashed] !== tier) {
      problems.push({
        path: ['keys', hashed],
        message: `is the hash of the key also listed as keys["${maskKey(key)}"], with another tier (${quote(tier)}); a key has one tier`,
      });
    }
  }
  return problems;
}
