import { InvalidOptionError } from '../errors.js';
import { sha256 } from '../key-names.js';
import { MinuteBucket, mostFirst, WindowSum } from './stats-bucket.js';
import type { ControlStore } from './store.js';

// Statistics of decisions, shared by every instance through the control store.
//
// What a request counts, by its outcome:
// - allowed: 1 allowed for the total, its tier, and every rule it matched (shadow rules included);
// - refused: 1 limited for the total and its tier, 1 limited for the limit that refused it (`limitedBy`,
//   when that is a rule; the tier's own limit is already its tier's count), and nothing for the other rules
//   it matched. Those were not what refused it, and, charged after the refusal or all-or-nothing with the
//   refusing limit, they did not let it through either. So a rule's `allowed` is the requests it matched
//   that went on to the app, its `limited` the requests it refused; a tier's two add up to all its requests.
//
// Where counts live: one hash per minute, `<prefix>:stats:<minute>` (minute = floor(ms / 60 000)), fields
// `all:a|l`, `t:<tier>:a|l`, `r:<rule>:a|l`; the identities refused that minute in the sorted set
// `<prefix>:stats:<minute>:top`. Both expire 62 minutes after their last write (the 60-minute window plus
// slack), in Redis and in the memory store alike, so the store stays bounded. A window of N minutes is the
// current minute and the N - 1 before it.
//
// record() only counts in this process; a background timer (unreferenced) flushes every flushMs. A crash
// loses what was not flushed yet: at most flushMs of this instance's counts (plus, while the store is
// failing, the counts kept for retry, at most the last 60 minutes'). A flush that fails is kept and tried
// again with the next one; counts whose minute has left the 60-minute window by then are dropped and
// counted in `dropped`. A write that timed out after Redis applied it is tried again, so such a minute may
// count twice: statistics err towards at-least-once, decisions are never affected.

const MINUTE_MS = 60_000;
/** Minutes a report covers, and so how long unflushed counts stay worth keeping. */
const WINDOW_MINUTES = 60;
/** Time to live of a minute's keys, from their last write: 61 minutes and a minute of slack. */
export const STATS_TTL_MS = 62 * MINUTE_MS;
/** Identities longer than this are not counted among the most limited (stored identities are far shorter). */
const MAX_IDENTITY_LENGTH = 512;
// A client identity's source (ip, h, k, ...) and its hashed form, as key-names.ts builds them.
const SOURCE = /^[A-Za-z0-9_-]{1,16}$/;
const HASHED_IDENTITY = /^[A-Za-z0-9_-]{1,16}#[0-9a-f]{64}$/;

/** One request's outcome as statistics see it. */
export interface StatsSample {
  /** The request's tier (absent: counted in the total only). */
  tier?: string;
  /** The ids of the rules the request matched. */
  rules?: readonly string[];
  /** Whether the request was let through. */
  allowed: boolean;
  /** On a refusal: the tier name or rule id whose limit refused it. */
  limitedBy?: string;
  /** On a refusal: who was refused, as stored (`k#<sha256>` or `ip:<addr>`; any other form is hashed). */
  identity?: string;
}

/** Options of Statistics. */
export interface StatisticsOptions {
  /** Where counts are kept and shared: `controlStoreOf(backend)`. */
  store: ControlStore;
  /** Key namespace (the limiter's prefix); keys are `<prefix>:stats:...`. */
  prefix: string;
  /** How often counts are flushed to the store, in ms (default 1000): also how much a crash can lose. */
  flushMs?: number;
  /** Time source (default Date.now); minutes are taken from it. */
  clock?: () => number;
  /** How many of the most limited identities a report lists (default 10). */
  topKeys?: number;
}

/** Allowed and limited counts of a tier, a rule or everything. */
export interface StatsCounts {
  allowed: number;
  limited: number;
}

/** The counts of one window. */
export interface StatsWindow {
  /** Per tier: all of its requests, allowed or refused by any limit. */
  tiers: Record<string, StatsCounts>;
  /** Per rule: requests it matched that were let through, and requests it refused. */
  rules: Record<string, StatsCounts>;
  /** Every request recorded. */
  total: StatsCounts;
  /** Start of the window's first minute (ms). */
  since: number;
}

