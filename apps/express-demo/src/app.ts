import { type Backend, header, MemoryBackend } from '@distlimiter/core';
import { rateLimit } from '@distlimiter/express';
import express, { type Express } from 'express';

/** What the demo app can be built with. */
export interface DemoOptions {
  /** Where counts live (default: a new MemoryBackend); a RedisBackend shares them across processes. */
  backend?: Backend;
  /** Key namespace, so several demos can share one Redis without sharing counts (default "demo"). */
  prefix?: string;
}

/** Builds the demo Express app; every limiter uses one backend, so N instances on one Redis share counts. */
export function createApp(options: DemoOptions = {}): Express {
  const backend = options.backend ?? new MemoryBackend();
  const prefix = options.prefix ?? 'demo';
  const app = express();

  // App-wide per-IP limit. /health must answer load balancers however busy a client is, and /api/data is
  // counted per API key below, so a shared office IP does not eat every key's allowance.
  app.use(
    rateLimit({ rate: '10/minute', backend, prefix: `${prefix}-ip`, exemptPaths: ['/health', '/api/data'] }),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/api/hello', (_req, res) => {
    res.json({ message: 'hello' });
  });

  // Stacks on the app-wide limit: a login is also a request, but guessing passwords needs a tighter cap.
  app.post('/api/login', rateLimit({ rate: '3/minute', backend, prefix: `${prefix}-login` }), (_req, res) => {
    res.json({ token: 'demo-token' });
  });

  // A missing x-api-key falls back to the client IP, never to one bucket shared by every anonymous caller.
  app.get(
    '/api/data',
    rateLimit({ rate: '5/minute', backend, prefix: `${prefix}-key`, keyBy: header('x-api-key') }),
    (req, res) => {
      res.json({ data: [1, 2, 3], apiKey: req.get('x-api-key') ?? null });
    },
  );

  return app;
}
