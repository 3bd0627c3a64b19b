import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { req } from '../http/helpers.js';
import { reportFigure } from '../support/testkit.js';
import { adminOn, closeAll, closeFile, until } from './support.js';

// Two instances on one Redis, as two app processes would be (two limiters, each with its own backend,
// source and admin handler, under one prefix): what one admin API changes, the other instance applies.

afterEach(closeAll);
afterAll(closeFile);

const FREE = 'demo_free_key_123';
const withKey = (key: string, init: Parameters<typeof req>[0] = {}) =>
  req({ ...init, headers: { ...(init.headers ?? {}), 'x-api-key': key } });

async function pair() {
  const prefix = `adm2${randomUUID().slice(0, 8)}`;
  return [await adminOn('redis', { prefix }), await adminOn('redis', { prefix })] as const;
}

describe('two instances on one Redis', () => {
  // The delay is reported as a figure, not asserted: a test never times anything.
  test("a rule posted on one applies on the other's limiter (the delay reported)", async () => {
    const [a, b] = await pair();
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const path = `/api/report${i}`;
      const rule = { id: `report${i}`, match: { path }, rate: '1/minute', keyBy: 'ip' };
      const ip = `198.51.100.${100 + i}`;
      // Before: the path has no rule on b, so two requests by one IP both pass on the tier (5/minute).
      expect((await b.limiter.handle(req({ ip, path }))).rules).toEqual([]);
      const posted = performance.now();
      expect((await a.send('POST', '/rules', { body: rule })).status).toBe(201);
      let at = 0;
      const applied = await until(
        () => {
          const seen = b.limiter.source!.current().rules.some((r) => r.id === rule.id);
          if (seen) at = performance.now();
          return seen;
        },
        5000,
        2,
      );
      expect(applied).toBe(true);
      delays.push(at - posted);
      // And b's limiter enforces it: the rule's one request a minute, for this IP, on b.
      const first = await b.limiter.handle(req({ ip: `${ip}9`, path }));
      const second = await b.limiter.handle(req({ ip: `${ip}9`, path }));
      expect([first.allowed, second.allowed]).toEqual([true, false]);
      expect(second.limitedBy).toBe(rule.id);
    }
    reportFigure('admin-rule-two-instances', {
      trials: delays.length,
      maxMs: Math.round(Math.max(...delays)),
      delaysMs: delays.map((d) => Math.round(d)),
    });
    // b's admin API shows what a's wrote, from the Redis overlay.
    const rules = (await b.send('GET', '/rules')).body.rules;
    expect(
      rules.filter((r: { source: string }) => r.source === 'redis').map((r: { id: string }) => r.id),
    ).toEqual(['report1', 'report2', 'report3']);
  });

  test('a key moved on one is in its new tier on the other; a rule removed on the other goes on the first', async () => {
    const [a, b] = await pair();
    await a.send('PUT', `/keys/${FREE}`, { body: { tier: 'pro' } });
    expect(await until(async () => (await b.limiter.handle(withKey(FREE))).tier === 'pro')).toBe(true);
    await a.send('POST', '/rules', { body: { id: 'extra', match: { path: '/x' }, rate: '1/s' } });
    expect(await until(() => b.limiter.source!.current().rules.some((r) => r.id === 'extra'))).toBe(true);
    expect((await b.send('DELETE', '/rules/extra')).status).toBe(200);
    expect(await until(() => !a.limiter.source!.current().rules.some((r) => r.id === 'extra'))).toBe(true);
    // If-Match with the version b just wrote, which a may not have applied yet: judged against Redis, it passes.
    const written = await b.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 24 } });
    const next = await a.send('PUT', '/tiers/free', {
      body: { rate: '10/minute', burst: 25 },
      headers: { 'if-match': `"${written.body.version}"` },
    });
    expect(next.status).toBe(200);
    // And the version before b's write no longer does, on either.
    const stale = await b.send('PUT', '/tiers/free', {
      body: { rate: '10/minute', burst: 26 },
      headers: { 'if-match': `"${written.body.version}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.version).toBe(next.body.version);
  });

  test('a block added on one holds on the other; statistics add up across both', async () => {
    const [a, b] = await pair();
    expect(
      (await a.send('POST', '/blocks', { body: { ip: '203.0.113.99', durationSeconds: 60 } })).status,
    ).toBe(201);
    expect(
      await until(async () => (await b.limiter.handle(req({ ip: '203.0.113.99' }))).status === 403),
    ).toBe(true);
    expect((await b.send('GET', '/blocks')).body.blocks).toEqual([
      expect.objectContaining({ ip: '203.0.113.99' }),
    ]);
    for (let i = 0; i < 3; i++) await a.limiter.handle(withKey(FREE));
    for (let i = 0; i < 4; i++) await b.limiter.handle(withKey(FREE));
    await Promise.all([a.limiter.statistics!.flush(), b.limiter.statistics!.flush()]);
    for (const t of [a, b]) {
      const stats = (await t.send('GET', '/stats')).body;
      // 15 minutes rather than the current one alone, which the wall clock's minute may turn during the test.
      expect(stats.windows['15m'].tiers.free).toEqual({ allowed: 7, limited: 0 });
    }
  });
});
