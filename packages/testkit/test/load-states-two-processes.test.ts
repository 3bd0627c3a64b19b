// Load states on a fleet (issue 13): two app processes (Express and Koa) on one Redis, and on one Redis
// Cluster. What an operator sets through one's admin API (POST /admin/health) governs the other, within
// the 2 s; cleared through the other, both are NORMAL again; a setting with an expiry lapses on
// both. The delays are figures, measured over several switches; the test only bounds them.
import { type ControlStore, controlStoreOf, LoadState, RedisBackend } from '@distlimiter/core';
import { describe, expect, it } from 'vitest';
import { type HttpReply, rateHeaders, send } from '../src/http-client.js';
import { reportFigure, until } from '../src/redis-faults.js';
import { type AdminFleet, type FleetApp, type FleetKind, useAdminFleet } from './support/admin-fleet.js';
import { since } from './support/app-process.js';
import { LOAD_FREE_KEY, LOAD_PRO_KEY, LOAD_PROBE_KEY, PROBE_LIMIT } from './support/load-states-config.js';

/** Bound of every wait for a switch (the issue: every instance acts within 2 s). */
const WAIT_MS = 5_000;
/** Switches measured: each a DEGRADED set on A and then cleared on B. */
const ROUNDS = 5;
/** Express and Koa, each with the load-state configuration. */
const FLEET = {
  prefix: 'load2',
  frameworks: ['express', 'koa'],
  config: 'load-states',
  waitMs: WAIT_MS,
} as const;

type Status = keyof typeof PROBE_LIMIT;

/** Smallest, median and largest of `values`. */
function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) };
}

const keyed = (key: string) => ({ headers: { 'x-api-key': key } });

/**
 * Waits (every 5 ms, up to WAIT_MS) until `app` answers in `status`: the probe key's Limit is its burst in
 * NORMAL, its base rate in DEGRADED. The app's own answers, not its view: that is what governs a request.
 */
async function answersIn(app: FleetApp, status: Status): Promise<boolean> {
  return until(
    async () =>
      rateHeaders(await send(app.url, '/hello', keyed(LOAD_PROBE_KEY))).limit === PROBE_LIMIT[status],
    WAIT_MS,
    5,
  );
}

