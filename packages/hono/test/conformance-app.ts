import type { Server } from 'node:http';
import { type ConformanceFactory, listenOn } from '@distlimiter/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { rateLimit } from '../src/index.js';

/** The conformance app on Hono under @hono/node-server: `app.use` app-wide, middleware per route. */
export const conformanceApp: ConformanceFactory = async ({ global, strict }) => {
  const app = new Hono();
  app.use(rateLimit(global));
  app.get('/hello', (c) => c.text('hello'));
  app.post('/hello', (c) => c.text('posted'));
  app.get('/health', (c) => c.text('ok'));
  app.get('/strict', rateLimit(strict), (c) => c.text('strict'));
  app.get('/other', rateLimit(strict), (c) => c.text('other'));
  const both = rateLimit(strict);
  app.get('/a', both, (c) => c.text('a'));
  app.get('/b', both, (c) => c.text('b'));
  // Without createServer options @hono/node-server makes a plain node:http Server.
  return listenOn(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
};