/** What `Statistics.read` reports. */
export interface StatsReport {
  /** The current minute, the last 15 and the last 60 (each: the current minute and those before it). */
  windows: { '1m': StatsWindow; '15m': StatsWindow; '60m': StatsWindow };
  /** The most limited identities over the last 60 minutes (k#<sha256> or ip:<addr>; never a raw key), most first. */
  topLimited: { identity: string; limited: number }[];
  /** When the report was read (ms, the statistics' clock). */
  generatedAt: number;
}

const WINDOWS = [
  ['1m', 1],
  ['15m', 15],
  ['60m', 60],
] as const;

/**
 * Allowed and limited counts per tier and rule over the last 1, 15 and 60 minutes, and the most limited
 * identities, shared by every instance on one store. Counting is in process and cheap; a background timer
 * flushes every `flushMs`, so a crash loses at most `flushMs` of this instance's counts.
 */
export class Statistics {
  private readonly store: ControlStore;
  private readonly prefix: string;
  private readonly clock: () => number;
  private readonly topKeys: number;
  // Identities sent per minute per flush, and read per minute: enough that the heavy hitters of an hour
  // show in the sum of its minutes, few enough that a minute's sorted set stays small.
  private readonly topPerMinute: number;
  private readonly timer: NodeJS.Timeout;
  private pending = new Map<number, MinuteBucket>();
  // The bucket record() last used and its minute's bounds: the common case needs no map lookup.
  private current: MinuteBucket | undefined;
  private currentStart = 0;
  private currentEnd = 0;
  // With the default clock, record() reads no clock: a timer at the end of the minute lets the current
  // bucket go (reading Date.now costs more than the counting itself). An injected clock is read every time,
  // so tests that move it are exact.
  private readonly exact: boolean;
  private roll: NodeJS.Timeout | undefined;
  private rollAt = 0;
  // Flushes and reads run one at a time, so a read never sees counts both in the store and in process.
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private closed = false;
  private droppedCount = 0;
  private failure: Error | undefined;

  constructor(options: StatisticsOptions) {
    const { store, prefix, flushMs = 1000, clock = Date.now, topKeys = 10 } = options ?? ({} as never);
    if (store === null || typeof store !== 'object' || typeof store.hashAdd !== 'function') {
      throw new InvalidOptionError('store', store, 'a ControlStore (controlStoreOf(backend))');
    }
    if (typeof prefix !== 'string' || prefix === '') {
      throw new InvalidOptionError('prefix', prefix, 'a non-empty string');
    }
    if (typeof flushMs !== 'number' || !Number.isInteger(flushMs) || flushMs < 1 || flushMs > 2_147_483_647) {
      throw new InvalidOptionError('flushMs', flushMs, 'a positive integer number of milliseconds');
    }
    if (typeof clock !== 'function') throw new InvalidOptionError('clock', clock, 'a function returning ms');
    if (typeof topKeys !== 'number' || !Number.isInteger(topKeys) || topKeys < 1 || topKeys > 1000) {
      throw new InvalidOptionError('topKeys', topKeys, 'an integer from 1 to 1000');
    }
    this.store = store;
    this.prefix = prefix;
    this.clock = clock;
    this.exact = options.clock !== undefined;
    this.topKeys = topKeys;
    this.topPerMinute = Math.max(100, topKeys * 10);
    this.timer = setInterval(() => {
      // A flush still running (a slow store) is not queued behind: the next tick takes everything.
      if (this.queued === 0) void this.flush();
    }, flushMs);
    this.timer.unref();
  }

  /** Samples not counted: kept for retry past the 60-minute window while the store failed, or unreadable. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The failure of the last flush, or undefined when it succeeded (for health). */
  get lastError(): Error | undefined {
    return this.failure;
  }

