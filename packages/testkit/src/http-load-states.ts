import {
  type ConfigInput,
  controlStoreOf,
  LoadState,
  type LoadStatus,
  type RuleInput,
  SHED_BODY,
} from '@distlimiter/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type HttpReply, headerFamilies, rateHeaders, send } from './http-client.js';
// Types only: http-conformance.ts calls defineLoadStateCases, so a value import would be a cycle.
import type { Running } from './http-conformance.js';
import type { HttpBackendKind } from './http-fixtures.js';
import { times } from './http-requests.js';
import type { StartExact } from './http-tiers.js';
import { until } from './redis-faults.js';

// Issue 13 at the HTTP layer, for every adapter and backend: the tiers of a `config` under the load state
// NORMAL or DEGRADED. The state is changed from outside the app, as an operator would: through a LoadState
// of the test's own on the app's backend (its control store) and prefix. The clock of the counts only
// moves when a case moves it (never, here), so every count is exact.

const FREE_A = 'load_free_key_a_111';
const FREE_B = 'load_free_key_b_222';
const PRO = 'load_pro_key_333';
const ENTERPRISE = 'load_enterprise_key_444';
/** Only the switches use it: its Limit tells which state the app is in, without touching a case's keys. */
const PROBE = 'load_probe_key_555';
const PROBE_RATE = 100_000;
const PROBE_BURST = 200_000;

/** Bound of the wait for the app to act on a switch (the issue: every instance within 2 s). */
const WAIT_MS = 5_000;

/**
 * The tiers: anonymous (no key) 5/minute by IP; free 10/minute in a bucket of 20, 2/minute while
 * DEGRADED; pro 100/minute in a bucket of 150; enterprise 1000/minute and 100000/day. Plus the probe's tier.
 */
function loadDoc(overrides: { shedAnonymous?: boolean; rules?: RuleInput[] } = {}): ConfigInput {
  return {
    version: 1,
    defaultTier: 'anonymous',
    tiers: {
      anonymous: { rate: '5/minute', ...(overrides.shedAnonymous ? { shed: true } : {}) },
      free: { rate: '10/minute', burst: 20, degraded: '2/minute' },
      pro: { rate: '100/minute', burst: 150 },
      enterprise: { rate: ['1000/minute', '100000/day'] },
      probe: { rate: `${PROBE_RATE}/minute`, burst: PROBE_BURST },
    },
    keys: {
      [FREE_A]: 'free',
      [FREE_B]: 'free',
      [PRO]: 'pro',
      [ENTERPRISE]: 'enterprise',
      [PROBE]: 'probe',
    },
    rules: overrides.rules ?? [],
  };
}

/** One request: GET /hello without a key unless told otherwise. */
interface Call {
  path?: string;
  method?: string;
  /** Sent in x-api-key. */
  key?: string;
}

function call(app: Running, c: Call = {}): Promise<HttpReply> {
  const headers: Record<string, string> = c.key === undefined ? {} : { 'x-api-key': c.key };
  return send(app.url, c.path ?? '/hello', { method: c.method, headers });
}

/** `n` requests like `c`, one after another so the counts are exact. */
async function calls(app: Running, n: number, c: Call = {}): Promise<HttpReply[]> {
  const replies: HttpReply[] = [];
  for (let i = 0; i < n; i++) replies.push(await call(app, c));
  return replies;
}

const codes = (replies: HttpReply[]): number[] => replies.map((r) => r.status);
const limits = (replies: HttpReply[]) => replies.map((r) => rateHeaders(r).limit);
const remainings = (replies: HttpReply[]) => replies.map((r) => rateHeaders(r).remaining);

/** An operator outside the app: sets and clears the load state of the app's backend and prefix. */
interface Operator {
  /** Sets `status` fleet-wide, then waits (bounded) until the app answers in it. */
  set(status: LoadStatus): Promise<void>;
  /** Clears the setting, then waits (bounded) until the app answers in NORMAL again. */
  clear(): Promise<void>;
}

