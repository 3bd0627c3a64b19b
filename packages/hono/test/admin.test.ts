import type { Server } from 'node:http';
import { InvalidOptionError } from '@distlimiter/core';
import { AdminClient, adminConfig, listenOn, OpenServers } from '@distlimiter/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, expect, it } from 'vitest';
import { adminApp, rateLimit } from '../src/index.js';

// What the admin suite (describeAdminConformance) leaves to the adapter: a mount path with parameters, a
// body a middleware already read, getIp, and no token at all.

const servers = new OpenServers();
const limiters: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await servers.closeAll();
  for (const limiter of limiters.splice(0)) await limiter.close();
});
const TOKEN = 'hono-admin-test-token';
const tokens = { full: { ops: TOKEN } };

function limit() {
  const middleware = rateLimit({ config: adminConfig() });
  limiters.push(middleware.limiter);
  return middleware;
}

const start = (app: Hono) =>
  servers.add(listenOn(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server));

it('strips a mount path with parameters; takes a body a middleware already read', async () => {
  const middleware = limit();
  const app = new Hono();
  // A middleware that reads the JSON body first (a logger, a validator): the raw stream is spent.
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST') await c.req.json().catch(() => undefined);
    await next();
  });
  app.route('/t/:tenant/admin', adminApp({ limiter: middleware.limiter, tokens }));
  const url = await start(app);
  const admin = new AdminClient(`${url}/t/acme`, TOKEN);
  expect((await admin.get('/health')).status).toBe(200);
  const posted = await admin.post('/rules', { id: 'read-before', match: { path: '/x' }, rate: '1/minute' });
  expect(posted.status).toBe(201);
});

it('takes the client IP from getIp (its own limit counts per IP)', async () => {
  const middleware = limit();
  const app = new Hono();
  app.route(
    '/admin',
    adminApp({
      limiter: middleware.limiter,
      tokens,
      rate: '1/minute',
      getIp: (c) => c.req.header('x-client'),
    }),
  );
  const admin = new AdminClient(await start(app), TOKEN);
  expect((await admin.get('/rules', { headers: { 'x-client': '192.0.2.1' } })).status).toBe(200);
  expect((await admin.get('/rules', { headers: { 'x-client': '192.0.2.1' } })).status).toBe(429);
  expect((await admin.get('/rules', { headers: { 'x-client': '192.0.2.2' } })).status).toBe(200);
});

it('throws at start without any token', () => {
  expect(() => adminApp({ limiter: limit().limiter, env: {} })).toThrow(InvalidOptionError);
});
