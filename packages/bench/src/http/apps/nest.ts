import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { DistLimiterModule, RateLimitGuard } from '@distlimiter/nest';
import {
  type CanActivate,
  Controller,
  type DynamicModule,
  Get,
  Injectable,
  type INestApplication,
  Module,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { HELLO, HOUR_MS, OUR_RATE, PEER_LIMIT, type StartApp, type Variant } from './types.js';

@Controller()
class HelloController {
  @Get()
  hello(): string {
    return HELLO;
  }
}

/** The `noop` floor: a global guard that lets everything through. */
@Injectable()
class AllowAllGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

function appModule(variant: Variant): DynamicModule {
  const imports: DynamicModule[] = [];
  const providers = [];
  if (variant === 'ours') {
    imports.push(DistLimiterModule.forRoot({ rate: OUR_RATE }));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  if (variant === 'quiet') {
    imports.push(DistLimiterModule.forRoot({ rate: OUR_RATE, headers: false }));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  if (variant === 'noop') providers.push({ provide: APP_GUARD, useClass: AllowAllGuard });
  if (variant === 'peer') {
    imports.push(ThrottlerModule.forRoot([{ ttl: HOUR_MS, limit: PEER_LIMIT }]));
    providers.push({ provide: APP_GUARD, useClass: ThrottlerGuard });
  }
  return { module: AppModule, imports, providers, controllers: [HelloController] };
}

@Module({})
class AppModule {}

async function listen(app: INestApplication): Promise<number> {
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as AddressInfo).port;
}

/** NestJS on platform-express, with RateLimitGuard or ThrottlerGuard (memory storage) as APP_GUARD. */
export const startNestExpress: StartApp = async (variant) =>
  listen(await NestFactory.create(appModule(variant), { logger: false }));

/** NestJS on platform-fastify, likewise. */
export const startNestFastify: StartApp = async (variant) =>
  listen(await NestFactory.create(appModule(variant), new FastifyAdapter(), { logger: false }));
