import { RedisBackend } from '@distlimiter/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKeys } from './bookkeeping-keys.js';
// Types only: http-conformance.ts calls describeHttpFaults, so the cycle never runs.
import type { ConformanceApp, ConformanceFactory } from './http-conformance.js';
import { type FaultyRedis, reportFigure, startFaultyRedis, until } from './redis-faults.js';
import { failOnStrayOutput } from './stray-output.js';

// Issue 10 at the HTTP layer, for every adapter: the conformance app on a real socket, its limiter on a
// redis-server that is stopped and started again while requests keep coming. One kill and one restart per
// adapter, under three apps side by side (one per onBackendError policy, each with its own RedisBackend
// and so its own breaker). What the clients get is checked by status and headers, never by time.

/** What each policy may answer, before, during and after the outage. */
const POLICIES = {
  // Never a 5xx: during the outage requests pass, without rate-limit headers.
  allow: [200, 429],
  // Refuses only with 429 (Redis) or 503 (Redis down), each with Retry-After.
  deny: [200, 429, 503],
  // Decided in memory during the outage, so answered like any decision: 200 or 429, with headers.
  local: [200, 429],
} as const;
type Policy = keyof typeof POLICIES;

const LIMIT = 40;
/** Requests each app has in flight at once. */
const CLIENTS = 4;
/** Replies each app gets in each phase (before: twice the limit, so Redis answers 429 too). */
const PER_PHASE = LIMIT;

/** One reply, as the client saw it. */
interface Reply {
  status: number;
  retryAfter: string | null;
  /** X-RateLimit-Limit: present when a decision (Redis's or the local one) answered, absent on a failure. */
  limit: string | null;
  /** performance.now() when the request was sent: only orders it against the breaker closing. */
  sentAt: number;
}

/** An app of one policy on its own backend, with clients sending to it until stopped. */
interface PolicyApp {
  readonly policy: Policy;
  readonly backend: RedisBackend;
  readonly prefix: string;
  readonly replies: Reply[];
  /** Requests that got no reply, by error. */
  readonly failures: string[];
  stop(): Promise<void>;
}

/**
 * Describes the kill-and-restart case for the adapter `factory` builds (`adapter` names its figures);
 * describeHttpConformance calls it. It starts a redis-server of its own, kept empty across the restart,
 * so what Redis holds afterwards was counted after it.
 */
export function describeHttpFaults(adapter: string, factory: ConformanceFactory): void {
  describe('redis-server killed and restarted under requests', () => {
    let faulty: FaultyRedis;
    beforeAll(async () => {
      faulty = await startFaultyRedis({ persist: false });
    });
    afterAll(async () => {
      await faulty?.close();
    });
    failOnStrayOutput();

    it("onBackendError 'allow', 'deny' and 'local' side by side: only their statuses while Redis is down, decided on Redis again after the restart", async () => {
      const apps: PolicyApp[] = [];
      try {
        for (const policy of Object.keys(POLICIES) as Policy[])
          apps.push(await startPolicyApp(factory, faulty, policy));
        await all(
          apps,
          (app) => until(() => app.replies.length >= 2 * PER_PHASE, 10_000),
          'answered before the outage',
        );

        await faulty.kill();
        const killedAt = new Map(apps.map((app) => [app, app.replies.length]));
        const opened = (app: PolicyApp) =>
          app.backend.health().state === 'open' && app.replies.length >= killedAt.get(app)! + PER_PHASE;
        await all(
          apps,
          (app) => until(() => opened(app), 10_000),
          'breaker opened, requests answered while Redis was down',
        );

        await faulty.restart();
        const restartedAt = performance.now();
        const closedAt = new Map<PolicyApp, { index: number; time: number }>();
        await all(
          apps,
          async (app) => {
            const closed = await until(() => app.backend.health().state === 'closed', 15_000);
            closedAt.set(app, { index: app.replies.length, time: performance.now() });
            return closed;
          },
          'breaker closed after the restart',
        );
        await all(
          apps,
          (app) => until(() => app.replies.length >= closedAt.get(app)!.index + PER_PHASE, 10_000),
          'answered after the breaker closed',
        );
        await Promise.all(apps.map((app) => app.stop()));

        for (const app of apps) {
          const closed = closedAt.get(app)!;
          const answers: Answers = {
            all: app.replies,
            // From the stop until the breaker was seen closed again: answered without Redis, but for the
            // requests Redis answered just before the stop and just after it closed.
            duringOutage: app.replies.slice(killedAt.get(app)!, closed.index),
            afterClose: app.replies.filter((r) => r.sentAt >= closed.time),
          };
          reportFigure(`http ${adapter} ${app.policy}`, {
            byStatus: byStatus(answers.all),
            outageByStatus: byStatus(answers.duringOutage),
            breakerClosedAfterRestartMs: Math.round(closed.time - restartedAt),
          });
          expect(app.failures, `${app.policy}: requests that got no reply`).toEqual([]);
          expectAnswers(app.policy, answers);
          const kept = stateKeys(await faulty.admin.keys(`${app.prefix}*`));
          // Redis, empty after the restart, counts for the app again.
          expect(
            kept.length,
            `${app.policy}: keys Redis holds for the app after the restart`,
          ).toBeGreaterThan(0);
        }
      } finally {
        await Promise.allSettled(apps.map((app) => app.stop()));
      }
    });
  });
}

