// One minute of statistics in this process, as record() fills it and flush() writes it, and the fields it
// becomes in the store's per-minute hash: `all:a`, `all:l`, `t:<tier>:a`, `t:<tier>:l`, `r:<rule>:a`,
// `r:<rule>:l`. A field is read back by its two-character head and tail, so names may hold any character.

/** Distinct tiers (and, apart, rules) kept per minute: a configuration has far fewer; a bug cannot grow it. */
export const MAX_NAMES = 1024;

/** Distinct identities kept per minute in process; past it the lower half is forgotten (heavy hitters stay). */
export const MAX_IDENTITIES = 10_000;

/** Allowed and limited counts, mutable: what record() increments (one shape, so property access stays fast). */
export class Tally {
  a = 0;
  l = 0;
}

/** One minute's counts waiting to be flushed. */
export class MinuteBucket {
  readonly all = new Tally();
  readonly tiers = new Map<string, Tally>();
  readonly rules = new Map<string, Tally>();
  /** Refusals per identity. */
  readonly top = new Map<string, number>();

  /** `minute` is the minute's epoch number: floor(ms / 60 000). */
  constructor(readonly minute: number) {}

  /** The tally of tier `name`, or undefined past MAX_NAMES distinct tiers (then only the total counts it). */
  tier(name: string): Tally | undefined {
    return tallyOf(this.tiers, name);
  }

  /** The tally of rule `id`, or undefined past MAX_NAMES distinct rules. */
  rule(id: string): Tally | undefined {
    return tallyOf(this.rules, id);
  }

  /** Counts one refusal of `identity`, forgetting the least limited half past MAX_IDENTITIES. */
  limit(identity: string, by = 1): void {
    this.top.set(identity, (this.top.get(identity) ?? 0) + by);
    if (this.top.size > MAX_IDENTITIES) {
      const kept = mostFirst(this.top).slice(0, MAX_IDENTITIES / 2);
      this.top.clear();
      for (const [id, n] of kept) this.top.set(id, n);
    }
  }

  /** How many requests this minute holds. */
  samples(): number {
    return this.all.a + this.all.l;
  }

  /** The hash fields to add to the store (zero counts left out). */
  fields(): Record<string, number> {
    const out: [string, number][] = [];
    const put = (head: string, t: Tally) => {
      if (t.a > 0) out.push([`${head}:a`, t.a]);
      if (t.l > 0) out.push([`${head}:l`, t.l]);
    };
    put('all', this.all);
    for (const [name, t] of this.tiers) put(`t:${name}`, t);
    for (const [id, t] of this.rules) put(`r:${id}`, t);
    // fromEntries defines own properties, so a name such as "__proto__" stays a field.
    return Object.fromEntries(out);
  }

  /** The `n` most limited identities with their refusals, for the store's sorted set. */
  topMembers(n: number): Record<string, number> {
    return Object.fromEntries(this.top.size <= n ? this.top : mostFirst(this.top).slice(0, n));
  }

  /** Adds another bucket's counts (and/or identities) of the same minute: a failed flush coming back. */
  merge(other: MinuteBucket, counts: boolean, identities: boolean): void {
    if (counts) {
      add(this.all, other.all);
      for (const [name, t] of other.tiers) {
        const mine = this.tier(name);
        if (mine) add(mine, t);
      }
      for (const [id, t] of other.rules) {
        const mine = this.rule(id);
        if (mine) add(mine, t);
      }
    }
    if (identities) for (const [id, n] of other.top) this.limit(id, n);
  }
}

/** Counts of one window being summed: from the store's hashes and this process's buckets. */
export class WindowSum {
  readonly all = new Tally();
  readonly tiers = new Map<string, Tally>();
  readonly rules = new Map<string, Tally>();

  /** Adds one minute's hash as the store returned it (unknown fields ignored). */
  addFields(fields: Readonly<Record<string, string>>): void {
    for (const [field, raw] of Object.entries(fields)) {
      const n = Number(raw);
      if (!Number.isFinite(n) || field.length < 4) continue;
      const kind = field.slice(-2);
      if (kind !== ':a' && kind !== ':l') continue;
      let t: Tally | undefined;
      if (field === `all${kind}`) t = this.all;
      else if (field.startsWith('t:')) t = sumOf(this.tiers, field.slice(2, -2));
      else if (field.startsWith('r:')) t = sumOf(this.rules, field.slice(2, -2));
      if (t === undefined) continue;
      if (kind === ':a') t.a += n;
      else t.l += n;
    }
  }

  /** Adds a bucket this process has not flushed yet. */
  addBucket(bucket: MinuteBucket): void {
    add(this.all, bucket.all);
    for (const [name, t] of bucket.tiers) add(sumOf(this.tiers, name), t);
    for (const [id, t] of bucket.rules) add(sumOf(this.rules, id), t);
  }
}

/** Members of a score map, highest first, ties by name so the order is the same everywhere. */
export function mostFirst(scores: ReadonlyMap<string, number>): [string, number][] {
  return [...scores].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

function tallyOf(map: Map<string, Tally>, name: string): Tally | undefined {
  let t = map.get(name);
  if (t === undefined) {
    if (map.size >= MAX_NAMES) return undefined;
    t = new Tally();
    map.set(name, t);
  }
  return t;
}

function sumOf(map: Map<string, Tally>, name: string): Tally {
  let t = map.get(name);
  if (t === undefined) {
    t = new Tally();
    map.set(name, t);
  }
  return t;
}

function add(into: Tally, from: Tally): void {
  into.a += from.a;
  into.l += from.l;
}
