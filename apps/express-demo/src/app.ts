import {
  DEMO_ADMIN_PATH,
  type DemoOptions,
  demoLimitOptions,
  NOT_FOUND_BODY,
} from '@distlimiter/demo-support';
import { adminRouter, rateLimit } from '@distlimiter/express';
import express, { type Express } from 'express';

/**
 * Builds the demo: one app-wide limiter that follows the configuration (tiers by API key, the login rule,
 * a shadow rule on /api/data), 404s counted too, /health never limited; with `adminTokens`, the admin API
 * at /admin, which the app-wide limiter never counts (it has its own limit).
 */
export function createApp(options: DemoOptions = {}): Express {
  const app = express();

  const limit = rateLimit(demoLimitOptions(options));
  app.use(express.json());
  // Before the app-wide limiter, so the admin API is never counted (nor refused) by the limits it steers.
  if (options.adminTokens !== undefined) {
    app.use(DEMO_ADMIN_PATH, adminRouter({ limiter: limit.limiter, tokens: options.adminTokens }));
  }
  // App-wide, before every route, so unknown paths count too. Which limits apply to which route is the
  // configuration's business: the routes below carry none of their own.
  app.use(limit);

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/api/hello', (_req, res) => {
    res.json({ message: 'hello' });
  });

  app.post('/api/login', (_req, res) => {
    res.json({ token: 'demo-token' });
  });

  app.get('/api/data', (_req, res) => {
    res.json({ data: [1, 2, 3] });
  });

  // JSON like every other answer of this API, and the same body in all five demos.
  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND_BODY);
  });

  return app;
}
