import type { FaultContender } from './contenders.js';

/** One decision: when it started and settled (`performance.now()` ms) and how it ended. */
export interface Sample {
  start: number;
  end: number;
  redis: boolean;
  error: boolean;
  allowed: boolean;
}

/** An open-loop load: decisions start at a fixed rate whatever the earlier ones are doing. */
export interface Load {
  samples: Sample[];
  /** Decisions started and not settled yet. */
  pending(): number;
  /** Stops starting decisions; resolves when every started one settled or `graceMs` passed. */
  stop(graceMs: number): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Starts `perSecond` decisions a second on `contender`, cycling through `keys` keys, at a fixed rate: every
 * timer tick starts as many as the rate owes since the start. An app's requests keep arriving while Redis
 * is down, so a slow answer never holds back the next request (a fixed number in flight would hide a hang
 * behind fewer decisions).
 */
export function startLoad(contender: FaultContender, perSecond: number, keys: number): Load {
  const samples: Sample[] = [];
  let running = true;
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const one = (key: string) => {
    const start = performance.now();
    inFlight++;
    void contender.decide(key).then((o) => {
      samples.push({ start, end: performance.now(), redis: o.redis, error: o.error, allowed: o.allowed });
      if (--inFlight === 0) settled?.();
    });
  };
  const loop = (async () => {
    const t0 = performance.now();
    let started = 0;
    while (running) {
      const due = Math.floor(((performance.now() - t0) * perSecond) / 1000);
      while (started < due) one(`k${started++ % keys}`);
      await sleep(1);
    }
  })();
  return {
    samples,
    pending: () => inFlight,
    async stop(graceMs) {
      running = false;
      await loop;
      if (inFlight === 0) return;
      await Promise.race([new Promise<void>((r) => (settled = r)), sleep(graceMs)]);
    },
  };
}

/** The nearest-rank percentile of sorted values (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
