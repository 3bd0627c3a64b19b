import 'reflect-metadata';
import type { HttpLimitOptions } from '@distlimiter/core';
import { type AdminMount, loopbackUrl } from '@distlimiter/testkit';
import {
  Controller,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Post,
  Req,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DistLimiterAdminModule, DistLimiterModule, RateLimit, RateLimitGuard } from '../src/index.js';

/** Which Nest HTTP platform an app runs on. */
export type Platform = 'express' | 'fastify';

/** A running Nest app and its base URL. */
export interface RunningApp {
  url: string;
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * Creates and starts `module` on `platform`, listening on 127.0.0.1 port 0. Neither platform trusts
 * proxies by default, so the client IP is the socket address, as the conformance contract requires.
 */
export async function startNest(
  module: Type<unknown>,
  platform: Platform,
  options: { trustProxy?: boolean } = {},
): Promise<RunningApp> {
  // Trusting one proxy hop, in each platform's own way: Express's setting, Fastify's option.
  let adapter: ExpressAdapter | FastifyAdapter;
  if (platform === 'express') {
    const express = new ExpressAdapter();
    if (options.trustProxy) express.set('trust proxy', 1);
    adapter = express;
  } else {
    adapter = new FastifyAdapter(options.trustProxy ? { trustProxy: 1 } : undefined);
  }
  // abortOnError false: a failing init rejects instead of aborting the test process.
  const app = await NestFactory.create(module, adapter, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { url: loopbackUrl(app.getHttpServer()), app, close: () => app.close() };
}

/**
 * The standard conformance app: app-wide limit through forRoot + APP_GUARD, `strict` on GET /strict. With
 * `admin`, DistLimiterAdminModule at "admin", after the platform's own body parsing.
 */
export async function conformanceApp(
  platform: Platform,
  options: { global: HttpLimitOptions; strict: HttpLimitOptions; admin?: AdminMount },
): Promise<{ url: string; close(): Promise<void> }> {
  // Declared per call so @RateLimit sees this test's options.
  @Controller()
  class AppController {
    @Get('hello')
    hello(): string {
      return 'hello';
    }

    @Post('hello')
    @HttpCode(200)
    posted(): string {
      return 'posted';
    }

    @Get('health')
    health(): string {
      return 'ok';
    }

    @Get('strict')
    @RateLimit(options.strict)
    strict(): string {
      return 'strict';
    }

    @Get('other')
    @RateLimit(options.strict)
    other(): string {
      return 'other';
    }

    // One handler, so one decorator, on two routes.
    @Get(['a', 'b'])
    @RateLimit(options.strict)
    both(request: { url: string }): string {
      return request.url.slice(1);
    }
  }
  // A parameter decorator applied as a call: Biome's parser does not accept them in @-syntax.
  Req()(AppController.prototype, 'both', 0);

  @Module({
    imports: [
      DistLimiterModule.forRoot(options.global),
      ...(options.admin === undefined
        ? []
        : [DistLimiterAdminModule.forRoot({ path: 'admin', ...options.admin })]),
    ],
    controllers: [AppController],
    providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
  })
  class AppModule {}

  const { url, close } = await startNest(AppModule, platform);
  return { url, close };
}