function operatorOf(app: Running): Operator {
  const { backend, prefix } = app.fixture;
  // The app's limiter keeps its state in this same store (one per backend object): on Redis the app
  // hears of a change by pub/sub or its next poll, in memory at once.
  const load = new LoadState({ store: controlStoreOf(backend), prefix });
  onTestFinished(() => load.close());
  return {
    async set(status) {
      await load.set(status, { by: 'conformance', reason: 'load-state case' });
      await followed(app, status);
    },
    async clear() {
      await load.clear('conformance');
      await followed(app, 'NORMAL');
    },
  };
}

// Waits until the probe key's Limit is the one of `status`: its burst in NORMAL, its base rate in DEGRADED.
// A bound, not a timed assertion: the figure of the delay is the two-process test's.
async function followed(app: Running, status: LoadStatus): Promise<void> {
  const want = status === 'NORMAL' ? PROBE_BURST : PROBE_RATE;
  let seen: number | undefined;
  const arrived = await until(async () => {
    seen = rateHeaders(await call(app, { key: PROBE })).limit;
    return seen === want;
  }, WAIT_MS);
  expect(arrived, `the app still answered Limit ${seen}, not ${want}, ${WAIT_MS} ms after ${status}`).toBe(
    true,
  );
}

/**
 * Describes the load-state cases for one backend kind; http-conformance.ts calls it inside each backend's
 * describe, so its afterEach closes the apps and backends `start` creates.
 */
