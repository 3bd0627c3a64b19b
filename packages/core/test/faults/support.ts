import { Redis } from 'ioredis';
import { expect } from 'vitest';
import {
  type FaultyRedis,
  type LoadRun,
  type LoadTotals,
  reportFigure,
  sleep,
  until,
} from '../../../testkit/src/index.js';
import {
  fixedWindow,
  RateLimiter,
  RedisBackend,
  type RedisBackendHealth,
  type RedisBackendOptions,
} from '../../src/index.js';

// Shared by the fault-injection suite (issue 10). Counts and statuses, never durations: waits are bounded
// and their lengths reported as figures, never asserted. The clock only sorts calls (asked before a fault
// began; answered at their deadline), to count which of them may have been charged without Redis's answer.

/** The two ways a user hands RedisBackend its client: a URL, or their own ioredis client with its defaults. */
export const CLIENT_KINDS = ['url', 'default-options client'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** A limit no test reaches, so every decision Redis answers is an allowed one worth one unit. */
export const HUGE = fixedWindow('1000000/hour');

/** What happened to the backend, by event name, in order. */
export type BackendEvent = 'open' | 'halfOpen' | 'close' | 'connectionError';

/** A RedisBackend on `url` built as `kind` says, its limiter, and a log of its events. */
export interface Subject {
  readonly backend: RedisBackend;
  readonly limiter: RateLimiter;
  readonly events: BackendEvent[];
  /** The user's own client (kind "default-options client"), left open by the backend. */
  readonly userClient: Redis | undefined;
  /** Errors the user's client reported to its owner's listener (a real app has one). */
  readonly userClientErrors: Error[];
  close(): Promise<void>;
}

/** Builds the subject: `new RedisBackend({ client: url | new Redis(url), ...backendOptions })`. */
export function subject(
  kind: ClientKind,
  url: string,
  prefix: string,
  onBackendError: 'throw' | 'allow' | 'deny' | 'local',
  backendOptions: Omit<RedisBackendOptions, 'client'> = {},
): Subject {
  const userClientErrors: Error[] = [];
  let userClient: Redis | undefined;
  if (kind === 'default-options client') {
    // ioredis's defaults: offline queue on, in-flight commands re-sent on reconnect, 20 retries per request.
    userClient = new Redis(url);
    // The user's own client is the user's to watch; without a listener ioredis itself would log its errors.
    userClient.on('error', (e: Error) => userClientErrors.push(e));
  }
  const backend = new RedisBackend({ client: userClient ?? url, ...backendOptions });
  const events: BackendEvent[] = [];
  backend.on('open', () => events.push('open'));
  backend.on('halfOpen', () => events.push('halfOpen'));
  backend.on('close', () => events.push('close'));
  backend.on('connectionError', () => events.push('connectionError'));
  const limiter = new RateLimiter({ algorithm: HUGE, backend, prefix, onBackendError });
  return {
    backend,
    limiter,
    events,
    userClient,
    userClientErrors,
    async close() {
      await backend.close();
      userClient?.disconnect();
    },
  };
}

/** Keys `prefix-0` .. `prefix-(n-1)`. */
export const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/**
 * Waits (bounded) until Redis decides again: a probe on a key of its own answered by Redis with the
 * backend's breaker closed (the probe, sent on the same connection, also flushes whatever was queued on it
 * before). Then waits one deadline more: every call of the load is past its deadline by then, so a command
 * still held somewhere either has reached Redis or would be refused there. Whether Redis came back within
 * the bound.
 */
export async function settle(s: Subject, timeoutMs: number, boundMs = 15_000): Promise<boolean> {
  const back = await until(
    async () => {
      try {
        const d = await s.limiter.limit('settle-probe');
        return d.fallback === undefined && s.backend.health().state === 'closed';
      } catch {
        return false;
      }
    },
    boundMs,
    50,
  );
  await sleep(timeoutMs + 200);
  return back;
}

/** Redis's count per key against what Redis answered as allowed. */
export interface CountCheck {
  /** Units Redis answered as allowed, over every key. */
  allowedByRedis: number;
  /** Units Redis holds, over every key. */
  counted: number;
  /** counted - allowedByRedis where positive: charges nobody was told Redis made. */
  overCount: number;
  /** Keys holding less than Redis answered as allowed (lost charges): key, allowed, counted. */
  under: { key: string; allowed: number; counted: number }[];
}

/** Reads every key's count from Redis (through the admin connection) and compares it with the load's tally. */
export async function checkCounts(faulty: FaultyRedis, s: Subject, load: LoadRun): Promise<CountCheck> {
  const check: CountCheck = { allowedByRedis: 0, counted: 0, overCount: 0, under: [] };
  for (const [key, tally] of load.tallies) {
    const counted = await faulty.fixedWindowCount(s.limiter.keysFor(key)[0]!);
    check.allowedByRedis += tally.redisAllowed;
    check.counted += counted;
    if (counted < tally.redisAllowed) check.under.push({ key, allowed: tally.redisAllowed, counted });
    else check.overCount += counted - tally.redisAllowed;
  }
  return check;
}

/** Decisions the load kept in flight at once: no batch the backend sends can hold more. */
export const CONCURRENCY = 32;

/**
 * The count invariant of issue 10, in three parts:
 * - nothing Redis answered as allowed is lost;
 * - the backend reports every over-count: it is at most `lateReplies` plus `unverified` (the decisions of
 *   batches whose fate it could not read back; every decision here costs one unit);
 * - with `permitted`: the over-count comes only from calls that may have run before their answer without
 *   Redis, as the scenario counts them (the calls in flight when the server froze; the calls answered at
 *   their deadline when connections drop, since a re-send before it gets the answer Redis already gave).
 */
export function expectCounts(
  check: CountCheck,
  health: RedisBackendHealth,
  permitted?: { count: number; what: string },
): void {
  expect(check.under, 'keys Redis holds fewer charges on than it answered as allowed').toEqual([]);
  const counts = `${check.counted} counted, ${check.allowedByRedis} answered allowed by Redis`;
  expect(
    check.overCount,
    `charges in Redis beyond those it answered as allowed (${counts}), against the ${health.lateReplies} late replies and ${health.unverified} unverified decisions the backend reports`,
  ).toBeLessThanOrEqual(health.lateReplies + health.unverified);
  if (permitted === undefined) return;
  expect(
    check.overCount,
    `charges in Redis beyond those it answered as allowed (${counts}), against ${permitted.count} ${permitted.what}`,
  ).toBeLessThanOrEqual(permitted.count);
}

/** The figures every scenario reports. */
export function report(
  scenario: string,
  s: Subject,
  totals: LoadTotals,
  check: CountCheck,
  extra: Record<string, unknown> = {},
): void {
  const h = s.backend.health();
  reportFigure(scenario, {
    ...extra,
    decisions: totals.decisions,
    redisAllowed: totals.redisAllowed,
    fallback: totals.fallbackBy,
    rejected: totals.rejectedBy,
    counted: check.counted,
    overCount: check.overCount,
    lateReplies: h.lateReplies,
    unverified: h.unverified,
    refusedLate: h.refusedLate,
    resent: h.resent,
    // Over-count the backend does not report (a reply lost with its connection, never re-sent in time).
    overCountNotInLateReplies: Math.max(0, check.overCount - h.lateReplies),
    answeredAtDeadline: totals.atDeadline,
    maxLatencyMs: totals.maxLatencyMs,
    events: summarize(s.events),
  });
}

function summarize(events: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) out[e] = (out[e] ?? 0) + 1;
  return out;
}
