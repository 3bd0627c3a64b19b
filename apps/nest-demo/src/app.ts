import 'reflect-metadata';
import type { Backend } from '@distlimiter/core';
import { DistLimiterModule, RateLimitGuard } from '@distlimiter/nest';
import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { ApiController } from './api.controller.js';
import { HealthController } from './health.controller.js';

/** What the demo app is built on. */
export interface DemoOptions {
  /** Where counts live; the caller owns it and closes it after the app. */
  backend: Backend;
  /** Key namespace (default "dl"), so runs sharing one Redis can keep apart. */
  prefix?: string;
  /** Let Nest log (default false, so the demo's own output stays readable). */
  logger?: boolean;
}

/** The demo's root module: 10/minute per IP app-wide, through the global guard. */
@Module({})
export class AppModule {
  /** The module on `backend`. */
  static register({ backend, prefix }: Pick<DemoOptions, 'backend' | 'prefix'>): DynamicModule {
    return {
      module: AppModule,
      imports: [DistLimiterModule.forRoot({ rate: '10/minute', backend, prefix })],
      controllers: [ApiController, HealthController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    };
  }
}

/** Creates (but does not start) the demo app on Express. */
export async function createApp(options: DemoOptions): Promise<INestApplication> {
  return NestFactory.create(AppModule.register(options), new ExpressAdapter(), {
    logger: options.logger ? undefined : false,
    // Reject instead of aborting the process, so a bad option shows up as an error with a stack.
    abortOnError: false,
  });
}
