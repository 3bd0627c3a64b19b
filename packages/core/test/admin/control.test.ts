import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { req } from '../http/helpers.js';
import { hashOf, PRO_KEY } from '../support/config-document.js';
import { adminOn, type BackendKind, closeAll, closeFile, READ, until } from './support.js';

// Statistics, one key's limits and its reset, IP blocks and the audit log, through the admin API over both
// backends, with the control plane the configured limiter carries.

afterEach(closeAll);
afterAll(closeFile);

const FREE = 'demo_free_key_123';
const withKey = (key: string, init: Parameters<typeof req>[0] = {}) =>
  req({ ...init, headers: { ...(init.headers ?? {}), 'x-api-key': key } });

describe.each<BackendKind>(['memory', 'redis'])('admin control endpoints on %s', (kind) => {
  test('GET /stats: allowed and limited per tier and rule over 1, 15 and 60 minutes, and the most limited', async () => {
    const t = await adminOn(kind);
    for (let i = 0; i < 7; i++) await t.limiter.handle(req({ ip: '198.51.100.60' }));
    await t.limiter.handle(withKey(FREE));
    await t.limiter.statistics!.flush();
    const r = await t.send('GET', '/stats', { token: READ });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.windows)).toEqual(['1m', '15m', '60m']);
    // The wall clock's minute may turn during the test: the current minute alone ('1m') may miss some.
    for (const w of ['15m', '60m']) {
      expect(r.body.windows[w].tiers.anonymous).toEqual({ allowed: 5, limited: 2 });
      expect(r.body.windows[w].tiers.free).toEqual({ allowed: 1, limited: 0 });
      expect(r.body.windows[w].total).toEqual({ allowed: 6, limited: 2 });
    }
    expect(r.body.windows['1m'].total.allowed).toBeLessThanOrEqual(6);
    expect(r.body.topLimited).toEqual([{ identity: 'ip:198.51.100.60', limited: 2 }]);
  });

  test('GET /stats/:key: the tier and every limit, read without spending; raw or sha256:', async () => {
    const t = await adminOn(kind);
    for (let i = 0; i < 3; i++) await t.limiter.handle(withKey(FREE));
    const read = async (key: string) => (await t.send('GET', `/stats/${key}`, { token: READ })).body;
    const first = await read(FREE);
    expect(first).toMatchObject({ key: `${hashOf(FREE).slice(0, 15)}…`, tier: 'free', listed: true });
    // The tier's limit, and the rule counting by the key (search, with its rate for free).
    expect(
      first.limits.map((l: { owner: string; kind: string; limit: number }) => [l.owner, l.kind, l.limit]),
    ).toEqual([
      ['free', 'tier', 20],
      ['search', 'rule', 20],
    ]);
    for (const l of first.limits) expect(l.used + l.remaining).toBe(l.limit);
    // Against a key that never made a request: three used on the tier, none on the rule.
    const fresh = await read('never_used_key?tier=free');
    expect(fresh.listed).toBe(false);
    expect(first.limits[0].used - fresh.limits[0].used).toBe(3);
    expect(first.limits[1].used).toBe(fresh.limits[1].used);
    // Reading spent nothing, and the hash names the same key.
    // (resetAfterMs moves with the real clock between reads; the rest stays.)
    const figures = (b: { limits: { resetAfterMs?: number }[] }) =>
      b.limits.map(({ resetAfterMs: _, ...rest }) => rest);
    const again = await read(encodeURIComponent(hashOf(FREE)));
    expect(figures(again)).toEqual(figures(first));
    expect(again.key).toBe(first.key);
    expect((await t.limiter.handle(withKey(FREE))).headers['X-RateLimit-Remaining']).toBe('16');
    const pro = await read(PRO_KEY);
    expect(pro).toMatchObject({
      tier: 'pro',
      limits: [
        { owner: 'pro', limit: 150 },
        { owner: 'search', limit: 600 },
      ],
    });
    expect(JSON.stringify([first, pro])).not.toContain(FREE);
  });

  test('GET /stats/:key: an unlisted key is 404, or read under ?tier= (a keyStore key)', async () => {
    const t = await adminOn(kind);
    const missing = await t.send('GET', '/stats/nobody_key');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/\?tier=/);
    const asPro = await t.send('GET', '/stats/nobody_key?tier=pro');
    expect(asPro.status).toBe(200);
    expect(asPro.body).toMatchObject({
      tier: 'pro',
      listed: false,
      limits: [{ owner: 'pro', limit: 150 }, { owner: 'search' }],
    });
    expect((await t.send('GET', '/stats/nobody_key?tier=gold')).status).toBe(400);
  });

  test("POST /keys/:key/reset forgets a key's counts: a refused key is allowed again", async () => {
    const t = await adminOn(kind);
    for (let i = 0; i < 20; i++) await t.limiter.handle(withKey(FREE));
    expect((await t.limiter.handle(withKey(FREE))).allowed).toBe(false);
    const r = await t.send('POST', `/keys/${FREE}/reset`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: `${hashOf(FREE).slice(0, 15)}…`, reset: true });
    const after = await t.limiter.handle(withKey(FREE));
    expect(after.allowed).toBe(true);
    expect(after.headers['X-RateLimit-Remaining']).toBe('19');
  });

  test('blocks: POST adds (an IPv6 address as its /64), GET lists, the limiter refuses, DELETE lifts', async () => {
    const t = await adminOn(kind);
    const added = await t.send('POST', '/blocks', { body: { ip: '2001:db8:5:6::77', durationSeconds: 600 } });
    expect(added.status).toBe(201);
    expect(added.body.block).toMatchObject({ ip: '2001:db8:5:6::/64', reason: 'admin', by: 'ops' });
    const listed = await t.send('GET', '/blocks', { token: READ });
    expect(listed.body.blocks).toEqual([expect.objectContaining({ ip: '2001:db8:5:6::/64' })]);
    const refused = await t.limiter.handle(req({ ip: '2001:db8:5:6:1:2:3:4' }));
    expect(refused.status).toBe(403);
    expect(refused.headers['Retry-After']).toBeDefined();
    const lifted = await t.send('DELETE', `/blocks/${encodeURIComponent('2001:db8:5:6::/64')}`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ unblocked: '2001:db8:5:6::/64' });
    expect((await t.limiter.handle(req({ ip: '2001:db8:5:6:1:2:3:4' }))).allowed).toBe(true);
    expect((await t.send('DELETE', `/blocks/${encodeURIComponent('2001:db8:5:6::/64')}`)).status).toBe(404);
    expect((await t.send('GET', '/blocks')).body.blocks).toEqual([]);
  });

  test('blocks: bad addresses and durations are 400 with the field', async () => {
    const t = await adminOn(kind);
    const cases: [unknown, string][] = [
      [{ ip: 'example.com', durationSeconds: 60 }, 'ip'],
      [{ ip: '2001:db8::/48', durationSeconds: 60 }, 'ip'],
      [{ ip: '203.0.113.1/64', durationSeconds: 60 }, 'ip'],
      [{ ip: '203.0.113.1', durationSeconds: 0 }, 'durationSeconds'],
      [{ ip: '203.0.113.1', durationSeconds: 1.5 }, 'durationSeconds'],
      [{ ip: '203.0.113.1', durationSeconds: 60, reason: 'x' }, 'reason'],
    ];
    for (const [body, path] of cases) {
      const r = await t.send('POST', '/blocks', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.problems).toEqual([expect.objectContaining({ path, at: 'body' })]);
    }
    const badPath = await t.send('DELETE', '/blocks/not-an-ip');
    expect(badPath.status).toBe(400);
    expect(badPath.body.problems[0]).toMatchObject({ path: ':ip', at: 'path' });
  });

  test('GET /audit: since as ms or ISO 8601, limit; bad values are 400', async () => {
    const t = await adminOn(kind);
    const start = Date.now();
    await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 24 } });
    await t.send('POST', '/blocks', { body: { ip: '203.0.113.70', durationSeconds: 60 } });
    await t.limiter.audit!.flush();
    const types = async (query: string) =>
      ((await t.send('GET', `/audit${query}`, { token: READ })).body.events as { type: string }[]).map(
        (e) => e.type,
      );
    expect(await until(async () => (await types(`?since=${start - 1000}`)).includes('ipBlocked'))).toBe(true);
    const all = await types(`?since=${new Date(start - 1000).toISOString()}`);
    expect(all).toEqual(expect.arrayContaining(['adminWrite', 'ipBlocked', 'configReloaded']));
    expect(await types(`?since=${start - 1000}&limit=1`)).toHaveLength(1);
    expect(await types(`?since=${Date.now() + 3_600_000}`)).toEqual([]);
    for (const query of ['?since=yesterday', '?limit=0', '?limit=5000', '?limit=x']) {
      const r = await t.send('GET', `/audit${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.problems[0].path).toMatch(/^\?(since|limit)$/);
    }
  });
});
