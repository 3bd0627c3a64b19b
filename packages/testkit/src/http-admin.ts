import { randomBytes } from 'node:crypto';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import type { AdminTokens } from '@distlimiter/core/admin';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADMIN_FREE_KEY,
  ADMIN_PRO_KEY,
  ADMIN_UNLISTED_KEY,
  AdminClient,
  adminConfig,
  adminTokens,
  sha256,
} from './http-admin-client.js';
import { type HttpReply, rateHeaders, send } from './http-client.js';
import type { ConformanceApp, ConformanceOptions } from './http-conformance.js';
import { HTTP_BACKENDS, type HttpBackendKind } from './http-fixtures.js';
// index.js is imported only for a function called at test time, so the module cycle is harmless.
import { redisUrlForTests } from './index.js';
import { until } from './redis-faults.js';

/** How the standard app mounts the admin API at /admin: the admin handler's options, less the limiter. */
export interface AdminMount {
  /** Named tokens (`full` may write, `read` may only GET). */
  tokens: AdminTokens;
  /** The admin API's own limit per client IP. */
  rate?: string;
}

/**
 * What the admin suite hands an adapter's factory: the standard conformance app (see ConformanceOptions),
 * with its app-wide limiter built from `global`, and the admin API mounted at /admin the adapter's usual
 * way over that limiter, after the framework's JSON body parsing (express.json(), Fastify's own,
 * @koa/bodyparser, Nest's), and not counted by the app-wide limit.
 */
export interface AdminConformanceOptions extends ConformanceOptions {
  admin: AdminMount;
}

/** Builds the standard app with the admin API mounted at /admin, listening on 127.0.0.1, port 0. */
export type AdminConformanceFactory = (options: AdminConformanceOptions) => Promise<ConformanceApp>;

/** A backend for one admin case, on real time (statistics, blocks and audit read the clock), and its prefix. */
export interface AdminBackendFixture {
  readonly backend: Backend;
  readonly prefix: string;
  dispose(): Promise<void>;
}

/** A fresh backend of `kind` under a fresh prefix; dispose() deletes every key under it (the overlay's too). */
export async function createAdminBackend(kind: HttpBackendKind): Promise<AdminBackendFixture> {
  const prefix = `adm-${randomBytes(6).toString('hex')}`;
  if (kind === 'memory') {
    const backend = new MemoryBackend();
    return { backend, prefix, dispose: () => backend.close() };
  }
  const client = new Redis(redisUrlForTests(), { maxRetriesPerRequest: 1 });
  const backend = new RedisBackend({ client });
  return {
    backend,
    prefix,
    async dispose() {
      // Counts live under "<prefix>:", the configuration overlay under "{<prefix>:config}".
      const keys = await client.keys(`*${prefix}*`);
      if (keys.length) await client.del(...keys);
      await backend.close();
      await client.quit();
    },
  };
}

/** The client IP the suite plays a second client from (127.0.0.1 is the first, and the operator). */
const OTHER_CLIENT = '127.0.0.2';
/** Bounds of every wait: what is shared crosses the backend in the background (flushes, mirrors). */
const WAIT_MS = 5_000;

/**
 * The admin API's suite, over one adapter, on each backend (memory, redis): every endpoint over HTTP as
 * the demos mount it, authentication, validation, If-Match, and the API's effect on the app's next
 * requests. Each adapter's conformance test file calls it beside describeHttpConformance.
 */
export function describeAdminConformance(adapter: string, factory: AdminConformanceFactory): void {
  describe(`${adapter} admin API`, () => {
    for (const kind of HTTP_BACKENDS) describe(`${kind} backend`, () => defineAdminCases(kind, factory));
  });
}

/** The standard app with the admin API at /admin, and what a case uses. */
interface AdminApp {
  url: string;
  /** The admin client with the full token. */
  admin: AdminClient;
  tokens: ReturnType<typeof adminTokens>;
  /** GET (or `method`) `path` on the app, from 127.0.0.1 or `from`, with an API key if given. */
  app(path?: string, init?: { key?: string; from?: string; method?: string }): Promise<HttpReply>;
}

