import 'reflect-metadata';
import { type Backend, MemoryBackend } from '@distlimiter/core';
import { type DemoOptions as BaseDemoOptions, DEMO_LIMITS } from '@distlimiter/demo-support';
import { DistLimiterModule, RateLimitGuard } from '@distlimiter/nest';
import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { ApiController } from './api.controller.js';
import { HealthController } from './health.controller.js';
import { NotFoundFilter } from './not-found.filter.js';

/** What the demo app is built with. */
export interface DemoOptions extends BaseDemoOptions {
  /** Let Nest log (default false, so the demo's own output stays readable). */
  logger?: boolean;
}

/** The demo's root module: 10/minute per IP app-wide through the global guard. */
@Module({})
export class AppModule {
  /** The module on `backend`, its keys under `prefix`. */
  static register({ backend, prefix }: { backend: Backend; prefix: string }): DynamicModule {
    return {
      module: AppModule,
      imports: [DistLimiterModule.forRoot({ backend, prefix, rate: DEMO_LIMITS.appWide })],
      controllers: [ApiController, HealthController],
      providers: [
        { provide: APP_GUARD, useClass: RateLimitGuard },
        // The 404 body the five demos share; unknown paths are counted before it by @distlimiter/nest.
        { provide: APP_FILTER, useClass: NotFoundFilter },
      ],
    };
  }
}

/** Creates (but does not start) the demo app on Express. */
export async function createApp({
  backend = new MemoryBackend(),
  prefix = DEMO_LIMITS.prefix,
  logger = false,
}: DemoOptions = {}): Promise<INestApplication> {
  return NestFactory.create(AppModule.register({ backend, prefix }), new ExpressAdapter(), {
    logger: logger ? undefined : false,
    // Reject instead of aborting the process, so a bad option shows up as an error with a stack.
    abortOnError: false,
  });
}
