import 'reflect-metadata';
import type { HttpLimitOptions } from '@distlimiter/core';
import type { AdminTokens } from '@distlimiter/core/admin';
import {
  type DemoOptions as BaseDemoOptions,
  DEMO_ADMIN_PATH,
  demoLimitOptions,
} from '@distlimiter/demo-support';
import { DistLimiterAdminModule, DistLimiterModule, RateLimitGuard } from '@distlimiter/nest';
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

/**
 * The demo's root module: one app-wide limiter, following the configuration, through the global guard; with
 * admin tokens, the admin API at /admin (a controller the guard skips: it has its own limit).
 */
@Module({})
export class AppModule {
  /** The module with the app-wide limiter's options and the admin API's tokens. */
  static register(options: HttpLimitOptions, adminTokens?: AdminTokens): DynamicModule {
    const admin =
      adminTokens === undefined
        ? []
        : [DistLimiterAdminModule.forRoot({ path: DEMO_ADMIN_PATH.slice(1), tokens: adminTokens })];
    return {
      module: AppModule,
      imports: [DistLimiterModule.forRoot(options), ...admin],
      controllers: [ApiController, HealthController],
      providers: [
        { provide: APP_GUARD, useClass: RateLimitGuard },
        // The 404 body the five demos share; unknown paths are counted before it by @distlimiter/nest.
        { provide: APP_FILTER, useClass: NotFoundFilter },
      ],
    };
  }
}

/** Creates (but does not start) the demo app on Express; `app.close()` closes the limiter. */
export async function createApp({ logger = false, ...options }: DemoOptions = {}): Promise<INestApplication> {
  return NestFactory.create(
    AppModule.register(demoLimitOptions(options), options.adminTokens),
    new ExpressAdapter(),
    {
      logger: logger ? undefined : false,
      // Reject instead of aborting the process, so a bad option shows up as an error with a stack.
      abortOnError: false,
    },
  );
}