  /** Sync and cheap (called on every request): counts into in-process buckets, never awaits, never throws. */
  record(sample: StatsSample): void {
    if (this.closed) return;
    try {
      let bucket = this.current;
      if (bucket === undefined) bucket = this.bucketAt(this.clock());
      else if (this.exact) {
        const now = this.clock();
        if (now < this.currentStart || now >= this.currentEnd) bucket = this.bucketAt(now);
      }
      const { tier, rules } = sample;
      if (sample.allowed === true) {
        bucket.all.a++;
        if (tier !== undefined) {
          const t = bucket.tier(tier);
          if (t !== undefined) t.a++;
        }
        if (rules !== undefined) {
          for (let i = 0; i < rules.length; i++) {
            const r = bucket.rule(rules[i]!);
            if (r !== undefined) r.a++;
          }
        }
        return;
      }
      bucket.all.l++;
      if (tier !== undefined) {
        const t = bucket.tier(tier);
        if (t !== undefined) t.l++;
      }
      const by = sample.limitedBy;
      // The tier's own limit is already counted by the tier; a rule named like the tier is a rule.
      if (by !== undefined && (by !== tier || rules?.includes(by) === true)) {
        const r = bucket.rule(by);
        if (r !== undefined) r.l++;
      }
      const identity = sample.identity;
      if (typeof identity === 'string' && identity !== '' && identity.length <= MAX_IDENTITY_LENGTH) {
        bucket.limit(storedIdentity(identity));
      }
    } catch {
      this.droppedCount++;
    }
  }

  /** Flushes what is pending; failures are kept for the next flush (bounded), never thrown. */
  flush(): Promise<void> {
    return this.serial(() => this.flushPending());
  }

  /** Totals over the last 1, 15 and 60 minutes: the store's, shared by all instances, plus this instance's unflushed counts. */
  read(): Promise<StatsReport> {
    return this.serial(() => this.readNow());
  }

  /** Flushes and stops the timer; later samples are not counted. The store is left open (it is shared). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.roll);
    await this.flush();
  }

  /** Key of a minute's hash (its sorted set of identities adds `:top`). */
  keyOf(minute: number): string {
    return `${this.prefix}:stats:${minute}`;
  }

