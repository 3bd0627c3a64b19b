import { header, MemoryBackend } from '@distlimiter/core';
import { DEMO_LIMITS, type DemoOptions, NOT_FOUND_BODY } from '@distlimiter/demo-support';
import { rateLimit } from '@distlimiter/hono';
import { Hono } from 'hono';

/** Builds the demo: 10/minute per IP app-wide, 3/minute on login, 5/minute per API key on data, /health free. */
export function createApp({
  backend = new MemoryBackend(),
  prefix = DEMO_LIMITS.prefix,
}: DemoOptions = {}): Hono {
  const app = new Hono();

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
  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/api/hello', (c) => c.json({ message: 'hello' }));

  // Guessing passwords needs a tighter cap than the rest of the API.
  app.post('/api/login', rateLimit({ backend, prefix, rate: DEMO_LIMITS.login }), (c) =>
    c.json({ token: 'demo-token' }),
  );

  // Counted per API key, so callers behind one office IP keep their own allowance; without a key, per IP.
  app.get(
    '/api/data',
    rateLimit({ backend, prefix, rate: DEMO_LIMITS.data, keyBy: header('x-api-key') }),
    (c) => c.json({ data: [1, 2, 3], apiKey: c.req.header('x-api-key') ?? null }),
  );

  // The same body in all five demos, rather than Hono's plain-text 404.
  app.notFound((c) => c.json(NOT_FOUND_BODY, 404));

  return app;
}
