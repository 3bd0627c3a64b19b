// The admin API on a fleet: two app processes (Express and Fastify) on one Redis, and on one Redis Cluster.
// What one is told through its admin API, the other does; what one counts, the other reports. Once per
// kind of Redis, not per adapter: the sharing is core's, the admin suite covers each adapter's mount.
import { describe, expect, it } from 'vitest';
import { ADMIN_FREE_KEY, ADMIN_PRO_KEY, ADMIN_UNLISTED_KEY } from '../src/http-admin-client.js';
import { rateHeaders, send } from '../src/http-client.js';
import { reportFigure, until } from '../src/redis-faults.js';
import { type FleetApp, type FleetKind, useAdminFleet } from './support/admin-fleet.js';
import { since } from './support/app-process.js';

/** The second client address: the guesser of API keys. */
const GUESSER = '127.0.0.2';
/** Bounds of every wait (the issue: a change applies on every instance within 1 s). */
const WAIT_MS = 5_000;
/** Express and Fastify, each with the admin suite's configuration. */
const FLEET = {
  prefix: 'adm2',
  frameworks: ['express', 'fastify'],
  config: 'admin',
  waitMs: WAIT_MS,
} as const;

describe.each<FleetKind>(['redis', 'cluster'])('the admin API on two processes on one %s', (kind) => {
  let a: FleetApp;
  let b: FleetApp;
  useAdminFleet({ kind, ...FLEET }, (fleet) => ({ a, b } = fleet));

  it('a rule posted on one applies on the other', async () => {
    const rule = {
      id: 'fleet-cap',
      match: { methods: ['GET'], path: '/hello' },
      rate: '2/minute',
      keyBy: 'ip',
    };
    const started = performance.now();
    const posted = await a.admin.post('/rules', rule);
    expect(posted.status).toBe(201);
    const postedMs = since(started);
    // B's admin API shows what B has in force (reading it counts nothing on the app).
    const arrived = await until(
      async () => (await b.admin.get('/rules')).body?.version === posted.body.version,
      WAIT_MS,
      5,
    );
    const appliedMs = since(started);
    expect(arrived).toBe(true);
    // One count across the two: one request on each, and the third is refused by either.
    const first = await send(a.url, '/hello');
    const second = await send(b.url, '/hello');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([rateHeaders(first), rateHeaders(second)]).toMatchObject([
      { limit: 2, remaining: 1 },
      { limit: 2, remaining: 0 },
    ]);
    expect((await send(b.url, '/hello')).status).toBe(429);
    expect((await send(a.url, '/hello')).status).toBe(429);
    // Lifted on B, gone on A.
    const lifted = performance.now();
    const removed = await b.admin.delete('/rules/fleet-cap');
    expect(removed.status).toBe(200);
    expect(
      await until(
        async () => (await a.admin.get('/rules')).body?.version === removed.body.version,
        WAIT_MS,
        5,
      ),
    ).toBe(true);
    const liftedMs = since(lifted);
    expect(rateHeaders(await send(a.url, '/hello')).limit).toBe(20);
    reportFigure(`admin fleet (${kind}): a rule posted on A in force on B`, {
      postMs: postedMs,
      inForceOnBMs: appliedMs,
      deleteOnBGoneOnAMs: liftedMs,
    });
  });

  it('a block earned on one (10 invalid keys) holds on the other', async () => {
    const replies = [];
    for (let i = 0; i < 10; i++) {
      replies.push(
        await send(a.url, '/hello', {
          localAddress: GUESSER,
          headers: { 'x-api-key': `${ADMIN_UNLISTED_KEY}${i}` },
        }),
      );
    }
    const earned = performance.now();
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(401));
    // Invalid keys are counted in the background: A blocks the address once the 10th is counted, B once
    // the block has reached it. Each probe without a key is an ordinary anonymous request (20 a minute), so
    // each is asked every 100 ms.
    const blocked = (app: FleetApp) => async () =>
      (await send(app.url, '/hello', { localAddress: GUESSER })).status === 403;
    expect(await until(blocked(a), WAIT_MS, 100)).toBe(true);
    const heldOnAMs = since(earned);
    let onB = await send(b.url, '/hello', { localAddress: GUESSER });
    const held = await until(
      async () => {
        onB = await send(b.url, '/hello', { localAddress: GUESSER });
        return onB.status === 403;
      },
      WAIT_MS,
      100,
    );
    const heldMs = since(earned);
    expect(held).toBe(true);
    expect(Number(onB.headers['retry-after'])).toBeGreaterThan(60);
    // Both list it, and the operator's own address is untouched.
    for (const app of [a, b]) {
      const blocks = (await app.admin.get('/blocks')).body.blocks;
      expect(blocks).toEqual([expect.objectContaining({ ip: GUESSER })]);
    }
    expect((await send(b.url, '/hello', { headers: { 'x-api-key': ADMIN_FREE_KEY } })).status).toBe(200);
    // Lifted through B, A answers the address again.
    const lifting = performance.now();
    expect((await b.admin.delete(`/blocks/${GUESSER}`)).status).toBe(200);
    const open = await until(
      async () => (await send(a.url, '/hello', { localAddress: GUESSER })).status === 200,
      WAIT_MS,
      100,
    );
    const liftedMs = since(lifting);
    expect(open).toBe(true);
    reportFigure(`admin fleet (${kind}): a block earned on A held on B`, {
      heldOnAMs,
      heldOnBMs: heldMs,
      liftedOnBOpenOnAMs: liftedMs,
    });
  });

  it('stats add up across both', async () => {
    type Hour = { tiers: Record<string, { allowed: number; limited: number }> };
    // The tier "pro" is this case's alone: no other case sends its key, so its counts start at nothing.
    const pro = async (app: FleetApp) =>
      ((await app.admin.get('/stats')).body.windows['60m'] as Hour).tiers.pro ?? { allowed: 0, limited: 0 };
    const key = { headers: { 'x-api-key': ADMIN_PRO_KEY } };
    for (let i = 0; i < 3; i++) expect((await send(a.url, '/hello', key)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await send(b.url, '/hello', key)).status).toBe(200);
    const counted = performance.now();
    const both = await until(
      async () => (await pro(a)).allowed === 7 && (await pro(b)).allowed === 7,
      WAIT_MS,
      20,
    );
    const sharedMs = since(counted);
    expect(both).toBe(true);
    expect(await pro(a)).toMatchObject({ allowed: 7, limited: 0 });
    reportFigure(`admin fleet (${kind}): stats of both read on each`, { addedUpMs: sharedMs });
  });
});