/** `store` with its announcements dropped: what the apps see when every pub/sub message is lost. */
function withoutAnnouncements(store: ControlStore): ControlStore {
  return new Proxy(store, {
    get(target, name) {
      if (name === 'publish') return async () => undefined;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each<FleetKind>(['redis', 'cluster'])('load states on two processes on one %s', (kind) => {
  let fleet: AdminFleet;
  let a: FleetApp;
  let b: FleetApp;
  useAdminFleet({ kind, ...FLEET }, (started) => {
    fleet = started;
    ({ a, b } = started);
  });

  it('DEGRADED set on A through its admin API governs B; cleared through B, A is NORMAL again', async () => {
    expect(await answersIn(a, 'NORMAL')).toBe(true);
    expect(await answersIn(b, 'NORMAL')).toBe(true);
    const set: number[] = [];
    const onB: number[] = [];
    const clear: number[] = [];
    const onA: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const posted = await a.admin.post('/health', { status: 'DEGRADED', reason: `round ${round}` });
      set.push(since(started));
      expect(posted.status).toBe(200);
      expect(posted.body.load).toMatchObject({ status: 'DEGRADED', source: 'operator', by: 'ops' });
      expect(await answersIn(b, 'DEGRADED'), `B not DEGRADED ${WAIT_MS} ms after A was told`).toBe(true);
      onB.push(since(started));
      if (round === 0) await degradedOnB();

      const clearing = performance.now();
      const cleared = await b.admin.delete('/health');
      clear.push(since(clearing));
      expect(cleared.status).toBe(200);
      expect(cleared.body.load).toMatchObject({ status: 'NORMAL', source: 'default' });
      expect(await answersIn(a, 'NORMAL'), `A still DEGRADED ${WAIT_MS} ms after B cleared it`).toBe(true);
      onA.push(since(clearing));
      if (round === 0) await normalOnA();
    }
    reportFigure(`load states (${kind}): DEGRADED set on A in force on B, cleared on B gone on A`, {
      rounds: ROUNDS,
      postOnAMs: spread(set),
      inForceOnBMs: spread(onB),
      deleteOnBMs: spread(clear),
      goneOnAMs: spread(onA),
    });
  });

  // B in DEGRADED, by what it answers and what it shows.
  async function degradedOnB(): Promise<void> {
    const free: HttpReply[] = [];
    for (let i = 0; i < 3; i++) free.push(await send(b.url, '/hello', keyed(LOAD_FREE_KEY)));
    expect(free.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(free.map((r) => rateHeaders(r).limit)).toEqual([2, 2, 2]);
    const shed = await send(b.url, '/hello');
    expect(shed.status).toBe(503);
    const retry = Number(shed.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(5);
    expect(retry).toBeLessThanOrEqual(15);
    const pro = await send(b.url, '/hello', keyed(LOAD_PRO_KEY));
    expect(pro.status).toBe(200);
    expect(rateHeaders(pro)).toMatchObject({ limit: 100, remaining: 99 });
    const health = await b.admin.get('/health');
    expect(health.body.load).toMatchObject({
      status: 'DEGRADED',
      source: 'operator',
      by: 'ops',
      reason: 'round 0',
      stale: false,
    });
  }

  // A back in NORMAL: the free key's burst, less what it spent on B; anonymous served again.
  async function normalOnA(): Promise<void> {
    const free = await send(a.url, '/hello', keyed(LOAD_FREE_KEY));
    expect(free.status).toBe(200);
    expect(rateHeaders(free)).toMatchObject({ limit: 20, remaining: 17 });
    expect((await send(a.url, '/hello')).status).toBe(200);
    expect((await a.admin.get('/health')).body.load).toMatchObject({ status: 'NORMAL', source: 'default' });
  }

  it('a setting set from code whose announcement is lost reaches both by their poll, and so does its clearing', async () => {
    // A third party (an operator's script) on the same Redis and prefix, through a LoadState of its own.
    const { redis, prefix } = fleet;
    const backend = new RedisBackend({ client: redis });
    const load = new LoadState({ store: withoutAnnouncements(controlStoreOf(backend)), prefix });
    try {
      const figure: Record<string, number> = {};
      for (const status of ['DEGRADED', 'NORMAL'] as const) {
        const started = performance.now();
        if (status === 'DEGRADED') await load.set(status, { reason: 'announcement lost', by: 'script' });
        else await load.clear('script');
        await Promise.all(
          [a, b].map(async (app) => {
            expect(await answersIn(app, status), `${app.name} not ${status} by its poll`).toBe(true);
            figure[`${status === 'DEGRADED' ? 'set' : 'cleared'}On${app === a ? 'A' : 'B'}Ms`] =
              since(started);
          }),
        );
      }
      reportFigure(
        `load states (${kind}): set and cleared without announcement, found by the 1 s poll`,
        figure,
      );
    } finally {
      await load.close();
      await backend.close();
    }
  });

  it('a setting with an expiry, made on A, lapses on A and on B', async () => {
    const posted = await a.admin.post('/health', { status: 'DEGRADED', expiresInSeconds: 1 });
    expect(posted.status).toBe(200);
    const expiresAt = posted.body.load.expiresAt as number;
    expect(typeof expiresAt).toBe('number');
    expect(await answersIn(b, 'DEGRADED')).toBe(true);
    expect((await b.admin.get('/health')).body.load).toMatchObject({ status: 'DEGRADED', expiresAt });
    // Both lapse it on their own clock (one machine here): each is NORMAL again soon after expiresAt.
    const lapsed: Record<string, number> = {};
    await Promise.all(
      [a, b].map(async (app) => {
        expect(await answersIn(app, 'NORMAL'), `${app.name} still DEGRADED after the expiry`).toBe(true);
        lapsed[`normalOn${app === a ? 'A' : 'B'}AfterExpiryMs`] = Math.round(Date.now() - expiresAt);
      }),
    );
    const health = (await b.admin.get('/health')).body.load;
    expect(health).toMatchObject({ status: 'NORMAL', source: 'default' });
    expect(health.operator).toBeUndefined();
    reportFigure(`load states (${kind}): a 1 s DEGRADED set on A lapsed`, lapsed);
  });
});
