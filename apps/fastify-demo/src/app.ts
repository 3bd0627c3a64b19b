import {
  type DemoOptions as BaseDemoOptions,
  DEMO_ADMIN_PATH,
  demoLimitOptions,
  NOT_FOUND_BODY,
} from '@distlimiter/demo-support';
import distlimiter, { distlimiterAdmin } from '@distlimiter/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

/** What the demo app is built with. */
export interface DemoOptions extends BaseDemoOptions {
  /** Fastify's request logging (default false). */
  logger?: boolean;
}

/**
 * Builds the demo: one app-wide limiter that follows the configuration (tiers by API key, the login rule,
 * a shadow rule on /api/data), 404s counted too, /health never limited; with `adminTokens`, the admin API
 * under /admin, whose routes the app-wide limiter never counts (it has its own limit). `app.close()` closes
 * the limiter and the admin API.
 */
export async function createApp({ logger = false, ...options }: DemoOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger });
  // App-wide, 404s included. Which limits apply to which route is the configuration's business: the routes
  // below carry no `config.rateLimit` of their own.
  await app.register(distlimiter, demoLimitOptions(options));
  if (options.adminTokens !== undefined) {
    await app.register(distlimiterAdmin, { prefix: DEMO_ADMIN_PATH, tokens: options.adminTokens });
  }

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/api/hello', async () => ({ message: 'hello' }));
  app.post('/api/login', async () => ({ token: 'demo-token' }));
  app.get('/api/data', async () => ({ data: [1, 2, 3] }));
  // The same body in all five demos, rather than Fastify's own 404 message.
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send(NOT_FOUND_BODY));
  return app;
}
