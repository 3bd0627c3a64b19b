import { HttpLimiter, InvalidOptionError } from '@distlimiter/core';
import { AdminClient, adminConfig, loopbackUrl } from '@distlimiter/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import distlimiter, { distlimiterAdmin } from '../src/index.js';

// What the admin suite (describeAdminConformance) leaves to the adapter: the limiter it defaults to, a
// prefix inside a prefix, and registration without a limiter or a token.

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
const TOKEN = 'fastify-admin-test-token';
const tokens = { full: { ops: TOKEN } };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return loopbackUrl(app.server);
}

it("steers the distlimiter plugin's limiter (app.distlimiter), under nested prefixes", async () => {
  const app = Fastify();
  apps.push(app);
  await app.register(distlimiter, { config: adminConfig() });
  expect(app.distlimiter).toBeInstanceOf(HttpLimiter);
  await app.register(
    async (ops) => {
      await ops.register(distlimiterAdmin, { prefix: '/admin', tokens });
    },
    { prefix: '/ops' },
  );
  app.get('/hello', async () => 'hello');
  const url = await listen(app);
  const admin = new AdminClient(`${url}/ops`, TOKEN);
  expect(
    (await admin.post('/rules', { id: 'cap', match: { path: '/hello' }, rate: '1/minute' })).status,
  ).toBe(201);
  expect((await fetch(`${url}/hello`)).status).toBe(200);
  expect((await fetch(`${url}/hello`)).status).toBe(429);
  // The admin routes are not counted by the plugin's limit.
  for (let i = 0; i < 3; i++) expect((await admin.get('/rules')).status).toBe(200);
});

it('takes a limiter of its own', async () => {
  const limiter = new HttpLimiter({ config: adminConfig() });
  const app = Fastify();
  apps.push(app);
  await app.register(distlimiterAdmin, { prefix: '/admin', limiter, tokens });
  app.addHook('onClose', () => limiter.close());
  const admin = new AdminClient(await listen(app), TOKEN);
  expect((await admin.get('/rules')).body.tiers).toHaveProperty('free');
});

it('fails to register without a limiter, or without any token', async () => {
  const bare = Fastify();
  apps.push(bare);
  await expect(bare.register(distlimiterAdmin, { prefix: '/admin', tokens })).rejects.toThrow(
    InvalidOptionError,
  );
  const app = Fastify();
  apps.push(app);
  await app.register(distlimiter, { config: adminConfig() });
  await expect(app.register(distlimiterAdmin, { prefix: '/admin', env: {} })).rejects.toThrow(/tokens/);
});
