// The faults part: latency and fallback under a Redis outage, ours with its breaker against
// rate-limiter-flexible with its insurance limiter, each alone on its own redis-server.
import { Redis } from 'ioredis';
// By path, as in main.ts: @distlimiter/testkit is not (yet) a dependency of this package.
import { startRedis } from '../../../testkit/src/index.js';
import { probe } from '../../../testkit/src/probe.js';
import { redisVersion } from '../core/redis.js';
import { redisPid } from '../http/redis.js';
import { CLIENT_OPTIONS } from '../redis-options.js';
import { CONTENDERS, type ContenderSpec, DEADLINE_MS, LIMIT, WINDOW_S } from './contenders.js';
import { percentile, type Sample, startLoad } from './load.js';

/** What a fault does to the server. */
export type Scenario = 'kill' | 'pause';

/** The scenarios, in the order they run. */
export const SCENARIOS: readonly { id: Scenario; name: string }[] = [
  { id: 'kill', name: 'redis-server killed (SIGKILL), restarted on its port' },
  { id: 'pause', name: '`CLIENT PAUSE ALL` (hung server)' },
];

/** Timings and load of the part; `--quick` shortens them. */
export interface FaultsPlan {
  /** Runs of every scenario per contender; contenders alternate order between rounds. */
  rounds: number;
  /** Decisions started per second, the same for every contender. */
  perSecond: number;
  /** Keys the decisions cycle through. */
  keys: number;
  /** Load on a healthy server before the fault. */
  healthyMs: number;
  /** How long the server is down (killed) or paused. */
  faultMs: number;
  /** Load after the server is back: at least this long... */
  minRecoveryMs: number;
  /** ...and until every decision settled in the last `steadyMs` was answered by Redis... */
  steadyMs: number;
  /** ...but no longer than this. */
  maxRecoveryMs: number;
  /** After the load stops, how long to wait for decisions still in flight. */
  graceMs: number;
}

/** Full run: about 2 minutes. */
export const FULL_FAULTS: FaultsPlan = {
  rounds: 2,
  perSecond: 1000,
  keys: 1000,
  healthyMs: 1500,
  faultMs: 3000,
  minRecoveryMs: 1000,
  steadyMs: 500,
  maxRecoveryMs: 12_000,
  graceMs: 5000,
};

/** Smoke run: one round, a shorter fault. */
export const QUICK_FAULTS: FaultsPlan = { ...FULL_FAULTS, rounds: 1, healthyMs: 500, faultMs: 2000 };

