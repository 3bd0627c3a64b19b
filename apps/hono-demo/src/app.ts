import { type Backend, header } from '@distlimiter/core';
import { rateLimiter } from '@distlimiter/hono';
import { Hono } from 'hono';

/** What the demo app is built from. */
export interface DemoOptions {
  /** Where counts live: a MemoryBackend for one process, a RedisBackend to share limits across processes. */
  backend: Backend;
}

/** Builds the demo: 10/minute per IP on /api/*, 3/minute more on login, /health unlimited, /api/data per API key. */
export function buildApp({ backend }: DemoOptions): Hono {
  const app = new Hono();
  // Own prefixes, so the other demos on the same Redis never share these counts.
  const prefix = 'demo-hono';

  app.get('/health', (c) => c.json({ status: 'ok' }));
  // /api/data has a limit of its own below, so the IP-wide one skips it.
  app.use('/api/*', rateLimiter({ backend, prefix, rate: '10/minute', exemptPaths: ['/api/data'] }));
  app.get('/api/hello', (c) => c.json({ message: 'hello' }));
  // Stacks on the /api/* limit, with its own stricter count against password guessing.
  app.post('/api/login', rateLimiter({ backend, prefix, rate: '3/minute' }), (c) =>
    c.json({ token: 'demo-token' }),
  );
  // Clients sending x-api-key are counted per key; the rest fall back to their IP, in a prefix of its own
  // so that fallback never shares the /api/* count (same rate, same IP key).
  app.get(
    '/api/data',
    rateLimiter({ backend, rate: '10/minute', keyBy: header('x-api-key'), prefix: `${prefix}-data` }),
    (c) => c.json({ data: [1, 2, 3], apiKey: c.req.header('x-api-key') ?? null }),
  );
  return app;
}
