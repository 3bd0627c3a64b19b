import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { DistLimiterModule, RateLimitGuard } from '@distlimiter/nest';
import {
  type CanActivate,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  Injectable,
  type INestApplication,
  Module,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ourRedisOptions, redisClient, requireRedis } from './redis.js';
import {
  DEFAULT_HEADER_FIELDS,
  HELLO,
  HOUR_MS,
  OUR_RATE,
  PEER_LIMIT,
  type RedisTarget,
  type StartApp,
  TIERED_CONFIG,
  TIERED_EXTRAS,
  type Variant,
} from './types.js';

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

// The platform's response: Express's (Node's) has setHeader, a Fastify reply has header.
interface PlatformResponse {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/** The `noop-headers` floor: a global guard that sets DEFAULT_HEADER_FIELDS and lets everything through. */
@Injectable()
class ConstantHeadersGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const response = context.switchToHttp().getResponse<PlatformResponse>();
    for (const name in DEFAULT_HEADER_FIELDS) {
      const value = DEFAULT_HEADER_FIELDS[name]!;
      if (typeof response.setHeader === 'function') response.setHeader(name, value);
      else response.header?.(name, value);
    }
    return true;
  }
}

/**
 * ThrottlerGuard whose keys start with `prefix`, so the bench can find and remove what one variant wrote:
 * the Redis storage has no prefix option. Overriding a ThrottlerGuard method is how the throttler's docs
 * customise it; this adds one string concatenation to the default key (a hash).
 */
function prefixedThrottlerGuard(prefix: string): typeof ThrottlerGuard {
  @Injectable()
  class PrefixedThrottlerGuard extends ThrottlerGuard {
    protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
      return `${prefix}:${super.generateKey(context, suffix, name)}`;
    }
  }
  return PrefixedThrottlerGuard;
}

function appModule(variant: Variant, redis: RedisTarget | undefined): DynamicModule {
  const imports: DynamicModule[] = [];
  const providers = [];
  if (variant === 'ours-redis-fixed' || variant === 'ours-redis') {
    imports.push(DistLimiterModule.forRoot(ourRedisOptions(variant, requireRedis(variant, redis))));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  if (variant === 'peer-redis') {
    const target = requireRedis(variant, redis);
    const storage = new ThrottlerStorageRedisService(redisClient(target));
    imports.push(ThrottlerModule.forRoot({ throttlers: [{ ttl: HOUR_MS, limit: PEER_LIMIT }], storage }));
    providers.push({ provide: APP_GUARD, useClass: prefixedThrottlerGuard(target.prefix) });
  }
  if (variant === 'ours') {
    imports.push(DistLimiterModule.forRoot({ rate: OUR_RATE }));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  if (variant === 'quiet' || variant === 'both') {
    imports.push(DistLimiterModule.forRoot({ rate: OUR_RATE, headers: variant === 'both' ? 'both' : false }));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  const tiered = TIERED_EXTRAS[variant];
  if (tiered) {
    imports.push(DistLimiterModule.forRoot({ config: TIERED_CONFIG, ...tiered }));
    providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
  }
  if (variant === 'noop') providers.push({ provide: APP_GUARD, useClass: AllowAllGuard });
  if (variant === 'noop-headers') providers.push({ provide: APP_GUARD, useClass: ConstantHeadersGuard });
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

/**
 * NestJS on platform-express, with RateLimitGuard or ThrottlerGuard as APP_GUARD: on memory storage, or on
 * Redis (ours on RedisBackend, the throttler on @nest-lab/throttler-storage-redis over ioredis).
 */
export const startNestExpress: StartApp = async (variant, redis) =>
  listen(await NestFactory.create(appModule(variant, redis), { logger: false }));

/** NestJS on platform-fastify, likewise. */
export const startNestFastify: StartApp = async (variant, redis) =>
  listen(await NestFactory.create(appModule(variant, redis), new FastifyAdapter(), { logger: false }));
