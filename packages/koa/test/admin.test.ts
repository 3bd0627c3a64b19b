import { InvalidOptionError } from '@distlimiter/core';
import { AdminClient, adminConfig, listenOn, OpenServers } from '@distlimiter/testkit';
import Koa from 'koa';
import { afterEach, expect, it } from 'vitest';
import { adminMiddleware, rateLimit } from '../src/index.js';

// What the admin suite (describeAdminConformance, which runs @koa/bodyparser) leaves to the adapter: no
// body parser, paths beside the mount, and bad options.

const servers = new OpenServers();
const limiters: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await servers.closeAll();
  for (const limiter of limiters.splice(0)) await limiter.close();
});
const TOKEN = 'koa-admin-test-token';
const tokens = { full: { ops: TOKEN } };

function limit() {
  const middleware = rateLimit({ config: adminConfig() });
  limiters.push(middleware.limiter);
  return middleware;
}

it('reads the raw body without a body parser, and passes on paths that only begin like its own', async () => {
  const middleware = limit();
  const app = new Koa();
  app.use(adminMiddleware({ path: '/admin/', limiter: middleware.limiter, tokens }));
  app.use((ctx) => {
    ctx.body = `app ${ctx.path}`;
  });
  const url = await servers.add(listenOn(app.listen(0, '127.0.0.1')));
  const admin = new AdminClient(url, TOKEN);
  expect((await admin.post('/rules', { id: 'raw', match: { path: '/raw' }, rate: '1/minute' })).status).toBe(
    201,
  );
  expect((await admin.post('/rules', '{"id":')).body).toMatchObject({ error: 'Bad Request' });
  expect(await (await fetch(`${url}/administrator`)).text()).toBe('app /administrator');
  expect((await admin.get('')).status).toBe(404);
});

it('throws at start on a bad path, or without any token', () => {
  const { limiter } = limit();
  expect(() => adminMiddleware({ path: 'admin', limiter, tokens })).toThrow(InvalidOptionError);
  expect(() => adminMiddleware({ path: '/admin', limiter, env: {} })).toThrow(InvalidOptionError);
});