  private bucketAt(now: number): MinuteBucket {
    const minute = Math.floor(now / MINUTE_MS);
    let bucket = this.pending.get(minute);
    if (bucket === undefined) {
      bucket = new MinuteBucket(minute);
      this.pending.set(minute, bucket);
    }
    this.current = bucket;
    this.currentStart = minute * MINUTE_MS;
    this.currentEnd = this.currentStart + MINUTE_MS;
    if (!this.exact && this.rollAt !== this.currentEnd) {
      // Late by the event loop's lag at most: a request of the new minute's first moments may count in the
      // minute before, which no window can tell apart.
      clearTimeout(this.roll);
      this.rollAt = this.currentEnd;
      this.roll = setTimeout(() => {
        this.current = undefined;
      }, this.currentEnd - now);
      this.roll.unref();
    }
    return bucket;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.chain.then(work).finally(() => {
      this.queued--;
    });
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async flushPending(): Promise<void> {
    const buckets = [...this.pending.values()];
    if (buckets.length === 0) return;
    this.pending = new Map();
    this.current = undefined;
    const oldest = Math.floor(this.clock() / MINUTE_MS) - WINDOW_MINUTES + 1;
    const failures: Error[] = [];
    await Promise.all(
      buckets.map(async (bucket) => {
        if (bucket.minute < oldest) {
          this.droppedCount += bucket.samples();
          return;
        }
        const key = this.keyOf(bucket.minute);
        const fields = bucket.fields();
        const members = bucket.topMembers(this.topPerMinute);
        const [counts, top] = await Promise.allSettled([
          hasAny(fields) ? attempt(() => this.store.hashAdd(key, fields, STATS_TTL_MS)) : undefined,
          hasAny(members)
            ? attempt(() => this.store.scoresAdd(`${key}:top`, members, STATS_TTL_MS))
            : undefined,
        ]);
        const countsFailed = counts.status === 'rejected';
        const topFailed = top.status === 'rejected';
        if (countsFailed) failures.push(asError(counts.reason));
        if (topFailed) failures.push(asError(top.reason));
        if (countsFailed || topFailed) {
          // Only what would have been written is kept: the identities beyond topPerMinute are let go now.
          const kept = new MinuteBucket(bucket.minute);
          if (topFailed) for (const [id, n] of Object.entries(members)) kept.limit(id, n);
          kept.merge(bucket, countsFailed, false);
          this.requeue(kept);
        }
      }),
    );
    this.failure = failures[0];
  }

  private requeue(bucket: MinuteBucket): void {
    const into = this.pending.get(bucket.minute);
    if (into === undefined) this.pending.set(bucket.minute, bucket);
    else into.merge(bucket, true, true);
  }

  private async readNow(): Promise<StatsReport> {
    const now = this.clock();
    const minute = Math.floor(now / MINUTE_MS);
    const keys = Array.from({ length: WINDOW_MINUTES }, (_, i) => this.keyOf(minute - i));
    const [hashes, tops] = await Promise.all([
      this.store.hashesRead(keys),
      this.store.scoresTop(
        keys.map((k) => `${k}:top`),
        this.topPerMinute,
      ),
    ]);
    const sums = WINDOWS.map(() => new WindowSum());
    hashes.forEach((fields, i) => {
      WINDOWS.forEach(([, size], w) => {
        if (i < size) sums[w]!.addFields(fields);
      });
    });
    const limited = new Map<string, number>();
    const addLimited = (id: string, n: number) => limited.set(id, (limited.get(id) ?? 0) + n);
    for (const top of tops) for (const [id, n] of top) addLimited(id, n);
    // After the store's reply, so a flush (which runs only after this read) cannot count anything twice.
    for (const bucket of this.pending.values()) {
      const age = minute - bucket.minute;
      if (age < 0 || age >= WINDOW_MINUTES) continue;
      WINDOWS.forEach(([, size], w) => {
        if (age < size) sums[w]!.addBucket(bucket);
      });
      for (const [id, n] of bucket.top) addLimited(id, n);
    }
    const window = (w: number, size: number): StatsWindow => {
      const sum = sums[w]!;
      return {
        tiers: countsOf(sum.tiers),
        rules: countsOf(sum.rules),
        total: { allowed: sum.all.a, limited: sum.all.l },
        since: (minute - size + 1) * MINUTE_MS,
      };
    };
    return {
      windows: { '1m': window(0, 1), '15m': window(1, 15), '60m': window(2, 60) },
      topLimited: mostFirst(limited)
        .slice(0, this.topKeys)
        .map(([identity, n]) => ({ identity, limited: n })),
      generatedAt: now,
    };
  }
}

/**
 * The identity as statistics keep it: `ip:<addr>` and hashed forms (`k#<sha256>`) as given; any other
 * (`k:<value>`, `h:<header value>`, which may be a secret) as `<source>#<sha256 of the value>`, so no raw key
 * is ever stored or reported. This costs a hash only on refused requests with such identities.
 */
export function storedIdentity(identity: string): string {
  if (identity.startsWith('ip:') || HASHED_IDENTITY.test(identity)) return identity;
  const colon = identity.indexOf(':');
  const source = colon > 0 ? identity.slice(0, colon) : '';
  return SOURCE.test(source) ? `${source}#${sha256(identity.slice(colon + 1))}` : `k#${sha256(identity)}`;
}

function countsOf(map: ReadonlyMap<string, { a: number; l: number }>): Record<string, StatsCounts> {
  return Object.fromEntries([...map].map(([name, t]) => [name, { allowed: t.a, limited: t.l }]));
}

function hasAny(record: Readonly<Record<string, number>>): boolean {
  for (const _ in record) return true;
  return false;
}

// A store method that throws instead of rejecting is a failure like any other.
function attempt(write: () => Promise<void>): Promise<void> {
  try {
    return write();
  } catch (error) {
    return Promise.reject(error);
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
