import Router from '@koa/router';
import { type Backend, header, MemoryBackend } from '@distlimiter/core';
import { rateLimit } from '@distlimiter/koa';
import Koa from 'koa';

/** What the demo app can be built with. */
export interface DemoOptions {
  /** Where counts live (default: a new MemoryBackend). */
  backend?: Backend;
  /** Key namespace, so several demo instances can share one Redis without sharing counts (default "demo"). */
  prefix?: string;
  /** Trust X-Forwarded-For, as behind a reverse proxy (default false: the socket address is the client). */
  proxy?: boolean;
}

/** Builds the demo Koa app: every limiter shares one backend, so N instances on one Redis share counts. */
export function buildApp(options: DemoOptions = {}): Koa {
  const backend = options.backend ?? new MemoryBackend();
  const prefix = options.prefix ?? 'demo';
  const app = new Koa({ proxy: options.proxy ?? false });
  const router = new Router();

  // App-wide per-IP limit. /health must answer load balancers however busy a client is, and /api/data is
  // counted per API key below, so a shared office IP does not eat every key's allowance.
  app.use(
    rateLimit({
      rate: '10/minute',
      backend,
      prefix: `${prefix}:ip`,
      exemptPaths: ['/health', '/api/data'],
    }),
  );

  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/api/hello', (ctx) => {
    ctx.body = { message: 'hello' };
  });

  // Stacks on the app-wide limit: a login is also a request, but guessing passwords needs a tighter cap.
  router.post('/api/login', rateLimit({ rate: '3/minute', backend, prefix: `${prefix}:login` }), (ctx) => {
    ctx.body = { message: 'logged in' };
  });

  // A missing x-api-key falls back to the client IP, never to one bucket shared by every anonymous caller.
  router.get(
    '/api/data',
    rateLimit({ rate: '5/minute', backend, prefix: `${prefix}:key`, keyBy: header('x-api-key') }),
    (ctx) => {
      ctx.body = { data: [1, 2, 3] };
    },
  );

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