function defineAdminCases(kind: HttpBackendKind, factory: AdminConformanceFactory): void {
  const cleanups: (() => Promise<void>)[] = [];
  const clients: { client: AdminClient; secrets: string[] }[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    while (cleanups.length) await cleanups.pop()!().catch((e: unknown) => errors.push(e));
    // Whatever a case asked, no reply ever carried a token or its hash.
    for (const { client, secrets } of clients.splice(0)) expect(client.leaks(secrets)).toEqual([]);
    if (errors.length) throw errors[0];
  });

  async function start(mount: Partial<AdminMount> = {}): Promise<AdminApp> {
    const fixture = await createAdminBackend(kind);
    cleanups.push(() => fixture.dispose());
    const tokens = adminTokens();
    const shared = { backend: fixture.backend, prefix: fixture.prefix };
    const running = await factory({
      // Statistics flushed often, so a case reads them back within its bounds.
      global: { ...shared, config: adminConfig(), statistics: { flushMs: 50 } },
      strict: { ...shared, rate: '3/minute' },
      admin: { tokens: tokens.option, rate: '1000/minute', ...mount },
    });
    cleanups.push(() => running.close());
    const admin = new AdminClient(running.url, tokens.full);
    clients.push({ client: admin, secrets: tokens.secrets });
    // As a load balancer would: in service once ready (on Redis, once the overlay has been read).
    const ready = await until(
      async () => (await admin.get('/readyz', { token: null })).status === 200,
      WAIT_MS,
    );
    if (!ready) throw new Error(`the ${kind} app's /admin/readyz did not answer 200 within ${WAIT_MS} ms`);
    return {
      url: running.url,
      admin,
      tokens,
      app: (path = '/hello', init = {}) =>
        send(running.url, path, {
          method: init.method,
          localAddress: init.from,
          headers: init.key === undefined ? {} : { 'x-api-key': init.key },
        }),
    };
  }

  // Every endpoint, with a body where it takes one (valid, so only authentication can refuse it).
  const ENDPOINTS: [string, string, unknown?][] = [
    ['GET', '/rules'],
    ['POST', '/rules', { id: 'x', match: { path: '/x' }, rate: '1/minute' }],
    ['DELETE', '/rules/x'],
    ['PUT', '/tiers/free', { rate: '11/minute' }],
    ['PUT', `/keys/${ADMIN_FREE_KEY}`, { tier: 'pro' }],
    ['GET', '/stats'],
    ['GET', `/stats/${ADMIN_FREE_KEY}`],
    ['POST', `/keys/${ADMIN_FREE_KEY}/reset`],
    ['GET', '/blocks'],
    ['POST', '/blocks', { ip: '198.51.100.7', durationSeconds: 60 }],
    ['DELETE', '/blocks/198.51.100.7'],
    ['GET', '/audit'],
    ['GET', '/health'],
    ['POST', '/selftest'],
  ];

  it('/livez and /readyz answer without a token; every other endpoint answers 401 without one or with a wrong one', async () => {
    const t = await start();
    const live = await t.admin.get('/livez', { token: null });
    expect([live.status, live.body]).toEqual([200, { status: 'live' }]);
    const ready = await t.admin.get('/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', version: expect.any(String) });
    for (const [method, path, body] of ENDPOINTS) {
      const missing = await t.admin.send(method, path, { token: null, body });
      expect([method, path, missing.status]).toEqual([method, path, 401]);
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer realm=/);
      expect(missing.headers['content-type']).toMatch(/^application\/json/);
      const wrong = await t.admin.send(method, path, { token: `${t.tokens.full}x`, body });
      expect([method, path, wrong.status]).toEqual([method, path, 401]);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    // The token's hash is not a token either.
    expect((await t.admin.get('/rules', { token: `sha256:${sha256(t.tokens.full)}` })).status).toBe(401);
    // Nothing was changed or blocked by all that.
    expect((await t.admin.get('/blocks')).body).toEqual({ blocks: [] });
  });

  it('a read-only token (given as sha256) may GET every read endpoint and gets 403 on every write', async () => {
    const t = await start();
    const version = (await t.admin.get('/rules')).body.version;
    for (const [method, path, body] of ENDPOINTS) {
      const reply = await t.admin.send(method, path, { token: t.tokens.read, body });
      expect([method, path, reply.status]).toEqual([method, path, method === 'GET' ? 200 : 403]);
    }
    expect((await t.admin.get('/rules')).body.version).toBe(version);
    expect((await t.admin.get('/blocks')).body).toEqual({ blocks: [] });
  });

  it('GET /rules: the configuration in force with its version as ETag; a posted rule applies to the app at once; DELETE lifts it', async () => {
    const t = await start();
    const rules = await t.admin.get('/rules');
    expect(rules.status).toBe(200);
    expect(rules.headers['content-type']).toMatch(/^application\/json/);
    expect(rules.headers.etag).toBe(`"${rules.body.version}"`);
    expect(rules.body).toMatchObject({
      defaultTier: 'anonymous',
      tiers: { anonymous: { rate: '20/minute' }, free: { rate: '10/minute' }, pro: { rate: '100/minute' } },
    });
    expect(rules.body.rules.map((r: { id: string }) => r.id)).toEqual(['login']);
    // Keys are secret: neither a raw key nor a digest is listed.
    expect(rules.text).not.toContain(ADMIN_FREE_KEY);
    expect(rules.text).not.toContain(sha256(ADMIN_PRO_KEY));

    const rule = {
      id: 'hello-cap',
      match: { methods: ['GET'], path: '/hello' },
      rate: '2/minute',
      keyBy: 'ip',
    };
    const posted = await t.admin.post('/rules', rule);
    expect(posted.status).toBe(201);
    expect(posted.body.rule).toMatchObject({ ...rule, mode: 'enforce' });
    expect(posted.headers.etag).toBe(`"${posted.body.version}"`);
    expect(posted.body.version).not.toBe(rules.body.version);
    const replies = [await t.app(), await t.app(), await t.app()];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(rateHeaders(replies[0]!)).toMatchObject({ limit: 2, remaining: 1 });

    const removed = await t.admin.delete('/rules/hello-cap');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ removed: 'hello-cap' });
    const after = await t.app();
    expect(after.status).toBe(200);
    expect(rateHeaders(after).limit).toBe(20);
    // A rule of the configuration's base is changed there, not through the API.
    expect((await t.admin.delete('/rules/login')).status).toBe(409);
    expect((await t.admin.delete('/rules/no-such-rule')).status).toBe(404);
  });

  it('a bad body answers 400 with its problems, and changes nothing', async () => {
    const t = await start();
    const version = (await t.admin.get('/rules')).body.version;
    const badRule = await t.admin.post('/rules', { id: 'broken', match: { path: '/x' }, rate: '10/minnute' });
    expect(badRule.status).toBe(400);
    expect(badRule.headers['content-type']).toMatch(/^application\/json/);
    expect(badRule.body.problems).toEqual([expect.objectContaining({ path: 'rate', at: 'body' })]);
    const noId = await t.admin.post('/rules', { match: { path: '/x' }, rate: '1/minute' });
    expect(noId.status).toBe(400);
    expect(noId.body.problems).toEqual([expect.objectContaining({ path: 'id', at: 'body' })]);
    const badTier = await t.admin.put(`/keys/${ADMIN_FREE_KEY}`, { tier: 'platinum' });
    expect(badTier.status).toBe(400);
    expect(badTier.body.problems).toEqual([expect.objectContaining({ path: 'tier', at: 'body' })]);
    const badBlock = await t.admin.post('/blocks', { ip: 'not-an-ip', durationSeconds: 60 });
    expect(badBlock.status).toBe(400);
    expect(badBlock.body.problems).toEqual([expect.objectContaining({ path: 'ip', at: 'body' })]);
    const badSince = await t.admin.get('/audit?since=yesterday');
    expect(badSince.status).toBe(400);
    expect(badSince.body.problems).toEqual([expect.objectContaining({ path: '?since', at: 'path' })]);
    // Not JSON at all: the framework's body parser or the handler refuses it, either way a 400.
    expect((await t.admin.post('/rules', '{"id": ')).status).toBe(400);
    expect((await t.admin.get('/rules')).body.version).toBe(version);
    expect((await t.admin.get('/blocks')).body).toEqual({ blocks: [] });
  });

  it('If-Match: a write at another version answers 412 with the version in force; at that version it applies', async () => {
    const t = await start();
    const version = (await t.admin.get('/rules')).body.version as string;
    const rule = { id: 'guarded', match: { path: '/guarded' }, rate: '5/minute' };
    const stale = await t.admin.post('/rules', rule, { headers: { 'if-match': '"not-the-version"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.version).toBe(version);
    expect(stale.headers.etag).toBe(`"${version}"`);
    const tier = await t.admin.put('/tiers/free', { rate: '12/minute' }, { headers: { 'if-match': '"0"' } });
    expect(tier.status).toBe(412);
    expect((await t.admin.get('/rules')).body.version).toBe(version);
    const current = await t.admin.post('/rules', rule, { headers: { 'if-match': `"${version}"` } });
    expect(current.status).toBe(201);
    // The version moved on: the same condition now fails.
    const again = await t.admin.post('/rules', rule, { headers: { 'if-match': `"${version}"` } });
    expect(again.status).toBe(412);
  });

  it("PUT /tiers/:name changes a tier's rates for the app; PUT /keys/:key moves a key to another tier", async () => {
    const t = await start();
    expect(rateHeaders(await t.app('/hello', { key: ADMIN_FREE_KEY })).limit).toBe(10);
    const tier = await t.admin.put('/tiers/free', { rate: '40/minute' });
    expect(tier.status).toBe(200);
    expect(tier.body).toMatchObject({ name: 'free', tier: { rate: '40/minute' } });
    expect(rateHeaders(await t.app('/hello', { key: ADMIN_FREE_KEY })).limit).toBe(40);

    // By the raw key, or by its sha256 (the form that keeps keys out of access logs).
    const moved = await t.admin.put(`/keys/sha256:${sha256(ADMIN_FREE_KEY)}`, { tier: 'pro' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ tier: 'pro', expiresAt: null });
    expect(moved.text).not.toContain(ADMIN_FREE_KEY);
    expect(rateHeaders(await t.app('/hello', { key: ADMIN_FREE_KEY })).limit).toBe(100);
    const stats = await t.admin.get(`/stats/${ADMIN_FREE_KEY}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ tier: 'pro', listed: true });
    expect(stats.text).not.toContain(ADMIN_FREE_KEY);
    // An unlisted key gets a tier the same way, here for a while.
    const added = await t.admin.put(`/keys/${ADMIN_UNLISTED_KEY}`, { tier: 'free', expiresInSeconds: 600 });
    expect(added.status).toBe(200);
    expect(added.body.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(rateHeaders(await t.app('/hello', { key: ADMIN_UNLISTED_KEY })).limit).toBe(40);
  });

  it("POST /keys/:key/reset forgets a key's counts", async () => {
    const t = await start();
    for (let i = 0; i < 4; i++) expect((await t.app('/hello', { key: ADMIN_FREE_KEY })).status).toBe(200);
    const before = await t.admin.get(`/stats/${ADMIN_FREE_KEY}`);
    expect(before.status).toBe(200);
    const tierBefore = before.body.limits.find((l: { kind: string }) => l.kind === 'tier');
    // Read without spending: what the four requests used, and what is left now.
    expect(tierBefore).toMatchObject({ owner: 'free', limit: 10, used: 4, remaining: 6 });
    const again = await t.admin.get(`/stats/${ADMIN_FREE_KEY}`);
    expect(again.body.limits).toEqual([expect.objectContaining({ owner: 'free', used: 4, remaining: 6 })]);
    const reset = await t.admin.post(`/keys/${ADMIN_FREE_KEY}/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ reset: true });
    expect(reset.text).not.toContain(ADMIN_FREE_KEY);
    const after = await t.admin.get(`/stats/${ADMIN_FREE_KEY}`);
    const tierAfter = after.body.limits.find((l: { kind: string }) => l.kind === 'tier');
    expect(tierAfter).toMatchObject({ limit: 10, used: 0, remaining: 10 });
    // The app counts the key afresh: the whole limit less this request.
    expect(rateHeaders(await t.app('/hello', { key: ADMIN_FREE_KEY }))).toMatchObject({
      limit: 10,
      remaining: 9,
    });
  });

  it('blocks: a blocked IP gets 403 from the app; GET /blocks lists it; DELETE /blocks/:ip lifts it', async () => {
    const t = await start();
    expect((await t.app('/hello', { from: OTHER_CLIENT })).status).toBe(200);
    const blocked = await t.admin.post('/blocks', { ip: OTHER_CLIENT, durationSeconds: 600 });
    expect(blocked.status).toBe(201);
    expect(blocked.body.block).toMatchObject({ ip: OTHER_CLIENT });
    let refused: HttpReply | undefined;
    const shut = async () => {
      refused = await t.app('/hello', { from: OTHER_CLIENT });
      return refused.status === 403;
    };
    expect(await until(shut, WAIT_MS)).toBe(true);
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(500);
    // Only that address: the operator's own requests still pass.
    expect((await t.app()).status).toBe(200);
    const list = await t.admin.get('/blocks');
    expect(list.body.blocks).toEqual([expect.objectContaining({ ip: OTHER_CLIENT, by: 'ops' })]);
    const lifted = await t.admin.delete(`/blocks/${encodeURIComponent(OTHER_CLIENT)}`);
    expect(lifted.status).toBe(200);
    expect(
      await until(async () => (await t.app('/hello', { from: OTHER_CLIENT })).status === 200, WAIT_MS),
    ).toBe(true);
    expect((await t.admin.get('/blocks')).body).toEqual({ blocks: [] });
    expect((await t.admin.delete(`/blocks/${OTHER_CLIENT}`)).status).toBe(404);
  });

  it("GET /audit shows every write under the token's name, with a key only as a hint", async () => {
    const t = await start();
    const since = Date.now() - 1000;
    await t.admin.put(`/keys/${ADMIN_FREE_KEY}`, { tier: 'pro' });
    await t.admin.post('/rules', { id: 'audited', match: { path: '/audited' }, rate: '1/minute' });
    await t.admin.post('/rules', { id: 'refused', rate: 'nope' });
    type Event = { type: string; token?: string; method?: string; path?: string; status?: number };
    let events: Event[] = [];
    const written = await until(async () => {
      const audit = await t.admin.get(`/audit?since=${since}`);
      events = (audit.body?.events ?? []).filter((e: Event) => e.type === 'adminWrite');
      return events.length >= 3;
    }, WAIT_MS);
    expect(written).toBe(true);
    expect(events.map((e) => [e.token, e.method, e.status])).toEqual([
      ['ops', 'PUT', 200],
      ['ops', 'POST', 201],
      ['ops', 'POST', 400],
    ]);
    expect(events[0]!.path).toBe(`/keys/sha256:${sha256(ADMIN_FREE_KEY).slice(0, 8)}…`);
    const all = await t.admin.get('/audit?since=0');
    expect(all.text).not.toContain(ADMIN_FREE_KEY);
    expect(all.text).not.toContain(sha256(ADMIN_FREE_KEY));
  });

  it('GET /stats counts the app’s requests per tier; GET /health reports the backend; POST /selftest makes a round trip', async () => {
    const t = await start();
    for (let i = 0; i < 3; i++) await t.app();
    for (let i = 0; i < 2; i++) await t.app('/hello', { key: ADMIN_FREE_KEY });
    type Window = { tiers: Record<string, { allowed: number; limited: number }>; total: { allowed: number } };
    let hour: Window | undefined;
    const counted = await until(async () => {
      hour = (await t.admin.get('/stats')).body?.windows?.['60m'];
      return hour?.total.allowed === 5;
    }, WAIT_MS);
    expect(counted).toBe(true);
    expect(hour!.tiers).toMatchObject({ anonymous: { allowed: 3 }, free: { allowed: 2 } });
    const health = await t.admin.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      backend: { kind },
      config: { stale: false, ready: true },
    });
    const selftest = await t.admin.post('/selftest');
    expect(selftest.status).toBe(200);
    expect(selftest.body).toMatchObject({
      ok: true,
      decision: { allowed: true },
      readBack: { allowed: false },
    });
  });

  it('is not counted by the app-wide limit, and has its own: 429 with Retry-After, the probes still open', async () => {
    const t = await start({ rate: '3/minute' });
    const replies = [await t.admin.get('/rules'), await t.admin.get('/stats'), await t.admin.get('/blocks')];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const reply of replies) expect(reply.headers).not.toHaveProperty('x-ratelimit-limit');
    const refused = await t.admin.get('/rules');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    // Refused before the token is even looked at: no one can guess tokens faster than the limit.
    expect((await t.admin.get('/rules', { token: 'guess' })).status).toBe(429);
    expect((await t.admin.get('/livez', { token: null })).status).toBe(200);
    expect((await t.admin.get('/readyz', { token: null })).status).toBe(200);
    // None of it touched the operator's own count on the app.
    expect(rateHeaders(await t.app())).toMatchObject({ limit: 20, remaining: 19 });
  });
}
