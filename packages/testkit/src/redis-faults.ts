import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from './probe.js';
import { storedState } from './stored-state.js';
import { DATA_DIR_PREFIX, type RedisInstance, startRedis } from './redis-server.js';

export { sleep } from './probe.js';

// Fault injection on a redis-server of our own (issue 10): the faults are real commands and signals sent to
// a real server, never a mock. Everything here counts; nothing here asserts a duration.

/** A redis-server started for fault injection, with an admin connection the faults never touch. */
export interface FaultyRedis {
  /** The server process (stop/restart/pause/resume by signal). */
  readonly server: RedisInstance;
  readonly url: string;
  /**
   * The admin connection: named "faults-admin", skipped by `clientKill`, reconnecting on its own after a
   * restart. Its errors are swallowed (counted in `adminErrors`): it is the test's, not the code's under test.
   */
  readonly admin: Redis;
  /** Errors the admin connection saw (a restart closes it). */
  adminErrors: number;
  /** CLIENT PAUSE ms ALL: every client, the admin too, waits until `ms` has passed on the server. */
  clientPause(ms: number): Promise<void>;
  /** CLIENT KILL TYPE normal SKIPME yes: drops every normal connection but the admin's; how many it dropped. */
  clientKill(): Promise<number>;
  /** SCRIPT FLUSH: forgets every cached script, so the next EVALSHA answers NOSCRIPT. */
  scriptFlush(): Promise<void>;
  /** DEBUG SLEEP seconds: blocks the whole server (needs --enable-debug-command, which startFaultyRedis sets). */
  debugSleep(seconds: number): Promise<void>;
  /** Stops the server (SIGTERM: it writes its append-only file and exits). */
  kill(): Promise<void>;
  /** Starts it again on the same port and, with `persist`, the same data. */
  restart(): Promise<void>;
  /** The count a fixedWindow key holds (its state is "windowEnd:count"); 0 when the key is absent. */
  fixedWindowCount(key: string): Promise<number>;
  /** Stops the server, closes the admin connection and removes the data directory. */
  close(): Promise<void>;
}

/** Options of startFaultyRedis. */
export interface FaultyRedisOptions {
  /**
   * Keep the data across kill and restart, in an append-only file written before every reply (the
   * default): what Redis answered as charged is still counted after a restart, so counts stay comparable.
   */
  persist?: boolean;
  /** More redis-server arguments. */
  args?: string[];
}