export function defineLoadStateCases(_kind: HttpBackendKind, start: StartExact): void {
  describe('load states NORMAL and DEGRADED (issue 13)', () => {
    async function startLoad(config: ConfigInput = loadDoc()) {
      const app = await start({ config }, { rate: '3/minute' });
      return { app, operator: operatorOf(app) };
    }

    it('NORMAL: a fresh free key may make its burst of 20 at once (Limit 20), then 429', async () => {
      const { app } = await startLoad();
      const replies = await calls(app, 21, { key: FREE_A });
      expect(codes(replies)).toEqual([...times(20, 200), 429]);
      expect(replies[0]!.text).toBe('hello');
      expect(limits(replies)).toEqual(Array(21).fill(20));
      expect(remainings(replies)).toEqual([...Array.from({ length: 20 }, (_, i) => 19 - i), 0]);
      // The bucket of 20 refills at the base rate: 10 a minute is one every 6 s.
      expect(replies[20]!.headers['retry-after']).toBe('6');
    });

    it('DEGRADED: free gets its degraded 2 (Limit 2), pro and enterprise their base rate, never less', async () => {
      const { app, operator } = await startLoad();
      // In NORMAL pro's Limit is its burst; enterprise has none.
      expect(rateHeaders(await call(app, { key: PRO }))).toMatchObject({ limit: 150, remaining: 149 });
      expect(rateHeaders(await call(app, { key: ENTERPRISE }))).toMatchObject({
        limit: 1000,
        remaining: 999,
      });
      await operator.set('DEGRADED');
      const free = await calls(app, 3, { key: FREE_B });
      expect(codes(free)).toEqual([200, 200, 429]);
      expect(limits(free)).toEqual([2, 2, 2]);
      expect(remainings(free)).toEqual([1, 0, 0]);
      expect(JSON.parse(free[2]!.text)).toMatchObject({ error: 'Too Many Requests' });
      // Pro keeps 100 a minute (its count of 1 carried), well beyond the free tier's 2.
      const pro = await calls(app, 3, { key: PRO });
      expect(codes(pro)).toEqual([200, 200, 200]);
      expect(limits(pro)).toEqual([100, 100, 100]);
      expect(remainings(pro)).toEqual([98, 97, 96]);
      const enterprise = await call(app, { key: ENTERPRISE });
      expect(enterprise.status).toBe(200);
      expect(rateHeaders(enterprise)).toMatchObject({ limit: 1000, remaining: 998 });
    });

    it('a switch acts on existing counts: no fresh 2 on entering DEGRADED, no fresh 20 on leaving it', async () => {
      const { app, operator } = await startLoad();
      expect(remainings(await calls(app, 5, { key: FREE_A }))).toEqual([19, 18, 17, 16, 15]);
      expect(rateHeaders(await call(app, { key: FREE_B })).remaining).toBe(19);
      await operator.set('DEGRADED');
      // FREE_A used 5, more than the 2 DEGRADED gives: refused at once.
      const spent = await call(app, { key: FREE_A });
      expect(spent.status).toBe(429);
      expect(rateHeaders(spent)).toMatchObject({ limit: 2, remaining: 0 });
      // FREE_B used 1 of its 2: one more, not two.
      const rest = await calls(app, 2, { key: FREE_B });
      expect(codes(rest)).toEqual([200, 429]);
      expect(remainings(rest)).toEqual([0, 0]);
      await operator.clear();
      // Back in NORMAL each key has 20 less what it used (the refusals spent nothing).
      const a = await call(app, { key: FREE_A });
      expect(a.status).toBe(200);
      expect(rateHeaders(a)).toMatchObject({ limit: 20, remaining: 14 });
      const b = await call(app, { key: FREE_B });
      expect(b.status).toBe(200);
      expect(rateHeaders(b)).toMatchObject({ limit: 20, remaining: 17 });
    });

    it('a shed tier is answered 503 while DEGRADED (JSON, Retry-After 5-15 s), not 429; paid tiers are served', async () => {
      const { app, operator } = await startLoad(loadDoc({ shedAnonymous: true }));
      expect(rateHeaders(await call(app)).remaining).toBe(4);
      await operator.set('DEGRADED');
      // More requests than anonymous's 5 a minute: every one shed, none a quota's refusal.
      const shed = await calls(app, 6);
      expect(codes(shed)).toEqual(times(6, 503));
      for (const reply of shed) {
        expect(reply.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(reply.text)).toEqual(SHED_BODY);
        expect(reply.headers['retry-after']).toMatch(/^\d+$/);
        const seconds = Number(reply.headers['retry-after']);
        expect(seconds).toBeGreaterThanOrEqual(5);
        expect(seconds).toBeLessThanOrEqual(15);
      }
      const posted = await call(app, { method: 'POST' });
      expect(posted.status).toBe(503);
      expect(posted.text).not.toBe('posted');
      const pro = await call(app, { key: PRO });
      expect(pro.status).toBe(200);
      expect(pro.text).toBe('hello');
      expect(rateHeaders(pro).limit).toBe(100);
      // A tier that is not shed keeps its degraded limit.
      expect(rateHeaders(await call(app, { key: FREE_A }))).toMatchObject({ limit: 2, remaining: 1 });
      await operator.clear();
      // Served again, and the shed requests spent nothing of the count.
      const back = await call(app);
      expect(back.status).toBe(200);
      expect(headerFamilies(back).legacy).toBe(true);
      expect(rateHeaders(back)).toMatchObject({ limit: 5, remaining: 3 });
    });

    it('rules keep their limits in DEGRADED unless they give a degraded rate of their own', async () => {
      const rules: RuleInput[] = [
        { id: 'kept', match: { methods: ['POST'], path: '/hello' }, rate: '3/minute' },
        { id: 'cut', match: { methods: ['GET'], path: '/health' }, rate: '3/minute', degraded: '1/minute' },
      ];
      const { app, operator } = await startLoad(loadDoc({ rules }));
      await operator.set('DEGRADED');
      const posts = await calls(app, 4, { key: PRO, method: 'POST' });
      expect(codes(posts)).toEqual([200, 200, 200, 429]);
      expect(posts[0]!.text).toBe('posted');
      const cut = await calls(app, 2, { key: PRO, path: '/health' });
      expect(codes(cut)).toEqual([200, 429]);
      expect(cut[0]!.text).toBe('ok');
      // Pro's own limit had room throughout: the rules refused, and only the cut one was cut.
      expect(rateHeaders(await call(app, { key: PRO })).limit).toBe(100);
      await operator.clear();
      // In NORMAL the cut rule gives its 3 again, less the 1 used.
      expect(codes(await calls(app, 3, { key: PRO, path: '/health' }))).toEqual([200, 200, 429]);
    });
  });
}
