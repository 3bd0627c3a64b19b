import { parseArgs } from '../args.js';
import { median } from '../stats.js';
import { FLOOR_VARIANTS, REDIS_VARIANTS, type RedisTarget, type Variant } from './apps/types.js';
import { FRAMEWORKS, type Framework } from './frameworks.js';
import { type LoadGenerator, type LoadResult, pickLoadGenerator } from './load.js';
import { choosePlacement, type Placement, pin } from './placement.js';
import { compileServer } from '../compile.js';
import { processCpuMs } from './cpu.js';
import { countVariantKeys, type HttpRedis, removeVariantKeys, variantPrefix } from './redis.js';
import { type Server, startServer, stopServer } from './servers.js';

/** Load settings, phases and rounds of Part B; `--quick` shrinks them. */
export interface HttpPlan {
  connections: number;
  /** Servers started per variant: a process's memory layout and JIT choices move its speed a little. */
  processes: number;
  /** Load before measuring, every server at once. */
  warmupMs: number;
  /** Solo phase, for requests per second: rounds in which each server, alone, gets one slice of load. */
  soloRounds: number;
  soloSliceMs: number;
  /** Pairs phase, for the ratios: rounds in which each variant is loaded beside a bare app, sharing one CPU. */
  pairRounds: number;
  pairMs: number;
  /** Also measure the floors (FLOOR_VARIANTS): a no-op middleware, ours without headers, ours with all five. */
  floors: boolean;
  /** Where the limiters count: in memory (ours and each peer's memory store), or on Redis (REDIS_VARIANTS). */
  store: 'memory' | 'redis';
}

/** Full run. */
export const FULL_HTTP: HttpPlan = {
  connections: 50,
  processes: Number(process.env.BENCH_PROCESSES ?? 2),
  warmupMs: 4000,
  soloRounds: 3,
  soloSliceMs: 1000,
  pairRounds: 8,
  pairMs: 2000,
  floors: false,
  store: 'memory',
};
/** Smoke run. */
export const QUICK_HTTP: HttpPlan = {
  ...FULL_HTTP,
  processes: 1,
  warmupMs: 1000,
  soloRounds: 1,
  pairRounds: 1,
};

/** One framework's figures. */
export interface FrameworkResult {
  framework: string;
  peerName: string;
  strict: boolean;
  /**
   * Per measured variant, requests per second alone: the median over solo rounds of the mean over its
   * processes.
   */
  rps: Partial<Record<Variant, number>>;
  /**
   * Per measured variant other than bare (the twin, and with `--floors` the floors too): the median over
   * rounds of its ratio to the bare app, from the pairs when possible, else solo.
   */
  ratios: Partial<Record<Variant, number>>;
  /** The same ratios from the solo rounds, which a slow phase of a shared machine moves far more. */
  soloRatios: Partial<Record<Variant, number>>;
  /**
   * The bars' own comparisons measured head to head (HEAD_TO_HEAD), keyed `other/base`: the median over
   * rounds of the two loaded together, sharing one CPU, of base's CPU time per request over other's.
   */
  headToHead: Partial<Record<HeadToHeadKey, number>>;
  /**
   * Per variant, each round's figure: requests per second (solo), and in pairs the bare app's CPU time per
   * request over the variant's (or, where CPU time is unreadable, the variant's rate over the bare app's).
   */
  samples: {
    solo: Record<Variant, number[]>;
    pairs: Record<Variant, number[]>;
    headToHead: Partial<Record<HeadToHeadKey, number[]>>;
  };
  /** On Redis: how many keys each variant held after the warm-up; none means it never reached Redis. */
  redisKeys?: Partial<Record<Variant, number>>;
  /** Anything that invalidates a run (non-2xx answers, socket errors); empty when clean. */
  problems: string[];
}

/** Everything Part B measures; frameworks whose app could not start are listed with the reason. */
export interface HttpResults {
  plan: HttpPlan;
  loadGenerator: string;
  /** Where servers, load generators and (on Redis, when the bench started it) redis-server run. */
  placement: string;
  /** Whether the ratios come from pairs (needs wrk), and what the pairs compare. */
  pairs: 'cpu' | 'rps' | false;
  frameworks: FrameworkResult[];
  failed: { framework: string; error: string }[];
}

