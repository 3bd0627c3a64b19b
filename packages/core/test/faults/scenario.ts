import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  failOnStrayOutput,
  type FaultyRedis,
  type FaultyRedisOptions,
  type LoadRun,
  type LoadTotals,
  startFaultyRedis,
  startLoad,
  until,
} from '../../../testkit/src/index.js';
import type { RedisBackendHealth, RedisBackendOptions } from '../../src/index.js';
import {
  type BackendEvent,
  type ClientKind,
  CONCURRENCY,
  type CountCheck,
  checkCounts,
  keysOf,
  report,
  settle,
  type Subject,
  subject,
} from './support.js';

// The skeleton every fault scenario shares, so a test file states only its fault and what it expects of
// it: a load on a subject (steady on Redis), the fault, the load steady on Redis again, then the counts
// read back from Redis and the figures reported.

/**
 * Starts the file's redis-server before its tests and stops it after them, and fails any test that leaves
 * stray output (the backend reports through events only). Returns the server, once started.
 */
export function useFaultyRedis(options: FaultyRedisOptions = {}): () => FaultyRedis {
  let faulty: FaultyRedis | undefined;
  beforeAll(async () => {
    faulty = await startFaultyRedis(options);
  });
  afterAll(async () => {
    await faulty?.close();
  });
  failOnStrayOutput();
  return () => {
    if (faulty === undefined)
      throw new Error('the fault server is started in beforeAll; ask for it in a test');
    return faulty;
  };
}

/** What a scenario's fault works with while the load runs. */
export interface Running {
  readonly faulty: FaultyRedis;
  readonly subject: Subject;
  readonly load: LoadRun;
}

/** One fault under load, on one subject. */
export interface Scenario<T, F extends Record<string, unknown>> {
  /** Unique in its file: names the figure, and the keys' prefix. */
  name: string;
  kind: ClientKind;
  onBackendError: 'throw' | 'allow' | 'deny' | 'local';
  /** The RedisBackend's options but its client; its timeoutMs is also the load's deadline. */
  backendOptions?: Omit<RedisBackendOptions, 'client'>;
  /** Decisions Redis must answer as allowed before the fault, and again after it (default 300). */
  steady?: number;
  /** How long the load may take to reach `steady` again after the fault (default 10 s). */
  recoveryBoundMs?: number;
  /** Injects the fault into the running load, asserting what must hold meanwhile. */
  inject(running: Running): Promise<T>;
  /** The scenario's own figures, read once the load has stopped (every answer is in). */
  figures(injected: T, load: LoadRun, totals: LoadTotals): F;
}

/** What a scenario leaves for its test to assert on; everything is read before the subject closes. */
export interface Outcome<T, F> {
  readonly totals: LoadTotals;
  /** The backend's health once Redis decided again and every call was past its deadline. */
  readonly health: RedisBackendHealth;
  readonly check: CountCheck;
  readonly events: readonly BackendEvent[];
  readonly injected: T;
  readonly figures: F;
}

/**
 * Runs `scenario` on `faulty`: asserts the load is steady on Redis before the fault and after it, and that
 * Redis decides again with the breaker closed; reports the figures; closes the subject whatever happens.
 */
export async function runUnderFault<T, F extends Record<string, unknown>>(
  faulty: FaultyRedis,
  scenario: Scenario<T, F>,
): Promise<Outcome<T, F>> {
  const steady = scenario.steady ?? 300;
  const s = subject(
    scenario.kind,
    faulty.url,
    prefixOf(scenario.name),
    scenario.onBackendError,
    scenario.backendOptions,
  );
  const timeoutMs = s.backend.timeoutMs;
  const load = startLoad({
    limiter: s.limiter,
    keys: keysOf('k', 8),
    concurrency: CONCURRENCY,
    deadlineMs: timeoutMs,
  });
  try {
    const steadyBefore = await until(() => load.totals().redisAllowed >= steady, 10_000);
    expect(steadyBefore, `Redis answered ${steady} decisions as allowed before the fault`).toBe(true);
    const injected = await scenario.inject({ faulty, subject: s, load });
    const before = load.totals().redisAllowed;
    const steadyAfter = await until(
      () => load.totals().redisAllowed >= before + steady,
      scenario.recoveryBoundMs ?? 10_000,
    );
    expect(steadyAfter, `Redis answered ${steady} more decisions as allowed after the fault`).toBe(true);
    const totals = await load.stop();

    expect(await settle(s, timeoutMs), 'Redis decides again with the breaker closed').toBe(true);
    const health = s.backend.health();
    const check = await checkCounts(faulty, s, load);
    const figures = scenario.figures(injected, load, totals);
    report(scenario.name, s, totals, check, figures);
    return { totals, health, check, events: [...s.events], injected, figures };
  } finally {
    await load.stop();
    await s.close();
  }
}

// A key prefix (at most 64 characters) unique to the scenario's name, readable in redis-cli.
function prefixOf(name: string): string {
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 8);
  return `${name.replace(/[^\w-]+/g, '-').slice(0, 48)}-${hash}`;
}

/** No decision reached its caller as a rejection: the policy answered every one Redis did not. */
export function expectNoRejections(totals: LoadTotals): void {
  expect(totals.rejected, `rejections reached the caller: ${JSON.stringify(totals.rejectedBy)}`).toBe(0);
}
