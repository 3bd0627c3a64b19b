import { type Backend, header } from '@distlimiter/core';
import distlimiter from '@distlimiter/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

/** What the demo app is built from. */
export interface DemoOptions {
  /** Where counts live: a MemoryBackend for one process, a RedisBackend to share limits across processes. */
  backend: Backend;
  /** Fastify's request logging (default false). */
  logger?: boolean;
}

/** Builds the demo: 10/minute per IP on every route, 3/minute on login, /health unlimited, /api/data per API key. */
export async function buildApp({ backend, logger = false }: DemoOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger });
  // Own prefix, so the other demos on the same Redis never share these counts.
  await app.register(distlimiter, { backend, prefix: 'demo-fastify', rate: '10/minute' });

  app.get('/health', { config: { rateLimit: false } }, async () => ({ status: 'ok' }));
  app.get('/api/hello', async () => ({ message: 'hello' }));
  // Its own, stricter count, so guessing passwords cannot borrow from the allowance of /api/hello.
  app.post('/api/login', { config: { rateLimit: '3/minute' } }, async () => ({ token: 'demo-token' }));
  // Clients sending x-api-key are counted per key; the rest fall back to their IP.
  app.get('/api/data', { config: { rateLimit: { keyBy: header('x-api-key') } } }, async (request) => ({
    data: [1, 2, 3],
    apiKey: request.headers['x-api-key'] ?? null,
  }));
  return app;
}