/** Decisions started in one window of a run, and how they went. */
export interface WindowStats {
  decisions: number;
  /** Answered without Redis: ours with `decision.fallback` set, the peer by its insurance limiter. */
  fallback: number;
  /** Rejected with an error to the caller. */
  errors: number;
  denied: number;
  /** Decisions that took 500 ms or more: a hang, not a slow answer. */
  over500Ms: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One run of one contender through one scenario. All times in ms, relative to the fault's start. */
export interface FaultRun {
  scenario: Scenario;
  contender: string;
  round: number;
  /** When the load began (negative). */
  loadStartMs: number;
  /** When the server answered again: the restarted server's first PONG, or the end of the pause. */
  backMs: number;
  /** When the load stopped. */
  endMs: number;
  healthy: WindowStats;
  /** Decisions started between the fault and the server's return. */
  outage: WindowStats;
  /** Decisions started after the server's return. */
  recovery: WindowStats;
  /** From the server's return to the first answer from Redis to a decision started after the fault (null: none). */
  firstRedisAfterMs: number | null;
  /** From the server's return to the last decision answered without Redis (null: none after the fault). */
  lastFallbackAfterMs: number | null;
  /** Decisions, in any window, that took longer than the deadline (1000 ms) plus 100 ms. */
  overDeadline: number;
  /** Decisions still unsettled `graceMs` after the load stopped. */
  unsettled: number;
  /** Unhandled rejections and uncaught exceptions while the run lasted. */
  unhandled: string[];
  /** Breaker and client events (ours: open, halfOpen, close, connectionError; the peer: client errors). */
  events: { atMs: number; event: string; detail?: string }[];
  /** The backend's `health()` (ours) or the client's status (the peer) when the run ended. */
  health: unknown;
  /** Per 100 ms from the load's start: decisions started, answered without Redis, errors, slowest (ms). */
  timeline: { atMs: number; started: number; fallback: number; errors: number; maxMs: number }[];
}

/** One row of the table: a contender in a scenario, its rounds pooled. */
export interface FaultSummary {
  scenario: Scenario;
  contender: string;
  name: string;
  /** Pooled over the rounds' outage windows. */
  outage: WindowStats;
  firstRedisAfterMs: (number | null)[];
  lastFallbackAfterMs: (number | null)[];
  overDeadline: number;
  unsettled: number;
  unhandled: number;
}

/** Everything the faults part measured. */
export interface FaultsResults {
  plan: FaultsPlan;
  limit: string;
  deadlineMs: number;
  redis: string;
  /** What each contender's client and limiter were built with, as they reported it. */
  setups: Record<string, Record<string, unknown>>;
  summaries: FaultSummary[];
  runs: FaultRun[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stats(samples: readonly Sample[]): WindowStats {
  const latencies = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  let fallback = 0;
  let errors = 0;
  let denied = 0;
  for (const s of samples) {
    if (!s.redis) fallback++;
    if (s.error) errors++;
    else if (!s.allowed) denied++;
  }
  return {
    decisions: samples.length,
    fallback,
    errors,
    denied,
    over500Ms: latencies.filter((l) => l >= 500).length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? latencies[latencies.length - 1]! : Number.NaN,
  };
}

// Polls the port until the server answers PING: the moment it accepts connections again (to within the
// 2 ms between attempts and one round trip).
async function firstPong(port: number, capMs: number): Promise<number> {
  const deadline = performance.now() + capMs;
  while (performance.now() < deadline) {
    if (await probe(port, ['PING'], '+PONG', 200)) return performance.now();
    await sleep(2);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${capMs} ms of its restart`);
}

// Every sample settled since `since` was answered by Redis, and there was at least one.
function steadyOnRedis(samples: readonly Sample[], since: number): boolean {
  let seen = false;
  for (let i = samples.length - 1; i >= 0 && samples[i]!.end >= since; i--) {
    if (!samples[i]!.redis) return false;
    seen = true;
  }
  return seen;
}

function timeline(
  samples: readonly Sample[],
  from: number,
  to: number,
  faultAt: number,
): FaultRun['timeline'] {
  const buckets: FaultRun['timeline'] = [];
  for (let t = from; t < to; t += 100) {
    buckets.push({ atMs: Math.round(t - faultAt), started: 0, fallback: 0, errors: 0, maxMs: 0 });
  }
  for (const s of samples) {
    const b = buckets[Math.floor((s.start - from) / 100)];
    if (!b) continue;
    b.started++;
    if (!s.redis) b.fallback++;
    if (s.error) b.errors++;
    b.maxMs = Math.max(b.maxMs, Math.round((s.end - s.start) * 10) / 10);
  }
  return buckets;
}

// Unhandled rejections and uncaught exceptions go to the run in progress instead of ending the bench.
let unhandledSink: string[] | undefined;
const onUnhandled = (error: unknown) => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (unhandledSink) unhandledSink.push(text);
  else console.error('[bench faults] unhandled outside a run:', text);
};

async function runOnce(
  spec: ContenderSpec,
  scenario: Scenario,
  round: number,
  plan: FaultsPlan,
  setups: FaultsResults['setups'],
): Promise<{ run: FaultRun; outageSamples: Sample[] }> {
  const server = await startRedis();
  const unhandled: string[] = [];
  unhandledSink = unhandled;
  // The pause is sent by one connection and timed by another, both open before the load starts.
  const admin = new Redis(server.url, { ...CLIENT_OPTIONS, enableAutoPipelining: false });
  const watch = new Redis(server.url, { ...CLIENT_OPTIONS, enableAutoPipelining: false });
  admin.on('error', () => {});
  watch.on('error', () => {});
  const contender = spec.build(server.url);
  setups[spec.id] ??= contender.setup;
  try {
    await Promise.all([admin.ping(), watch.ping()]);
    const pid = await redisPid(server.url);
    if (pid === undefined) throw new Error('redis-server reported no process_id');
    const load = startLoad(contender, plan.perSecond, plan.keys);
    const loadStart = performance.now();
    await sleep(plan.healthyMs);

    const faultAt = performance.now();
    let backAt: number;
    if (scenario === 'kill') {
      process.kill(pid, 'SIGKILL');
      await sleep(plan.faultMs);
      const restarted = server.restart();
      backAt = await firstPong(server.port, 15_000);
      await restarted;
    } else {
      await admin.call('CLIENT', 'PAUSE', String(plan.faultMs), 'ALL');
      // Answered when the pause ends: PING is paused like every other command under ALL.
      await watch.ping();
      backAt = performance.now();
    }

    const { samples } = load;
    let firstRedis: number | undefined;
    for (;;) {
      await sleep(50);
      const now = performance.now();
      if (firstRedis === undefined) firstRedis = samples.find((s) => s.redis && s.start >= faultAt)?.end;
      if (now - backAt >= plan.maxRecoveryMs) break;
      if (
        now - backAt >= plan.minRecoveryMs &&
        firstRedis !== undefined &&
        steadyOnRedis(samples, now - plan.steadyMs)
      ) {
        break;
      }
    }
    const endAt = performance.now();
    await load.stop(plan.graceMs);
    const unsettled = load.pending();
    if (firstRedis === undefined) firstRedis = samples.find((s) => s.redis && s.start >= faultAt)?.end;
    let lastFallback: number | undefined;
    for (const s of samples) {
      if (!s.redis && s.end > faultAt && (lastFallback === undefined || s.end > lastFallback)) {
        lastFallback = s.end;
      }
    }
    const window = (from: number, to: number) => samples.filter((s) => s.start >= from && s.start < to);
    const rel = (t: number) => Math.round((t - faultAt) * 10) / 10;
    const outageSamples = window(faultAt, backAt);
    const run: FaultRun = {
      scenario,
      contender: spec.id,
      round,
      loadStartMs: rel(loadStart),
      backMs: rel(backAt),
      endMs: rel(endAt),
      healthy: stats(window(loadStart, faultAt)),
      outage: stats(outageSamples),
      recovery: stats(window(backAt, endAt)),
      firstRedisAfterMs: firstRedis === undefined ? null : Math.round((firstRedis - backAt) * 10) / 10,
      lastFallbackAfterMs: lastFallback === undefined ? null : Math.round((lastFallback - backAt) * 10) / 10,
      overDeadline: samples.filter((s) => s.end - s.start > DEADLINE_MS + 100).length,
      unsettled,
      unhandled,
      events: contender.events.map(({ at, ...e }) => ({ atMs: rel(at), ...e })),
      health: contender.health(),
      timeline: timeline(samples, loadStart, endAt, faultAt),
    };
    return { run, outageSamples };
  } finally {
    await contender.close().catch(() => {});
    admin.disconnect();
    watch.disconnect();
    await server.stop();
    // Late rejections of this run's clients still land here; the next run installs its own list.
    await sleep(20);
    if (unhandledSink === unhandled) unhandledSink = undefined;
  }
}

function summarize(spec: ContenderSpec, scenario: Scenario, runs: readonly FaultRun[], pooled: Sample[]) {
  return {
    scenario,
    contender: spec.id,
    name: spec.name,
    outage: stats(pooled),
    firstRedisAfterMs: runs.map((r) => r.firstRedisAfterMs),
    lastFallbackAfterMs: runs.map((r) => r.lastFallbackAfterMs),
    overDeadline: runs.reduce((n, r) => n + r.overDeadline, 0),
    unsettled: runs.reduce((n, r) => n + r.unsettled, 0),
    unhandled: runs.reduce((n, r) => n + r.unhandled.length, 0),
  } satisfies FaultSummary;
}

/**
 * Runs every scenario for every contender, `plan.rounds` times, each run on a fresh redis-server of its own
 * (always started here, even with REDIS_URL set: the part kills and pauses it).
 */
export async function runFaults(plan: FaultsPlan, log: (line: string) => void): Promise<FaultsResults> {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const setups: FaultsResults['setups'] = {};
  const runs: FaultRun[] = [];
  const summaries: FaultSummary[] = [];
  let redis = 'unknown';
  try {
    {
      const probeServer = await startRedis();
      redis = await redisVersion(probeServer.url).finally(() => probeServer.stop());
    }
    for (const scenario of SCENARIOS) {
      const pooled = new Map<string, Sample[]>();
      const mine = new Map<string, FaultRun[]>();
      for (let round = 0; round < plan.rounds; round++) {
        const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
        for (const spec of order) {
          log(`faults: ${scenario.id}, ${spec.name} (round ${round + 1}/${plan.rounds})`);
          const { run, outageSamples } = await runOnce(spec, scenario.id, round, plan, setups);
          runs.push(run);
          mine.set(spec.id, [...(mine.get(spec.id) ?? []), run]);
          pooled.set(spec.id, [...(pooled.get(spec.id) ?? []), ...outageSamples]);
        }
      }
      for (const spec of CONTENDERS) {
        summaries.push(summarize(spec, scenario.id, mine.get(spec.id) ?? [], pooled.get(spec.id) ?? []));
      }
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
  return {
    plan,
    limit: `${LIMIT} per ${WINDOW_S} s`,
    deadlineMs: DEADLINE_MS,
    redis,
    setups,
    summaries,
    runs,
  };
}
