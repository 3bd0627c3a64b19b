import { header, MemoryBackend } from '@distlimiter/core';
import { type DemoOptions as BaseDemoOptions, DEMO_LIMITS, NOT_FOUND_BODY } from '@distlimiter/demo-support';
import distlimiter from '@distlimiter/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

/** What the demo app is built with. */
export interface DemoOptions extends BaseDemoOptions {
  /** Fastify's request logging (default false). */
  logger?: boolean;
}

/** Builds the demo: 10/minute per IP app-wide, 3/minute on login, 5/minute per API key on data, /health free. */
export async function createApp({
  backend = new MemoryBackend(),
  prefix = DEMO_LIMITS.prefix,
  logger = false,
}: DemoOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger });
  // App-wide, 404s included. A route's `config.rateLimit` replaces it for that route.
  await app.register(distlimiter, { backend, prefix, rate: DEMO_LIMITS.appWide });

  // Load balancers must see the app alive however busy a client is.
  app.get('/health', { config: { rateLimit: false } }, async () => ({ status: 'ok' }));
  app.get('/api/hello', async () => ({ message: 'hello' }));
  // Guessing passwords needs a tighter cap than the rest of the API.
  app.post('/api/login', { config: { rateLimit: DEMO_LIMITS.login } }, async () => ({ token: 'demo-token' }));
  // Counted per API key, so callers behind one office IP keep their own allowance; without a key, per IP.
  const perKey = { rate: DEMO_LIMITS.data, keyBy: header('x-api-key') };
  app.get('/api/data', { config: { rateLimit: perKey } }, async (request) => ({
    data: [1, 2, 3],
    apiKey: request.headers['x-api-key'] ?? null,
  }));
  // The same body in all five demos, rather than Fastify's own 404 message.
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send(NOT_FOUND_BODY));
  return app;
}