// `noop-headers` is in every run, not only with --floors: ours is held to it (httpBars).
const MEASURED: readonly Variant[] = ['bare', 'ours', 'peer', 'noop-headers', 'twin'];
/** The Redis rows, beside the same bare app and twin as the memory rows. */
const MEASURED_ON_REDIS: readonly Variant[] = ['bare', ...REDIS_VARIANTS, 'twin'];
/**
 * The comparisons the bars make, each measured in pairs of its own besides the pairs with the bare app:
 * [base, other]. A quotient of two ratios to the bare app, each from other rounds and other bare processes,
 * carries the noise of both; loaded together, the two meet the same moment of the machine and the same
 * neighbour. Ours against the no-op with headers on memory; ours (both algorithms) against the peer on Redis.
 */
const HEAD_TO_HEAD = {
  memory: [['noop-headers', 'ours']],
  redis: [
    ['peer-redis', 'ours-redis-fixed'],
    ['peer-redis', 'ours-redis'],
  ],
} as const satisfies Record<HttpPlan['store'], readonly (readonly [Variant, Variant])[]>;

/** How a head-to-head comparison is named: `other/base`. */
export type HeadToHeadKey = {
  [S in keyof typeof HEAD_TO_HEAD]: (typeof HEAD_TO_HEAD)[S][number] extends readonly [infer B, infer O]
    ? `${O & string}/${B & string}`
    : never;
}[keyof typeof HEAD_TO_HEAD];

/** Load both servers of a pair get, at the same time, before their measured slice. */
const PAIR_LEAD_IN_MS = 1000;

interface Slot {
  variant: Variant;
  server: Server;
  url: string;
}

/** Rotates the order each round, so no variant always goes first or follows the same neighbour. */
function rotated<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

function perVariant<T>(make: () => T): Record<Variant, T> {
  return {
    bare: make(),
    ours: make(),
    peer: make(),
    twin: make(),
    noop: make(),
    'noop-headers': make(),
    quiet: make(),
    both: make(),
    tiered: make(),
    'tiered-nostats': make(),
    'tiered-monitor': make(),
    'ours-redis-fixed': make(),
    'ours-redis': make(),
    'peer-redis': make(),
  };
}

function emptySamples(): Record<Variant, number[]> {
  return perVariant((): number[] => []);
}

/** The variants one framework's pass measures, bare first. */
function variantsOf(plan: HttpPlan): readonly Variant[] {
  if (plan.store === 'redis') return MEASURED_ON_REDIS;
  return plan.floors ? [...MEASURED, ...FLOOR_VARIANTS] : MEASURED;
}

/** Each variant's mean over its processes, appended to `samples` as one round. */
function addRound(
  samples: Record<Variant, number[]>,
  slots: readonly Slot[],
  rates: readonly number[],
): void {
  const sums = new Map<Variant, number>();
  const counts = new Map<Variant, number>();
  slots.forEach((slot, i) => {
    sums.set(slot.variant, (sums.get(slot.variant) ?? 0) + rates[i]!);
    counts.set(slot.variant, (counts.get(slot.variant) ?? 0) + 1);
  });
  for (const [v, sum] of sums) samples[v].push(sum / counts.get(v)!);
}

function roundRatios(samples: Record<Variant, number[]>, v: Variant): number[] {
  return samples[v].map((rps, i) => rps / samples.bare[i]!);
}

/**
 * Measures one framework over the same running servers, in two phases.
 *
 * Solo, for the requests per second of the table: each server alone, one short slice per round.
 *
 * Pairs, for the ratios: each variant is loaded at the same time as a bare app, the two pinned to one CPU,
 * so a slow phase of a shared machine (which moves solo ratios by 10% and more) hits both alike. Each
 * server's CPU time per request is read from /proc: that is its cost whatever share of the CPU the
 * scheduler gave it. Which processes meet, and which is loaded first, rotate between rounds.
 *
 * Designs tried and dropped, because they moved the ratios by more than the limiters differ (figures in the
 * bench README):
 * - All variants on the CPU at once. Every extra server sharing the CPU inflates each request's cost (the
 *   bare Fastify app's CPU time per request doubled with six servers on it), and a bigger working set's
 *   more: Fastify with our plugin measured about 0.90 alone and beside one bare app, 0.77-0.80 among four
 *   or six servers.
 * - Warming servers up one after another: the one warmed first, idle longest before the measuring starts,
 *   measured 3-5% slower than identical copies for the whole run. Here all are warmed up at once.
 */
