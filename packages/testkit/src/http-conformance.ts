import { type HttpLimitOptions, header } from '@distlimiter/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpReply, headerFamilies, rateHeaders, send, sendMany } from './http-client.js';
import {
  createHttpBackend,
  createOutage,
  HTTP_BACKENDS,
  type HttpBackendFixture,
  type HttpBackendKind,
} from './http-fixtures.js';
import { describeHttpFaults } from './http-faults.js';
import { defineLoadStateCases } from './http-load-states.js';
import { defineTierCases } from './http-tiers.js';

/** A running app under test. */
export interface ConformanceApp {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** Stops the server and everything the factory created. */
  close(): Promise<void>;
}

/**
 * Options the suite hands to an adapter's factory. The standard app has GET /hello, POST /hello and
 * GET /health (answering "hello", "posted" and "ok"), limited by `global` installed app-wide the adapter's
 * usual way (so it also covers unknown paths, which answer 404); and route-level limits built from
 * `strict`, each installed the adapter's usual way: one on GET /strict, another (same options, a separate
 * middleware, config or decorator) on GET /other, and one single instance mounted on both GET /a and
 * GET /b (answering "strict", "other", "a" and "b").
 */
export interface ConformanceOptions {
  /** The app-wide limiter, installed the adapter's usual way. */
  global: HttpLimitOptions;
  /** The route-level limits' options. */
  strict: HttpLimitOptions;
}

/** Builds the standard app on one adapter and starts it listening on 127.0.0.1, port 0. */
export type ConformanceFactory = (options: ConformanceOptions) => Promise<ConformanceApp>;

/**
 * Runs every conformance case against the adapter, once per backend (memory, redis), then the
 * kill-and-restart case on a redis-server of its own (http-faults.ts).
 */
export function describeHttpConformance(adapter: string, factory: ConformanceFactory): void {
  describe(`${adapter} HTTP conformance`, () => {
    for (const kind of HTTP_BACKENDS) {
      describe(`${kind} backend`, () => defineCases(kind, factory));
    }
    describeHttpFaults(adapter, factory);
  });
}

const LIMIT = 5;
/** A second loopback address: plays a second client (the first is 127.0.0.1) without trusting any proxy header. */
export const OTHER_CLIENT = '127.0.0.2';

/** The standard app running on a fresh backend, with helpers to send it requests. */
export interface Running {
  url: string;
  fixture: HttpBackendFixture;
  get(path?: string, headers?: Record<string, string>): Promise<HttpReply>;
  post(path?: string): Promise<HttpReply>;
  /** Sends GET requests to `path` until the limit is spent, asserting each is allowed. */
  exhaust(count: number, path?: string, headers?: Record<string, string>): Promise<void>;
}

/** A reply's body read as JSON. */
export const json = (reply: HttpReply): unknown => JSON.parse(reply.text);

