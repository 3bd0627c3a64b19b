import Router from '@koa/router';
import { type HttpOutcome, type HttpRequest, InvalidOptionError } from '@distlimiter/core';
import Koa from 'koa';
import { listenOn, OpenServers } from '@distlimiter/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';

const servers = new OpenServers();
afterEach(() => servers.closeAll());

const start = (app: Koa) => servers.add(listenOn(app.listen(0, '127.0.0.1')));

function helloApp(options: Parameters<typeof rateLimit>[0], proxy = false): Koa {
  const app = new Koa({ proxy });
  app.use(rateLimit(options));
  app.use((ctx) => {
    ctx.body = 'hello';
  });
  return app;
}

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

describe('rateLimit (koa)', () => {
  it('throws at creation when an option is wrong, not on the first request', () => {
    expect(() => rateLimit({ rate: 'lots' })).toThrow(InvalidOptionError);
    expect(() => rateLimit({ headers: 'bogus' as never })).toThrow(InvalidOptionError);
  });

  it('ignores X-Forwarded-For while app.proxy is false', async () => {
    const url = await start(helloApp({ rate: '1/minute' }));
    expect((await fetch(url, from('203.0.113.1'))).status).toBe(200);
    // A different forwarded address is still the same socket, so the same key.
    expect((await fetch(url, from('203.0.113.2'))).status).toBe(429);
  });

  it('keys by X-Forwarded-For when app.proxy is true', async () => {
    const url = await start(helloApp({ rate: '1/minute' }, true));
    expect((await fetch(url, from('203.0.113.1'))).status).toBe(200);
    expect((await fetch(url, from('203.0.113.2'))).status).toBe(200);
    expect((await fetch(url, from('203.0.113.1'))).status).toBe(429);
  });

  it('lets a custom handler answer refusals, after the headers are set and without running the route', async () => {
    const seen: HttpOutcome[] = [];
    let routeRuns = 0;
    const app = new Koa();
    app.use(
      rateLimit({
        rate: '1/minute',
        headers: 'legacy',
        handler: (ctx, outcome) => {
          seen.push(outcome);
          ctx.status = 503;
          ctx.body = { custom: true, was: outcome.status };
        },
      }),
    );
    app.use((ctx) => {
      routeRuns++;
      ctx.body = 'hello';
    });
    const url = await start(app);
    expect((await fetch(url)).status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ custom: true, was: 429 });
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(routeRuns).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.allowed).toBe(false);
  });

  it('limits only the @koa/router route it is mounted on', async () => {
    const app = new Koa();
    const router = new Router();
    router.get('/strict', rateLimit({ rate: '1/minute' }), (ctx) => {
      ctx.body = 'strict';
    });
    router.get('/free', (ctx) => {
      ctx.body = 'free';
    });
    app.use(router.routes());
    const url = await start(app);
    expect((await fetch(`${url}/strict`)).status).toBe(200);
    const refused = await fetch(`${url}/strict`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    for (let i = 0; i < 3; i++) {
      const free = await fetch(`${url}/free`);
      expect(free.status).toBe(200);
      expect(await free.text()).toBe('free');
      expect(free.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('hands the core the request as Koa and @koa/router see it', async () => {
    const requests: HttpRequest[] = [];
    const contexts: unknown[] = [];
    const app = new Koa();
    const router = new Router();
    router.get(
      '/users/:id',
      rateLimit({
        rate: '5/minute',
        keyBy: (request) => {
          requests.push(request);
          return 'fixed';
        },
      }),
      (ctx) => {
        contexts.push(ctx);
        ctx.body = 'user';
      },
    );
    app.use(router.routes());
    const url = await start(app);
    const res = await fetch(`${url}/users/42?verbose=1`, { headers: { 'X-Tenant': 'acme' } });
    expect(res.status).toBe(200);
    const request = requests[0]!;
    expect(request.ip).toBe('127.0.0.1');
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/users/42');
    expect(request.routeId).toBe('/users/:id');
    expect(request.header('x-tenant')).toBe('acme');
    expect(request.header('x-missing')).toBeUndefined();
    expect(request.raw).toBe(contexts[0]);
  });

  it('answers a refusal with JSON even when the body is a bare string', async () => {
    const url = await start(helloApp({ rate: '1/minute', statusCode: 503, message: () => 'go away' }));
    await fetch(url);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toBe('go away');
  });
});
