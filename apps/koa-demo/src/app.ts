import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import {
  DEMO_ADMIN_PATH,
  type DemoOptions,
  demoLimitOptions,
  NOT_FOUND_BODY,
} from '@distlimiter/demo-support';
import { adminMiddleware, rateLimit } from '@distlimiter/koa';
import Koa from 'koa';

/**
 * Builds the demo: one app-wide limiter that follows the configuration (tiers by API key, the login rule,
 * a shadow rule on /api/data), 404s counted too, /health never limited; with `adminTokens`, the admin API
 * at /admin, which the app-wide limiter never counts (it has its own limit).
 */
export function createApp(options: DemoOptions = {}): Koa {
  const app = new Koa();
  const router = new Router();

  const limit = rateLimit(demoLimitOptions(options));
  app.use(bodyParser());
  // Before the app-wide limiter, so the admin API is never counted (nor refused) by the limits it steers.
  if (options.adminTokens !== undefined) {
    app.use(adminMiddleware({ path: DEMO_ADMIN_PATH, limiter: limit.limiter, tokens: options.adminTokens }));
  }
  // App-wide, before the router, so unknown paths count too. Which limits apply to which route is the
  // configuration's business: the routes below carry none of their own.
  app.use(limit);

  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/api/hello', (ctx) => {
    ctx.body = { message: 'hello' };
  });

  router.post('/api/login', (ctx) => {
    ctx.body = { token: 'demo-token' };
  });

  router.get('/api/data', (ctx) => {
    ctx.body = { data: [1, 2, 3] };
  });

  // No router.allowedMethods(): its 405s would make Koa answer a wrong method unlike the other four demos.
  app.use(router.routes());
  // The same body in all five demos, rather than Koa's plain-text 404.
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = NOT_FOUND_BODY;
  });
  return app;
}
