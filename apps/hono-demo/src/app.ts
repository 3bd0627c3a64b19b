import {
  DEMO_ADMIN_PATH,
  type DemoOptions,
  demoLimitOptions,
  NOT_FOUND_BODY,
} from '@distlimiter/demo-support';
import { adminApp, rateLimit } from '@distlimiter/hono';
import { Hono } from 'hono';

/**
 * Builds the demo: one app-wide limiter that follows the configuration (tiers by API key, the login rule,
 * a shadow rule on /api/data), 404s counted too, /health never limited; with `adminTokens`, the admin API
 * at /admin, which the app-wide limiter never counts (it has its own limit).
 */
export function createApp(options: DemoOptions = {}): Hono {
  const app = new Hono();

  const limit = rateLimit(demoLimitOptions(options));
  // Routed before the app-wide limiter, so the admin API is never counted (nor refused) by the limits it steers.
  if (options.adminTokens !== undefined) {
    app.route(DEMO_ADMIN_PATH, adminApp({ limiter: limit.limiter, tokens: options.adminTokens }));
  }
  // App-wide, before every route, so unknown paths count too. Which limits apply to which route is the
  // configuration's business: the routes below carry none of their own.
  app.use(limit);

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/api/hello', (c) => c.json({ message: 'hello' }));

  app.post('/api/login', (c) => c.json({ token: 'demo-token' }));

  app.get('/api/data', (c) => c.json({ data: [1, 2, 3] }));

  // The same body in all five demos, rather than Hono's plain-text 404.
  app.notFound((c) => c.json(NOT_FOUND_BODY, 404));

  return app;
}