async function measureFramework(
  f: Framework,
  plan: HttpPlan,
  generator: LoadGenerator,
  placement: Placement,
  script: string,
  redis: HttpRedis | undefined,
): Promise<Omit<FrameworkResult, 'framework' | 'peerName' | 'strict'> & { cpuUnreadable: boolean }> {
  const variants = variantsOf(plan);
  const others = variants.filter((v) => v !== 'bare');
  const slots: Slot[] = [];
  const byVariant = perVariant((): Slot[] => []);
  // Each Redis variant counts under a prefix of its own, so its keys can be found and removed afterwards.
  const prefixes = new Map(
    REDIS_VARIANTS.filter((v) => variants.includes(v)).map((v) => [v, variantPrefix(f.id, v)]),
  );
  const targetOf = (v: Variant): RedisTarget | undefined => {
    const prefix = prefixes.get(v);
    if (prefix === undefined) return undefined;
    if (!redis) throw new Error(`${v} needs a Redis server`);
    return { url: redis.url, prefix };
  };
  const redisKeys: Partial<Record<Variant, number>> = {};
  const problems: string[] = [];
  const settings = { connections: plan.connections };
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
  const loadOne = async (slot: Slot, ms: number) => {
    const r = await generator.run(slot.url, settings, seconds(ms), placement.loadCpus);
    if (r.non2xx || r.errors || r.timeouts) {
      problems.push(`${slot.variant}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    return r;
  };
  let cpuUnreadable = false;
  // The base's cost per request (the bare app's, or in a head-to-head pair the compared side's) over the
  // other's, or where CPU time cannot be read, the other's rate over the base's.
  const pairRatio = async (base: Slot, other: Slot, round: number): Promise<number> => {
    // Which of the two is loaded first alternates between rounds.
    const order = round % 2 === 0 ? [base, other] : [other, base];
    // Unmeasured: a server loaded straight after idling measured up to 7% costlier in its first seconds
    // than one already under load, and the bare app of a round is loaded more often than the others.
    await Promise.all(order.map((s) => loadOne(s, PAIR_LEAD_IN_MS)));
    const cpuBefore = new Map(order.map((s) => [s, processCpuMs(s.server.child.pid)]));
    const loads = new Map<Slot, LoadResult>();
    await Promise.all(order.map(async (s) => loads.set(s, await loadOne(s, plan.pairMs))));
    const cost = (s: Slot) => {
      const start = cpuBefore.get(s);
      const end = processCpuMs(s.server.child.pid);
      const requests = loads.get(s)!.requests;
      return start === undefined || end === undefined || !(requests > 0) ? 0 : (end - start) / requests;
    };
    const [baseCost, otherCost] = [cost(base), cost(other)];
    if (baseCost > 0 && otherCost > 0) return baseCost / otherCost;
    cpuUnreadable = true;
    return loads.get(other)!.rps / loads.get(base)!.rps;
  };
  try {
    // Started in a rotating order too, so no variant's processes are always the oldest.
    for (let p = 0; p < plan.processes; p++) {
      for (const variant of rotated(variants, p)) {
        const server = await startServer(script, f.id, variant, targetOf(variant));
        const slot = { variant, server, url: `http://127.0.0.1:${server.port}/` };
        slots.push(slot);
        byVariant[variant].push(slot);
        if (placement.serverCpu !== undefined && server.child.pid) pin(server.child.pid, placement.serverCpu);
      }
    }
    if (generator.concurrent) await Promise.all(slots.map((slot) => loadOne(slot, plan.warmupMs)));
    else for (const slot of slots) await loadOne(slot, plan.warmupMs);
    if (redis && prefixes.size) {
      for (const [v, n] of await countVariantKeys(redis.url, prefixes)) {
        redisKeys[v] = n;
        if (n === 0) problems.push(`${v}: wrote no key to Redis`);
      }
    }
    const solo = emptySamples();
    for (let r = 0; r < plan.soloRounds; r++) {
      const order = rotated(slots, r);
      const rates: number[] = [];
      for (const slot of order) rates.push((await loadOne(slot, plan.soloSliceMs)).rps);
      addRound(solo, order, rates);
    }
    const paired = emptySamples();
    const direct: Partial<Record<HeadToHeadKey, number[]>> = {};
    if (generator.concurrent) {
      const n = plan.processes;
      // Any processes x processes rounds in a row pair every process of one side with every one of the other.
      const meet = (base: Variant, other: Variant, r: number) =>
        pairRatio(byVariant[base][r % n]!, byVariant[other][(r + Math.floor(r / n)) % n]!, r);
      for (let r = 0; r < plan.pairRounds; r++) {
        paired.bare.push(1);
        for (const v of rotated(others, r)) paired[v].push(await meet('bare', v, r));
        for (const [base, other] of HEAD_TO_HEAD[plan.store]) {
          const key = `${other}/${base}` as HeadToHeadKey;
          const rounds = direct[key] ?? [];
          rounds.push(await meet(base, other, r));
          direct[key] = rounds;
        }
      }
    }
    const soloRatios = Object.fromEntries(others.map((v) => [v, median(roundRatios(solo, v))]));
    return {
      rps: Object.fromEntries(variants.map((v) => [v, median(solo[v])])),
      ratios: generator.concurrent
        ? Object.fromEntries(others.map((v) => [v, median(paired[v])]))
        : soloRatios,
      soloRatios,
      headToHead: Object.fromEntries(
        Object.entries(direct).map(([key, values]) => [key, median(values as number[])]),
      ),
      samples: { solo, pairs: paired, headToHead: direct },
      ...(prefixes.size ? { redisKeys } : {}),
      problems,
      cpuUnreadable,
    };
  } finally {
    await Promise.all(slots.map((s) => stopServer(s.server)));
    if (redis && prefixes.size) await removeVariantKeys(redis.url, prefixes);
  }
}