/** One app's replies: all of them, those of the outage, those sent once its breaker had closed again. */
interface Answers {
  all: readonly Reply[];
  duringOutage: readonly Reply[];
  afterClose: readonly Reply[];
}

/** What clients of `policy` may get, and must have got, before, during and after the outage. */
function expectAnswers(policy: Policy, { all, duringOutage, afterClose }: Answers): void {
  const unexpected = all.filter((r) => !(POLICIES[policy] as readonly number[]).includes(r.status));
  expect(unexpected, `${policy}: statuses outside ${JSON.stringify(POLICIES[policy])}`).toEqual([]);
  const refusedWithoutRetryAfter = all.filter(
    (r) => (r.status === 429 || r.status === 503) && !/^\d+$/.test(r.retryAfter ?? ''),
  );
  expect(refusedWithoutRetryAfter, `${policy}: 429 and 503 answers without a Retry-After`).toEqual([]);
  expect(
    all.filter((r) => r.status === 429).length,
    `${policy}: Redis refused past the limit`,
  ).toBeGreaterThan(0);
  if (policy === 'allow') {
    // Let through by the policy: no decision, so no rate-limit headers.
    const passed = duringOutage.filter((r) => r.status === 200 && r.limit === null);
    expect(passed.length, 'allow: 200 without a decision while Redis was down').toBeGreaterThan(0);
  }
  if (policy === 'deny') {
    const refused = duringOutage.filter((r) => r.status === 503);
    expect(refused.length, 'deny: 503 while Redis was down').toBeGreaterThan(0);
  }
  if (policy === 'local') {
    // Decided in memory like any decision, so answered with the rate-limit headers, never bare.
    const bare = duringOutage.filter((r) => r.limit === null);
    expect(
      bare,
      'local: answers without rate-limit headers while Redis was down (not decided locally)',
    ).toEqual([]);
  }
  // Back on Redis: every request sent after the breaker closed was decided (headers, and no 503).
  expect(afterClose.length, `${policy}: requests sent after the breaker closed`).toBeGreaterThan(0);
  const undecided = afterClose.filter((r) => r.limit === null || r.status === 503);
  expect(undecided, `${policy}: answers after the breaker closed that no decision made`).toEqual([]);
}

/** Runs `check` for every app at once and asserts each passed, naming the policies that did not. */
async function all(
  apps: readonly PolicyApp[],
  check: (app: PolicyApp) => Promise<boolean>,
  what: string,
): Promise<void> {
  const passed = await Promise.all(apps.map(check));
  expect(
    apps.filter((_, i) => !passed[i]).map((app) => app.policy),
    `apps not ${what}`,
  ).toEqual([]);
}

/** Starts the conformance app for `policy` on a RedisBackend of its own, and CLIENTS clients of it. */
async function startPolicyApp(
  factory: ConformanceFactory,
  faulty: FaultyRedis,
  policy: Policy,
): Promise<PolicyApp> {
  const backend = new RedisBackend({ client: faulty.url });
  const prefix = `http-fault-${policy}`;
  const options = { rate: `${LIMIT}/hour`, backend, prefix, onBackendError: policy };
  let app: ConformanceApp;
  try {
    app = await factory({ global: options, strict: options });
  } catch (error) {
    await backend.close();
    throw error;
  }
  const replies: Reply[] = [];
  let stopped = false;
  const failures: string[] = [];
  const client = async () => {
    while (!stopped) {
      const sentAt = performance.now();
      try {
        const response = await fetch(`${app.url}/hello`);
        await response.arrayBuffer();
        replies.push({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          limit: response.headers.get('x-ratelimit-limit'),
          sentAt,
        });
      } catch (error) {
        // A request that got no reply at all (the app dropped it): kept for the test to fail on.
        failures.push(String(error));
        return;
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  let stopping: Promise<void> | undefined;
  return {
    policy,
    backend,
    prefix,
    replies,
    failures,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        await Promise.allSettled(clients);
        await app.close();
        await backend.close();
      })();
      return stopping;
    },
  };
}

function byStatus(replies: readonly Reply[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}
