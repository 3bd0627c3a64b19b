import Router from '@koa/router';
import { DEMO_LIMITS, type DemoOptions, NOT_FOUND_BODY } from '@distlimiter/demo-support';
import { header, MemoryBackend } from '@distlimiter/core';
import { rateLimit } from '@distlimiter/koa';
import Koa from 'koa';

/** Builds the demo: 10/minute per IP app-wide, 3/minute on login, 5/minute per API key on data, /health free. */
export function createApp({
  backend = new MemoryBackend(),
  prefix = DEMO_LIMITS.prefix,
}: DemoOptions = {}): Koa {
  const app = new Koa();
  const router = new Router();

  // App-wide, 404s included. The routes below with a limit of their own (or none) are left out of it, as
  // a route's own limit replaces the app-wide one in Fastify and Nest: the five demos count alike.
  app.use(
    rateLimit({
      backend,
      prefix,
      rate: DEMO_LIMITS.appWide,
      exemptPaths: DEMO_LIMITS.exemptFromAppWide,
    }),
  );

  // Load balancers must see the app alive however busy a client is.
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/api/hello', (ctx) => {
    ctx.body = { message: 'hello' };
  });

  // Guessing passwords needs a tighter cap than the rest of the API.
  router.post('/api/login', rateLimit({ backend, prefix, rate: DEMO_LIMITS.login }), (ctx) => {
    ctx.body = { token: 'demo-token' };
  });

  // Counted per API key, so callers behind one office IP keep their own allowance; without a key, per IP.
  router.get(
    '/api/data',
    rateLimit({ backend, prefix, rate: DEMO_LIMITS.data, keyBy: header('x-api-key') }),
    (ctx) => {
      ctx.body = { data: [1, 2, 3], apiKey: ctx.get('x-api-key') || null };
    },
  );

  // No router.allowedMethods(): its 405s would make Koa answer a wrong method unlike the other four demos.
  app.use(router.routes());
  // The same body in all five demos, rather than Koa's plain-text 404.
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = NOT_FOUND_BODY;
  });
  return app;
}