/** Starts a redis-server with DEBUG enabled (and, by default, an append-only file kept across restarts). */
export async function startFaultyRedis(options: FaultyRedisOptions = {}): Promise<FaultyRedis> {
  const persist = options.persist ?? true;
  const args = ['--enable-debug-command', 'local'];
  // The harness gives every launch a fresh directory; a later --dir wins, so a restart finds the file again.
  // appendfsync no: the file is written before the replies of every event-loop turn, and SIGTERM flushes it;
  // only an OS crash would lose it.
  const dir = persist ? mkdtempSync(path.join(os.tmpdir(), DATA_DIR_PREFIX)) : undefined;
  if (dir !== undefined) args.push('--appendonly', 'yes', '--appendfsync', 'no', '--dir', dir);
  args.push(...(options.args ?? []));
  const server = await startRedis({ args });
  const admin = new Redis(server.url, { connectionName: 'faults-admin', maxRetriesPerRequest: null });
  const faulty: FaultyRedis = {
    server,
    url: server.url,
    admin,
    adminErrors: 0,
    async clientPause(ms) {
      await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
    },
    async clientKill() {
      return Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    },
    async scriptFlush() {
      await admin.call('SCRIPT', 'FLUSH');
    },
    async debugSleep(seconds) {
      await admin.call('DEBUG', 'SLEEP', String(seconds));
    },
    kill: () => server.stop(),
    restart: () => server.restart(),
    async fixedWindowCount(key) {
      const state = await storedState(admin, key);
      if (state === null) return 0;
      if (state.length !== 2) throw new Error(`${key} does not hold a fixedWindow state: ${state}`);
      return state[1]!;
    },
    async close() {
      admin.disconnect();
      server.resume();
      await server.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  admin.on('error', () => {
    faulty.adminErrors++;
  });
  await admin.ping();
  return faulty;
}

/** Repeats `fault` every `everyMs` until stopped; how many times it ran and how many failed. */
export interface RepeatedFault {
  stop(): Promise<{ runs: number; failures: number }>;
}

/** Runs `fault` now and then every `everyMs` (after the previous run settled) until `stop()`. */
export function repeatFault(fault: () => Promise<unknown>, everyMs: number): RepeatedFault {
  let stopped = false;
  let runs = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      runs++;
      try {
        await fault();
      } catch {
        failures++;
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { runs, failures };
    },
  };
}

/** What a decision looks like to the load runner: structural, so any limiter version fits. */
export interface LoadDecision {
  readonly allowed: boolean;
  /** Set when the decision was made without Redis ('allow', 'deny', 'local'); absent when Redis decided. */
  readonly fallback?: string | undefined;
}

/** Anything with `limit(key)`, e.g. a RateLimiter. */
export interface LoadLimiter {
  limit(key: string): Promise<LoadDecision>;
}

/** Per key: how its decisions were answered. Costs are always 1, so these are also units. */
export interface KeyTally {
  /** Answered allowed by Redis (no fallback): each of these is one unit Redis must hold. */
  redisAllowed: number;
  /** Answered refused by Redis. */
  redisRefused: number;
  /** Answered without Redis, by fallback kind and allowed or not, e.g. "local:allowed", "allow:allowed". */
  fallback: Record<string, number>;
  /** Rejected promises, by error name (e.g. "BackendTimeoutError"). */
  rejected: Record<string, number>;
  /**
   * Answered without Redis (fallback or rejection) at their deadline: at least 90% of `deadlineMs` after
   * they were asked. Only these may have been charged by a reply lost after the script ran.
   */
  atDeadline: number;
  /** Rejections before 90% of `deadlineMs` had passed, by error name. */
  rejectedEarly: Record<string, number>;
}

/** One answer as the runner saw it. */
export interface Answer {
  readonly key: string;
  /** 'redis', the fallback kind, or 'rejected'. */
  readonly source: string;
  readonly allowed: boolean;
  readonly error?: Error;
  /** performance.now() when asked and when answered. */
  readonly startedAt: number;
  readonly answeredAt: number;
}

/** Totals over every key: the tallies' counts summed, their records summed by name. */
export interface LoadTotals extends Pick<KeyTally, 'redisAllowed' | 'redisRefused' | 'atDeadline'> {
  /** Every call answered, however. */
  decisions: number;
  /** Calls answered by a fallback, and calls rejected. */
  fallback: number;
  rejected: number;
  /** KeyTally's `rejected`, `fallback` and `rejectedEarly` over every key. */
  rejectedBy: Record<string, number>;
  fallbackBy: Record<string, number>;
  rejectedEarlyBy: Record<string, number>;
  /** Longest time a call took to be answered, in ms: a figure, never asserted. */
  maxLatencyMs: number;
}

/** Options of startLoad. */
export interface LoadOptions {
  limiter: LoadLimiter;
  /** Keys asked for in turn. */
  keys: readonly string[];
  /** Decisions kept in flight at once. */
  concurrency: number;
  /** Stops on its own after this long (default: only on stop()). */
  durationMs?: number;
  /** The callers' deadline (the backend's timeoutMs), to tally answers given at it (default 1000). */
  deadlineMs?: number;
}

/** A running load: N decisions kept in flight until stopped. */
export interface LoadRun {
  /** Per key tallies, live. */
  readonly tallies: ReadonlyMap<string, KeyTally>;
  /** Totals so far. */
  totals(): LoadTotals;
  /** How many answers so far match, e.g. answered without Redis and asked before a fault began. */
  count(match: (answer: Answer) => boolean): number;
  /** Resolves with the first answer (after now) that matches, or undefined once `boundMs` has passed. */
  waitFor(match: (answer: Answer) => boolean, boundMs: number): Promise<Answer | undefined>;
  /** Stops asking and resolves once every call in flight has settled. */
  stop(): Promise<LoadTotals>;
}

function emptyTally(): KeyTally {
  return { redisAllowed: 0, redisRefused: 0, fallback: {}, rejected: {}, atDeadline: 0, rejectedEarly: {} };
}

const bump = (record: Record<string, number>, name: string) => {
  record[name] = (record[name] ?? 0) + 1;
};

/**
 * Keeps `concurrency` decisions in flight over `keys` and tallies how each was answered. A call answered
 * without Redis (fallback or rejection) is followed by a 1 ms pause in its worker: fallbacks answer without
 * I/O, and a worker that never waits would starve the event loop (and the reconnect it waits for).
 */
export function startLoad(options: LoadOptions): LoadRun {
  const { limiter, keys, concurrency } = options;
  const atDeadline = 0.9 * (options.deadlineMs ?? 1000);
  const tallies = new Map<string, KeyTally>(keys.map((k) => [k, emptyTally()]));
  let stopped = false;
  let next = 0;
  let maxLatencyMs = 0;
  const answers: Answer[] = [];
  const waiters = new Set<{ match: (a: Answer) => boolean; done: (a: Answer | undefined) => void }>();
  const record = (answer: Answer) => {
    answers.push(answer);
    maxLatencyMs = Math.max(maxLatencyMs, answer.answeredAt - answer.startedAt);
    for (const w of waiters) {
      if (w.match(answer)) {
        waiters.delete(w);
        w.done(answer);
      }
    }
  };
  const worker = async () => {
    while (!stopped) {
      const key = keys[next++ % keys.length]!;
      const tally = tallies.get(key)!;
      const startedAt = performance.now();
      let source: string;
      try {
        const d = await limiter.limit(key);
        source = d.fallback === undefined ? 'redis' : d.fallback;
        if (d.fallback === undefined) {
          if (d.allowed) tally.redisAllowed++;
          else tally.redisRefused++;
        } else {
          bump(tally.fallback, `${d.fallback}:${d.allowed ? 'allowed' : 'refused'}`);
        }
        record({ key, source, allowed: d.allowed, startedAt, answeredAt: performance.now() });
      } catch (error) {
        source = 'rejected';
        const e = error instanceof Error ? error : new Error(String(error));
        bump(tally.rejected, e.name);
        if (performance.now() - startedAt < atDeadline) bump(tally.rejectedEarly, e.name);
        record({ key, source, allowed: false, error: e, startedAt, answeredAt: performance.now() });
      }
      if (source !== 'redis') {
        if (performance.now() - startedAt >= atDeadline) tally.atDeadline++;
        await sleep(1);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const all = Promise.all(workers);
  const timer =
    options.durationMs === undefined ? undefined : setTimeout(() => (stopped = true), options.durationMs);
  const totals = (): LoadTotals => {
    const t: LoadTotals = {
      decisions: 0,
      redisAllowed: 0,
      redisRefused: 0,
      fallback: 0,
      rejected: 0,
      rejectedBy: {},
      fallbackBy: {},
      atDeadline: 0,
      rejectedEarlyBy: {},
      maxLatencyMs: Math.round(maxLatencyMs),
    };
    for (const tally of tallies.values()) {
      t.redisAllowed += tally.redisAllowed;
      t.redisRefused += tally.redisRefused;
      t.atDeadline += tally.atDeadline;
      for (const [k, n] of Object.entries(tally.fallback)) {
        t.fallback += n;
        t.fallbackBy[k] = (t.fallbackBy[k] ?? 0) + n;
      }
      for (const [k, n] of Object.entries(tally.rejected)) {
        t.rejected += n;
        t.rejectedBy[k] = (t.rejectedBy[k] ?? 0) + n;
      }
      for (const [k, n] of Object.entries(tally.rejectedEarly)) {
        t.rejectedEarlyBy[k] = (t.rejectedEarlyBy[k] ?? 0) + n;
      }
    }
    t.decisions = t.redisAllowed + t.redisRefused + t.fallback + t.rejected;
    return t;
  };
  return {
    tallies,
    totals,
    count(match) {
      let n = 0;
      for (const a of answers) if (match(a)) n++;
      return n;
    },
    waitFor(match, boundMs) {
      return new Promise((resolve) => {
        const waiter = {
          match,
          done: (a: Answer | undefined) => {
            clearTimeout(bound);
            resolve(a);
          },
        };
        const bound = setTimeout(() => {
          waiters.delete(waiter);
          resolve(undefined);
        }, boundMs);
        waiters.add(waiter);
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await all;
      return totals();
    },
  };
}

/**
 * Reports a measured figure: printed as "[figure] name {...}", and appended as one JSON line to the file
 * named by DISTLIMITER_FIGURES when that is set.
 */
export function reportFigure(name: string, data: Record<string, unknown>): void {
  const line = JSON.stringify({ figure: name, ...data });
  console.info(`[figure] ${name} ${JSON.stringify(data)}`);
  const file = process.env.DISTLIMITER_FIGURES;
  if (file) appendFileSync(file, `${line}\n`);
}

/** Polls `check` every `everyMs` until it returns true or `boundMs` has passed; whether it did. */
export async function until(
  check: () => boolean | Promise<boolean>,
  boundMs: number,
  everyMs = 20,
): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(everyMs);
  }
}
