import type { Server } from 'node:http';
import {
  type AdminConformanceOptions,
  type ConformanceApp,
  type ConformanceOptions,
  listenOn,
} from '@distlimiter/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { adminApp, rateLimit } from '../src/index.js';

/**
 * The conformance app on Hono under @hono/node-server: `app.use` app-wide, middleware per route. With
 * `admin`, the admin sub-app routed at /admin before the app-wide limiter (so the limiter never counts it).
 */
export const conformanceApp = async ({
  global,
  strict,
  admin,
}: ConformanceOptions & Partial<AdminConformanceOptions>): Promise<ConformanceApp> => {
  const app = new Hono();
  const limit = rateLimit(global);
  if (admin !== undefined) app.route('/admin', adminApp({ limiter: limit.limiter, ...admin }));
  app.use(limit);
  app.get('/hello', (c) => c.text('hello'));
  app.post('/hello', (c) => c.text('posted'));
  app.get('/health', (c) => c.text('ok'));
  app.get('/strict', rateLimit(strict), (c) => c.text('strict'));
  app.get('/other', rateLimit(strict), (c) => c.text('other'));
  const both = rateLimit(strict);
  app.get('/a', both, (c) => c.text('a'));
  app.get('/b', both, (c) => c.text('b'));
  // Without createServer options @hono/node-server makes a plain node:http Server.
  const listening = await listenOn(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
  if (admin === undefined) return listening;
  // Hono has no close hook: the limiter's own (its statistics, blocks and audit) is closed here.
  return { url: listening.url, close: () => listening.close().finally(() => limit.limiter.close()) };
};
