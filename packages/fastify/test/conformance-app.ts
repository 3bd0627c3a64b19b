import {
  type AdminConformanceOptions,
  type ConformanceApp,
  type ConformanceOptions,
  loopbackUrl,
} from '@distlimiter/testkit';
import Fastify from 'fastify';
import distlimiter, { distlimiterAdmin } from '../src/index.js';

/**
 * The conformance app on Fastify: the plugin app-wide, route limits through `config.rateLimit`. With
 * `admin`, the admin plugin under the prefix /admin, steering the app-wide plugin's limiter, after
 * Fastify's own JSON parsing; its routes opt out of the app-wide limit.
 */
export const conformanceApp = async ({
  global,
  strict,
  admin,
}: ConformanceOptions & Partial<AdminConformanceOptions>): Promise<ConformanceApp> => {
  const app = Fastify();
  await app.register(distlimiter, global);
  if (admin !== undefined) await app.register(distlimiterAdmin, { prefix: '/admin', ...admin });
  app.get('/hello', async () => 'hello');
  app.post('/hello', async () => 'posted');
  app.get('/health', async () => 'ok');
  app.get('/strict', { config: { rateLimit: strict } }, async () => 'strict');
  app.get('/other', { config: { rateLimit: { ...strict } } }, async () => 'other');
  // One config object on two routes: Fastify's nearest thing to one middleware mounted twice.
  const both = { rateLimit: strict };
  app.get('/a', { config: both }, async () => 'a');
  app.get('/b', { config: both }, async () => 'b');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: loopbackUrl(app.server), close: () => app.close() };
};