/**
 * Where redis-server runs: on the load generators' CPUs when the bench started it, so that it never takes
 * CPU time from the two servers of a pair (whose cost per request is what the ratios compare).
 */
function placeRedis(placement: Placement, redis: HttpRedis): string {
  if (redis.pid === undefined) return 'redis-server from REDIS_URL, not pinned';
  if (placement.loadCpus === undefined) return 'redis-server not pinned';
  pin(redis.pid, placement.loadCpus);
  return `redis-server pinned to CPU ${placement.loadCpus}`;
}

/**
 * Runs Part B, one framework at a time, with the limiters counting in memory or (`plan.store`) on `redis`.
 * `only` picks frameworks by id (default: the command line's `--framework`, else all of them).
 */
export async function runHttp(
  plan: HttpPlan,
  log: (line: string) => void,
  redis?: HttpRedis,
  only: readonly string[] | undefined = parseArgs(process.argv.slice(2)).frameworks,
): Promise<HttpResults> {
  if (plan.store === 'redis' && !redis) throw new Error('the HTTP rows on Redis need a Redis server');
  const generator = pickLoadGenerator();
  const chosen = choosePlacement();
  const placement =
    plan.store === 'redis' && redis
      ? { ...chosen, describe: `${chosen.describe}; ${placeRedis(chosen, redis)}` }
      : chosen;
  const script = await compileServer();
  log(`http: load from ${generator.name}; ${placement.describe}; servers compiled to ${script}`);
  const frameworks: FrameworkResult[] = [];
  const failed: HttpResults['failed'] = [];
  let cpuUnreadable = false;
  for (const f of FRAMEWORKS) {
    if (only !== undefined && !only.includes(f.id)) continue;
    log(
      plan.store === 'redis'
        ? `http on Redis: ${f.label} (bare, distlimiter fixedWindow, distlimiter rate, ${f.redisPeer}, bare twin)`
        : `http: ${f.label} (bare, distlimiter, ${f.peer}, no-op with headers, bare twin)`,
    );
    try {
      const { cpuUnreadable: unreadable, ...measured } = await measureFramework(
        f,
        plan,
        generator,
        placement,
        script,
        redis,
      );
      if (unreadable) cpuUnreadable = true;
      const peerName = plan.store === 'redis' ? f.redisPeer : f.peer;
      frameworks.push({ framework: f.label, peerName, strict: f.strict, ...measured });
    } catch (error) {
      failed.push({ framework: f.label, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return {
    plan,
    loadGenerator: generator.name,
    placement: placement.describe,
    pairs: generator.concurrent ? (cpuUnreadable ? 'rps' : 'cpu') : false,
    frameworks,
    failed,
  };
}
