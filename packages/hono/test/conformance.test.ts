import type { Server } from 'node:http';
import { describeHttpConformance, listenOn } from '@distlimiter/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { rateLimiter } from '../src/index.js';

describeHttpConformance('hono', async ({ global, strict }) => {
  const app = new Hono();
  app.use('*', rateLimiter(global));
  app.get('/hello', (c) => c.text('hello'));
  app.post('/hello', (c) => c.text('posted'));
  app.get('/health', (c) => c.text('ok'));
  app.get('/strict', rateLimiter(strict), (c) => c.text('strict'));
  // Without createServer options @hono/node-server makes a plain node:http Server.
  return listenOn(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
});