function defineCases(kind: HttpBackendKind, factory: ConformanceFactory): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    // Every cleanup runs even if one fails, newest first (the app closes before its backend goes).
    const errors: unknown[] = [];
    while (cleanups.length) await cleanups.pop()!().catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  });

  async function launch(global: HttpLimitOptions, strict: HttpLimitOptions): Promise<string> {
    const app = await factory({ global, strict });
    cleanups.push(() => app.close());
    return app.url;
  }

  /** Starts the standard app with `global` and `strict` on a fresh backend of this run's kind. */
  function start(global: HttpLimitOptions = {}, strict: HttpLimitOptions = {}): Promise<Running> {
    return startExact({ rate: `${LIMIT}/minute`, ...global }, { rate: '3/minute', ...strict });
  }

  /** As start, without the default rates: only the fresh backend and prefix are added to the options. */
  async function startExact(global: HttpLimitOptions, strict: HttpLimitOptions): Promise<Running> {
    const fixture = await createHttpBackend(kind);
    cleanups.push(() => fixture.dispose());
    const shared = { backend: fixture.backend, prefix: fixture.prefix };
    const url = await launch({ ...shared, ...global }, { ...shared, ...strict });
    const get = (path = '/hello', headers?: Record<string, string>) => send(url, path, { headers });
    return {
      url,
      fixture,
      get,
      post: (path = '/hello') => send(url, path, { method: 'POST' }),
      async exhaust(count, path = '/hello', headers) {
        for (const reply of await sendMany(url, path, count, { headers })) expect(reply.status).toBe(200);
      },
    };
  }

  /** Starts the standard app on a backend that is down or hung. */
  async function startBroken(
    mode: 'down' | 'hung',
    options: Pick<HttpLimitOptions, 'onBackendError' | 'timeoutMs'>,
  ): Promise<string> {
    const outage = await createOutage(kind, mode, options.timeoutMs);
    cleanups.push(() => outage.dispose());
    return launch(
      { rate: `${LIMIT}/minute`, backend: outage.backend, ...options },
      { rate: '3/minute', backend: outage.backend, ...options },
    );
  }

  it('allows exactly the limit, then answers 429', async () => {
    const app = await start();
    const replies = await sendMany(app.url, '/hello', LIMIT + 2);
    expect(replies.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    expect(replies.slice(0, LIMIT).map((r) => r.text)).toEqual(Array(LIMIT).fill('hello'));
    // The count must live in the backend the suite handed over, not in one the adapter made up.
    expect(await app.fixture.storedKeys()).toBeGreaterThan(0);
  });

  it('sends X-RateLimit-Limit, -Remaining and -Reset by default, and no IETF fields', async () => {
    const app = await start();
    const reply = await app.get();
    expect(headerFamilies(reply)).toEqual({ legacy: true, ietf: false });
    const h = rateHeaders(reply);
    expect(h.limit).toBe(LIMIT);
    expect(h.remaining).toBe(LIMIT - 1);
    const reset = Number(reply.headers['x-ratelimit-reset']);
    expect(Number.isInteger(reset)).toBe(true);
    expect(reset).toBeGreaterThan(Date.now() / 1000);
  });

  it("headers: 'both' sends legacy and IETF headers that agree and count down by one", async () => {
    const app = await start({ headers: 'both' });
    for (let i = 0; i < LIMIT; i++) {
      const h = rateHeaders(await app.get());
      expect(h.limit).toBe(LIMIT);
      expect(h.quota).toBe(LIMIT);
      expect(h.remaining).toBe(LIMIT - 1 - i);
      expect(h.left).toBe(LIMIT - 1 - i);
    }
  });

  it('sends the headers on a 429: remaining 0 and an integer Retry-After of at least 1', async () => {
    const app = await start({ headers: 'both' });
    await app.exhaust(LIMIT);
    const refused = await app.get();
    expect(refused.status).toBe(429);
    const h = rateHeaders(refused);
    expect(h.limit).toBe(LIMIT);
    expect(h.quota).toBe(LIMIT);
    expect(h.remaining).toBe(0);
    expect(h.left).toBe(0);
    expect(h.retryAfter).toMatch(/^\d+$/);
    expect(Number(h.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('answers a refusal with JSON { error, retryAfter } and never runs the route', async () => {
    const app = await start();
    await app.exhaust(LIMIT);
    const refused = await app.get();
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(json(refused)).toEqual({
      error: 'Too Many Requests',
      retryAfter: Number(refused.headers['retry-after']),
    });
  });

  it('lets a request through once Retry-After seconds have passed, not before', async () => {
    const app = await start();
    await app.exhaust(LIMIT);
    const refused = await app.get();
    expect(refused.status).toBe(429);
    expect((await app.get()).status).toBe(429);
    app.fixture.advance(Number(refused.headers['retry-after']) * 1000);
    const after = await app.get();
    expect(after.status).toBe(200);
    expect(after.text).toBe('hello');
  });

  it("headers: 'legacy' sends only the X-RateLimit-* headers", async () => {
    const app = await start({ rate: '1/minute', headers: 'legacy' });
    const allowed = await app.get();
    const refused = await app.get();
    expect(refused.status).toBe(429);
    for (const reply of [allowed, refused])
      expect(headerFamilies(reply)).toEqual({ legacy: true, ietf: false });
    expect(rateHeaders(allowed).limit).toBe(1);
  });

  it("headers: 'ietf' sends only RateLimit and RateLimit-Policy, named by policyName", async () => {
    const app = await start({ rate: '1/minute', headers: 'ietf', policyName: 'burst' });
    const allowed = await app.get();
    const refused = await app.get();
    expect(refused.status).toBe(429);
    for (const reply of [allowed, refused])
      expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: true });
    expect(rateHeaders(allowed).quota).toBe(1);
    expect(allowed.headers['ratelimit-policy']).toContain('burst');
  });

  it('headers: false sends no rate-limit headers', async () => {
    const app = await start({ rate: '1/minute', headers: false });
    const allowed = await app.get();
    const refused = await app.get();
    expect(refused.status).toBe(429);
    for (const reply of [allowed, refused])
      expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
  });

  it('skip(): skipped requests pass uncounted and carry no rate headers', async () => {
    const app = await start({ rate: '2/minute', skip: (req) => req.header('x-skip') === 'yes' });
    for (const reply of await sendMany(app.url, '/hello', 4, { headers: { 'x-skip': 'yes' } })) {
      expect(reply.status).toBe(200);
      expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
    }
    expect(rateHeaders(await app.get()).remaining).toBe(1);
    expect(rateHeaders(await app.get()).remaining).toBe(0);
    expect((await app.get()).status).toBe(429);
  });

  it('exemptPaths: exempt paths pass uncounted and carry no rate headers', async () => {
    const app = await start({ rate: '2/minute', exemptPaths: ['/health'] });
    for (const reply of await sendMany(app.url, '/health', 4)) {
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('ok');
      expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
    }
    expect(rateHeaders(await app.get()).remaining).toBe(1);
  });

  it('exemptMethods: exempt methods pass uncounted and carry no rate headers', async () => {
    const app = await start({ rate: '2/minute', exemptMethods: ['POST'] });
    for (let i = 0; i < 4; i++) {
      const reply = await app.post();
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('posted');
      expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
    }
    expect(rateHeaders(await app.get()).remaining).toBe(1);
  });

  it('a per-route limit is counted apart from the global one', async () => {
    const app = await start({ rate: '10/minute' }, { rate: '3/minute' });
    for (let i = 0; i < 3; i++) {
      const reply = await app.get('/strict');
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('strict');
      expect(rateHeaders(reply)).toMatchObject({ limit: 3, remaining: 2 - i });
    }
    const refused = await app.get('/strict');
    expect(refused.status).toBe(429);
    expect(rateHeaders(refused).limit).toBe(3);
    const other = await app.get('/hello');
    expect(other.status).toBe(200);
    expect(rateHeaders(other).limit).toBe(10);
  });

  it('two route limits with the same options, backend and prefix count apart', async () => {
    const app = await start({ rate: '10/minute' }, { rate: '3/minute' });
    await app.exhaust(3, '/strict');
    expect((await app.get('/strict')).status).toBe(429);
    const other = await app.get('/other');
    expect(other.status).toBe(200);
    expect(other.text).toBe('other');
    expect(rateHeaders(other)).toMatchObject({ limit: 3, remaining: 2 });
  });

  it('one route-level limit mounted on two routes counts each route apart', async () => {
    const app = await start({ rate: '10/minute' }, { rate: '2/minute' });
    await app.exhaust(2, '/a');
    expect((await app.get('/a')).status).toBe(429);
    const b = await app.get('/b');
    expect(b.status).toBe(200);
    expect(b.text).toBe('b');
    expect(rateHeaders(b)).toMatchObject({ limit: 2, remaining: 1 });
  });

  it('HEAD counts as GET on a route-level limit', async () => {
    const app = await start({ rate: '10/minute' }, { rate: '3/minute' });
    expect(rateHeaders(await app.get('/strict')).remaining).toBe(2);
    const head = await send(app.url, '/strict', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(rateHeaders(head).remaining).toBe(1);
    expect(rateHeaders(await app.get('/strict')).remaining).toBe(0);
    expect((await send(app.url, '/strict', { method: 'HEAD' })).status).toBe(429);
  });

  it('the scope option makes route limits share one count on purpose', async () => {
    const app = await start({ rate: '10/minute' }, { rate: '3/minute', scope: 'shared-writes' });
    await app.exhaust(2, '/strict');
    const other = await app.get('/other');
    expect(rateHeaders(other)).toMatchObject({ limit: 3, remaining: 0 });
    expect((await app.get('/a')).status).toBe(429);
  });

  it('a request for an unknown path answers 404 and counts against the app-wide limit', async () => {
    const app = await start({ rate: '2/minute' });
    for (const left of [1, 0]) {
      const reply = await app.get('/no/such/path');
      expect(reply.status).toBe(404);
      expect(rateHeaders(reply).remaining).toBe(left);
    }
    const refused = await app.get('/no/such/path');
    expect(refused.status).toBe(429);
    expect(json(refused)).toMatchObject({ error: 'Too Many Requests' });
    expect((await app.get('/hello')).status).toBe(429);
  });

  if (kind === 'redis') {
    it('stores the same key names in every framework: prefix:{client}[:route]:member', async () => {
      const app = await start({ rate: '10/minute' }, { rate: '3/minute' });
      const client = '{ip:127.0.0.1}';
      await app.get('/hello');
      await app.get('/no/such/path');
      expect(await app.fixture.keyNames()).toEqual([`${app.fixture.prefix}:${client}:sw`]);
      await app.get('/strict');
      await send(app.url, '/strict', { method: 'HEAD' });
      await app.get('/a');
      const names = await app.fixture.keyNames();
      for (const route of ['GET /strict', 'GET /a']) {
        expect(names).toContain(`${app.fixture.prefix}:${client}:${route}:sw`);
      }
      // Nothing else: the HEAD was counted as the GET, and no key carries the rate.
      expect(names.filter((n) => !n.endsWith(`${client}:sw`))).toHaveLength(2);
    });
  }

  it('keyBy header(): each client has its own count', async () => {
    const app = await start({ rate: '2/minute', keyBy: header('x-client') });
    await app.exhaust(2, '/hello', { 'x-client': 'a' });
    expect((await app.get('/hello', { 'x-client': 'a' })).status).toBe(429);
    const b = await app.get('/hello', { 'x-client': 'b' });
    expect(b.status).toBe(200);
    expect(rateHeaders(b).remaining).toBe(1);
  });

  it('keyBy header(): a request without the header is counted by its IP', async () => {
    const app = await start({ rate: '2/minute', keyBy: header('x-client') });
    await app.exhaust(2);
    expect((await app.get()).status).toBe(429);
    // Another IP without the header has its own count, so the fallback is the IP, not one shared bucket.
    const otherIp = await send(app.url, '/hello', { localAddress: OTHER_CLIENT });
    expect(otherIp.status).toBe(200);
    expect(rateHeaders(otherIp).remaining).toBe(1);
    expect((await app.get('/hello', { 'x-client': 'a' })).status).toBe(200);
  });

  it('cost: a request costing 3 lowers remaining by 3', async () => {
    const app = await start({ rate: '10/minute', cost: () => 3 });
    for (const left of [7, 4, 1]) {
      const reply = await app.get();
      expect(reply.status).toBe(200);
      expect(rateHeaders(reply).remaining).toBe(left);
    }
    expect((await app.get()).status).toBe(429);
  });

  it('statusCode and a string message shape the refusal', async () => {
    const app = await start({ rate: '1/minute', statusCode: 420, message: 'Slow down' });
    await app.exhaust(1);
    const refused = await app.get();
    expect(refused.status).toBe(420);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(json(refused)).toMatchObject({ error: 'Slow down' });
  });

  it('an object or function message becomes the JSON body', async () => {
    const withObject = await start({ rate: '1/minute', message: { code: 'SLOW_DOWN' } });
    await withObject.exhaust(1);
    expect(json(await withObject.get())).toMatchObject({ code: 'SLOW_DOWN' });
    const withFunction = await start({
      rate: '1/minute',
      message: (req, decision) => ({ path: req.path, limit: decision.limit }),
    });
    await withFunction.exhaust(1);
    expect(json(await withFunction.get())).toMatchObject({ path: '/hello', limit: 1 });
  });

  it("a failed backend with onBackendError 'allow' lets requests through", async () => {
    const url = await startBroken('down', { onBackendError: 'allow', timeoutMs: 500 });
    for (const reply of await sendMany(url, '/hello', 3)) {
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('hello');
    }
  });

  it("a failed backend with onBackendError 'deny' answers 503", async () => {
    const url = await startBroken('down', { onBackendError: 'deny', timeoutMs: 500 });
    const reply = await send(url, '/hello');
    expect(reply.status).toBe(503);
    expect(reply.text).not.toBe('hello');
    // The app survives the failure and keeps answering.
    expect((await send(url, '/hello')).status).toBe(503);
  });

  it("a failed backend with onBackendError 'local' decides in memory: the limit, then 429 with headers", async () => {
    const url = await startBroken('hung', { onBackendError: 'local', timeoutMs: 200 });
    const replies = await sendMany(url, '/hello', LIMIT + 1);
    // One instance (no heartbeat ever reached the backend): its share is the whole limit.
    expect(replies.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), 429]);
    expect(replies.slice(0, LIMIT).map((r) => rateHeaders(r).remaining)).toEqual(
      Array.from({ length: LIMIT }, (_, i) => LIMIT - 1 - i),
    );
    expect(replies[LIMIT]!.headers['retry-after']).toBeDefined();
  });

  it('a hung backend still gets the request answered after timeoutMs', async () => {
    const url = await startBroken('hung', { onBackendError: 'allow', timeoutMs: 200 });
    const reply = await send(url, '/hello');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('hello');
  });

  it('POST is limited like GET', async () => {
    const app = await start({ rate: '2/minute' });
    for (const left of [1, 0]) {
      const reply = await app.post();
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('posted');
      expect(rateHeaders(reply).remaining).toBe(left);
    }
    const refused = await app.post();
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
  });

  defineTierCases(kind, startExact);
  defineLoadStateCases(kind, startExact);
}
