import { InvalidOptionError } from '@distlimiter/core';
import { AdminClient, adminConfig, listenOn, OpenServers } from '@distlimiter/testkit';
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { adminRouter, rateLimit } from '../src/index.js';

// What the admin suite (describeAdminConformance) leaves to the adapter: no body parser, a router mount,
// and no token at all.

const servers = new OpenServers();
const limiters: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await servers.closeAll();
  for (const limiter of limiters.splice(0)) await limiter.close();
});
const TOKEN = 'express-admin-test-token';
const tokens = { full: { ops: TOKEN } };

function limit() {
  const middleware = rateLimit({ config: adminConfig() });
  limiters.push(middleware.limiter);
  return middleware;
}

it('reads the raw body when no body parser ran', async () => {
  const middleware = limit();
  const app = express();
  app.use('/admin', adminRouter({ limiter: middleware.limiter, tokens }));
  app.use(middleware);
  const admin = new AdminClient(await servers.add(listenOn(app.listen(0, '127.0.0.1'))), TOKEN);
  const posted = await admin.post('/rules', { id: 'raw', match: { path: '/raw' }, rate: '1/minute' });
  expect(posted.status).toBe(201);
  expect((await admin.post('/rules', '{"id":')).body).toMatchObject({ error: 'Bad Request' });
});

it('answers relative to its mount inside a router', async () => {
  const middleware = limit();
  const app = express();
  const ops = express.Router();
  ops.use('/admin', express.json(), adminRouter({ limiter: middleware.limiter, tokens }));
  app.use('/ops', ops);
  const url = await servers.add(listenOn(app.listen(0, '127.0.0.1')));
  const admin = new AdminClient(`${url}/ops`, TOKEN);
  expect((await admin.get('/rules')).status).toBe(200);
  expect((await admin.get('/nope')).body).toMatchObject({ message: 'There is no admin endpoint at /nope.' });
});

it('throws at start without any token (nor DISTLIMITER_ADMIN_TOKEN), unless auth is turned off', () => {
  const middleware = limit();
  expect(() => adminRouter({ limiter: middleware.limiter, env: {} })).toThrow(InvalidOptionError);
  expect(() => adminRouter({ limiter: middleware.limiter, tokens: false })).not.toThrow();
  expect(() =>
    adminRouter({ limiter: middleware.limiter, env: { DISTLIMITER_ADMIN_TOKEN: TOKEN } }),
  ).not.toThrow();
});
