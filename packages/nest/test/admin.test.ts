import 'reflect-metadata';
import { AdminClient, adminConfig } from '@distlimiter/testkit';
import { Controller, Get, Module, type Type } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DistLimiterAdminModule, DistLimiterModule, RateLimitGuard } from '../src/index.js';
import { type Platform, type RunningApp, startNest } from './conformance-app.js';

// What the admin suite (describeAdminConformance) leaves to the module: a global prefix and a deeper path,
// forRootAsync, Express without its body parser, and a module without a limiter or a token.

const running: RunningApp[] = [];
afterEach(async () => {
  for (const app of running.splice(0)) await app.close();
});
const TOKEN = 'nest-admin-test-token';
const tokens = { full: { ops: TOKEN } };

@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }
}

function appModule(
  admin: ReturnType<typeof DistLimiterAdminModule.forRoot>,
  withLimiter = true,
): Type<unknown> {
  @Module({
    imports: [...(withLimiter ? [DistLimiterModule.forRoot({ config: adminConfig() })] : []), admin],
    controllers: [HelloController],
    providers: withLimiter ? [{ provide: APP_GUARD, useClass: RateLimitGuard }] : [],
  })
  class AppModule {}
  return AppModule;
}

describe.each<Platform>(['express', 'fastify'])('on platform-%s', (platform) => {
  it('answers under the global prefix and a path of two segments; forRootAsync builds its options', async () => {
    const admin = DistLimiterAdminModule.forRootAsync({
      path: 'ops/admin',
      useFactory: async () => ({ tokens }),
    });
    const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
    const app = await NestFactory.create(appModule(admin), adapter, { logger: false, abortOnError: false });
    app.setGlobalPrefix('api');
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    running.push({ url, app, close: () => app.close() });
    const client = new AdminClient(`${url}/api/ops`, TOKEN);
    expect(
      (await client.post('/rules', { id: 'cap', match: { path: '/api/hello' }, rate: '1/minute' })).status,
    ).toBe(201);
    expect((await fetch(`${url}/api/hello`)).status).toBe(200);
    expect((await fetch(`${url}/api/hello`)).status).toBe(429);
    // The guard skips the admin controller: reading it counts nothing, refuses nothing.
    for (let i = 0; i < 3; i++) expect((await client.get('/rules')).status).toBe(200);
    expect((await client.delete('/blocks/2001%3Adb8%3A%3A%2F64')).status).toBe(404);
  });

  it('fails to initialise without DistLimiterModule (no limiter to steer), or without any token', async () => {
    await expect(
      startNest(appModule(DistLimiterAdminModule.forRoot({ tokens }), false), platform),
    ).rejects.toThrow(/limiter/);
    await expect(startNest(appModule(DistLimiterAdminModule.forRoot({ env: {} })), platform)).rejects.toThrow(
      /tokens/,
    );
  });
});

it('reads the raw body on Express when Nest parses none (bodyParser: false)', async () => {
  const app = await NestFactory.create(
    appModule(DistLimiterAdminModule.forRoot({ tokens })),
    new ExpressAdapter(),
    {
      logger: false,
      abortOnError: false,
      bodyParser: false,
    },
  );
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  running.push({ url, app, close: () => app.close() });
  const client = new AdminClient(url, TOKEN);
  expect((await client.post('/rules', { id: 'raw', match: { path: '/raw' }, rate: '1/minute' })).status).toBe(
    201,
  );
});
