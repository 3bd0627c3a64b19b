import { describe, expect, it } from 'vitest';
import type { FaultyRedis, LoadRun } from '../../../testkit/src/index.js';
import type { RedisBackendOptions } from '../../src/index.js';
import { expectNoRejections, runUnderFault, useFaultyRedis } from './scenario.js';
import { CLIENT_KINDS, type ClientKind, expectCounts } from './support.js';

// What CLIENT PAUSE and DEBUG SLEEP share: the server holds every command sent while it is frozen and runs
// them when it thaws. Calls must be answered by their deadline without Redis, and nothing they asked for
// may be charged when it thaws. Ordering, not timing: which calls were asked before, during and after.

/** The freeze scenarios' deadline: well inside the freeze, so every call of it is answered without Redis. */
const FREEZE_TIMEOUT_MS = 300;

/** A policy on a backend configured one way. */
interface FreezeVariant {
  readonly mode: 'allow' | 'local';
  readonly name: string;
  readonly options: Omit<RedisBackendOptions, 'client'>;
}

/**
 * The two policies split over the breaker's two settings: `behindBreaker` with a breaker open for 500 ms,
 * the other with none. CLIENT PAUSE puts 'allow' behind the breaker and DEBUG SLEEP 'local', so the two
 * cover all four. Without a breaker every call of the freeze reaches the server's queue, so a late charge
 * would show by the hundred.
 */
function freezeVariants(behindBreaker: 'allow' | 'local'): FreezeVariant[] {
  return [
    { mode: behindBreaker, name: 'a breaker open for 500 ms', options: { breaker: { openMs: 500 } } },
    { mode: behindBreaker === 'allow' ? 'local' : 'allow', name: 'no breaker', options: { breaker: false } },
  ];
}

/** A freeze as the test saw it. */
export interface Freeze {
  /** performance.now() from which every command sent waits for the thaw. */
  readonly frozenAt: number;
  /** Only a call asked before this (performance.now()) may have run before the freeze took hold. */
  readonly sentBefore: number;
  /** Resolves to performance.now() from which commands run again. */
  readonly thawed: Promise<number>;
  /** How long a call asked during the freeze may take to be answered without Redis (within the freeze). */
  readonly answerBoundMs: number;
}

/** A freeze scenario: how to cause it, and how its tests and figures are named. */
export interface FreezeFault {
  /** The describe block's title, e.g. "CLIENT PAUSE 1500 ALL under load" (then timeoutMs, client kind). */
  readonly title: string;
  /** What each test shows, e.g. "answered without Redis during the pause, nothing charged when it lifts". */
  readonly shows: string;
  /** The figure's name, e.g. "client-pause". */
  readonly figure: string;
  /** The freeze in words, e.g. "the pause". */
  readonly what: string;
  /** Which policy runs behind the breaker (see freezeVariants). */
  readonly behindBreaker: 'allow' | 'local';
  freeze(faulty: FaultyRedis): Promise<Freeze>;
}

/**
 * Describes `fault` on a redis-server of the file's own, for each client kind and each of its variants:
 * a call asked during the freeze is answered by the policy before the thaw, a call asked after it by
 * Redis; no rejection, the breaker closed, and an over-count no larger than the calls asked before the
 * freeze took hold and answered without Redis (only they may have run before their answer).
 */
export function describeFreeze(fault: FreezeFault): void {
  const faulty = useFaultyRedis({ persist: false });
  describe.each(CLIENT_KINDS)(`${fault.title}, timeoutMs ${FREEZE_TIMEOUT_MS} (%s)`, (kind) => {
    it.each(freezeVariants(fault.behindBreaker))(`onBackendError $mode, $name: ${fault.shows}`, (variant) =>
      expectCalmThroughFreeze(faulty(), kind, variant, fault),
    );
  });
}

async function expectCalmThroughFreeze(
  faulty: FaultyRedis,
  kind: ClientKind,
  { mode, name, options }: FreezeVariant,
  fault: FreezeFault,
): Promise<void> {
  const outcome = await runUnderFault(faulty, {
    name: `${fault.figure} ${kind} ${mode} ${name}`,
    kind,
    onBackendError: mode,
    backendOptions: { timeoutMs: FREEZE_TIMEOUT_MS, ...options },
    async inject({ faulty, load }) {
      const freeze = await fault.freeze(faulty);
      return { ...freeze, backOnRedisMs: await answeredThroughFreeze(load, mode, freeze, fault.what) };
    },
    figures: ({ sentBefore, backOnRedisMs }, load) => ({
      backOnRedisMs,
      answeredWithoutRedisSentBeforeTheFreeze: load.count(
        (a) => a.source !== 'redis' && a.startedAt < sentBefore,
      ),
    }),
  });
  expectNoRejections(outcome.totals);
  expect(outcome.health.state).toBe('closed');
  expectCounts(outcome.check, outcome.health, {
    count: outcome.figures.answeredWithoutRedisSentBeforeTheFreeze,
    what: `calls sent before ${fault.what} and answered without Redis`,
  });
}

// Asserts the ordering; resolves to how long after the thaw Redis answered a call asked after it (a figure).
async function answeredThroughFreeze(
  load: LoadRun,
  mode: string,
  freeze: Freeze,
  what: string,
): Promise<number> {
  const during = await load.waitFor(
    (a) => a.source !== 'redis' && a.startedAt >= freeze.frozenAt,
    freeze.answerBoundMs,
  );
  const thawedAt = await freeze.thawed;
  expect(during, `a call asked during ${what} was answered before ${what} ended`).toBeDefined();
  expect(during!.source).toBe(mode);
  const after = await load.waitFor((a) => a.source === 'redis' && a.startedAt >= thawedAt, 15_000);
  expect(after, `Redis decides again after ${what}`).toBeDefined();
  return Math.round(after!.answeredAt - thawedAt);
}
