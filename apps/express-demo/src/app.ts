import { header, MemoryBackend } from '@distlimiter/core';
import { DEMO_LIMITS, type DemoOptions, NOT_FOUND_BODY } from '@distlimiter/demo-support';
import { rateLimit } from '@distlimiter/express';
import express, { type Express } from 'express';

/** Builds the demo: 10/minute per IP app-wide, 3/minute on login, 5/minute per API key on data, /health free. */
export function createApp({
  backend = new MemoryBackend(),
  prefix = DEMO_LIMITS.prefix,
}: DemoOptions = {}): Express {
  const app = express();

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
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/api/hello', (_req, res) => {
    res.json({ message: 'hello' });
  });

  // Guessing passwords needs a tighter cap than the rest of the API.
  app.post('/api/login', rateLimit({ backend, prefix, rate: DEMO_LIMITS.login }), (_req, res) => {
    res.json({ token: 'demo-token' });
  });

  // Counted per API key, so callers behind one office IP keep their own allowance; without a key, per IP.
  app.get(
    '/api/data',
    rateLimit({ backend, prefix, rate: DEMO_LIMITS.data, keyBy: header('x-api-key') }),
    (req, res) => {
      res.json({ data: [1, 2, 3], apiKey: req.get('x-api-key') ?? null });
    },
  );

  // JSON like every other answer of this API, and the same body in all five demos.
  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND_BODY);
  });

  return app;
}
