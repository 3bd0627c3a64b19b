import 'reflect-metadata';
import { HttpLimiter, InvalidOptionError, InvalidRateError, RedisBackend } from '@distlimiter/core';
import {
  type ArgumentsHost,
  Catch,
  Controller,
  Get,
  Module,
  NotFoundException,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { redisUrlForTests } from '@distlimiter/testkit';
import {
  DistLimiterModule,
  HTTP_LIMITER,
  RATE_LIMIT_OPTIONS,
  RateLimit,
  RateLimitGuard,
  SkipRateLimit,
} from '../src/index.js';
import { type Platform, type RunningApp, startNest } from './conformance-app.js';

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function start(module: new (...args: never[]) => unknown, platform: Platform): Promise<string> {
  const app = await startNest(module, platform);
  running.push(app);
  return app.url;
}

/** Sends `n` GETs in sequence (with `init`, e.g. headers) and returns their statuses. */
async function statuses(url: string, n: number, init?: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** GET /hello answers "hello": the route most tests here limit. */
@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }
}

/** An app with an app-wide limit of `rate` through APP_GUARD, and the given controllers. */
function appModule(rate: string, controllers: (new (...args: never[]) => unknown)[]) {
  @Module({
    imports: [DistLimiterModule.forRoot({ rate })],
    controllers,
    providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
  })
  class AppModule {}
  return AppModule;
}

describe.each<Platform>(['express', 'fastify'])('nest on %s', (platform) => {
  it('refuses with JSON, status 429 and the rate headers once the limit is spent', async () => {
    const url = await start(appModule('2/minute', [HelloController]), platform);
    const first = await fetch(`${url}/hello`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('hello');
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    await fetch(`${url}/hello`).then((r) => r.arrayBuffer());
    const refused = await fetch(`${url}/hello`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    const body = (await refused.json()) as { error: string; retryAfter: number };
    expect(body.error).toBe('Too Many Requests');
    expect(body.retryAfter).toBe(Number(refused.headers.get('retry-after')));
  });

  it("keys by the platform's req.ip, so X-Forwarded-For counts only when its trust proxy setting says so", async () => {
    const forwardedFor = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
    const trusting = await startNest(appModule('1/minute', [HelloController]), platform, {
      trustProxy: true,
    });
    running.push(trusting);
    expect(await statuses(`${trusting.url}/hello`, 2, forwardedFor('203.0.113.1'))).toEqual([200, 429]);
    expect(await statuses(`${trusting.url}/hello`, 1, forwardedFor('203.0.113.2'))).toEqual([200]);
    // Without the header, the socket's address: one more client, with a count of its own.
    expect(await statuses(`${trusting.url}/hello`, 2)).toEqual([200, 429]);

    const plain = await start(appModule('1/minute', [HelloController]), platform);
    // Not trusted, the header is ignored: both "clients" are the socket's address, one count.
    expect(await statuses(`${plain}/hello`, 1, forwardedFor('203.0.113.1'))).toEqual([200]);
    expect(await statuses(`${plain}/hello`, 1, forwardedFor('203.0.113.2'))).toEqual([429]);
    expect(await statuses(`${plain}/hello`, 1)).toEqual([429]);
  });

  it('counts a 404 thrown by a routed handler once, and an unknown path once, against the app-wide limit', async () => {
    @Controller()
    class MissingController {
      @Get('missing')
      missing(): never {
        throw new NotFoundException('no such item');
      }
    }
    const url = await start(appModule('3/minute', [MissingController]), platform);
    const remaining: (string | null)[] = [];
    for (const path of ['/missing', '/nowhere', '/missing']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(404);
      await res.arrayBuffer();
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    expect(await statuses(`${url}/nowhere`, 1)).toEqual([429]);
  });

  it("counts unknown paths while the app's own exception filter still shapes the 404", async () => {
    class NotFoundBody {
      catch(_e: NotFoundException, host: ArgumentsHost): void {
        const reply = host.switchToHttp().getResponse();
        const body = { error: 'Not Found' };
        if (typeof reply.json === 'function') reply.status(404).json(body);
        else reply.code(404).send(body);
      }
    }
    Catch(NotFoundException)(NotFoundBody);
    @Module({
      imports: [DistLimiterModule.forRoot({ rate: '2/minute' })],
      providers: [
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: NotFoundBody },
      ],
    })
    class AppModule {}
    const url = await start(AppModule, platform);
    for (const left of ['1', '0']) {
      const res = await fetch(`${url}/nowhere`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'Not Found' });
      expect(res.headers.get('x-ratelimit-remaining')).toBe(left);
    }
    const refused = await fetch(`${url}/nowhere`);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'Too Many Requests' });
  });

  it('counts same-named controllers on different paths apart', async () => {
    // Two feature modules may each declare an ItemsController; their decorated handlers share a name too.
    const itemsController = (path: string) => {
      @Controller(path)
      class ItemsController {
        @Get()
        @RateLimit('2/minute')
        list(): string {
          return path;
        }
      }
      return ItemsController;
    };
    const url = await start(
      appModule('100/minute', [itemsController('shop'), itemsController('admin')]),
      platform,
    );
    expect(await statuses(`${url}/shop`, 3)).toEqual([200, 200, 429]);
    expect(await statuses(`${url}/admin`, 3)).toEqual([200, 200, 429]);
  });

  it('lets a @SkipRateLimit() handler through uncounted, without headers', async () => {
    @Controller()
    class MixedController {
      @Get('limited')
      limited(): string {
        return 'limited';
      }

      @Get('free')
      @SkipRateLimit()
      free(): string {
        return 'free';
      }
    }
    const url = await start(appModule('2/minute', [MixedController]), platform);
    const free = await fetch(`${url}/free`);
    expect(free.headers.get('x-ratelimit-limit')).toBeNull();
    expect(await statuses(`${url}/free`, 4)).toEqual([200, 200, 200, 200]);
    // The free requests spent nothing of the shared count.
    expect(await statuses(`${url}/limited`, 3)).toEqual([200, 200, 429]);
  });

  it('lets every handler of a @SkipRateLimit() controller through, unless the handler has its own limit', async () => {
    @Controller('open')
    @SkipRateLimit()
    class OpenController {
      @Get('a')
      a(): string {
        return 'a';
      }

      @Get('b')
      @RateLimit('1/minute')
      b(): string {
        return 'b';
      }
    }
    const url = await start(appModule('1/minute', [OpenController]), platform);
    expect(await statuses(`${url}/open/a`, 3)).toEqual([200, 200, 200]);
    expect(await statuses(`${url}/open/b`, 2)).toEqual([200, 429]);
  });

  it('gives a controller-level @RateLimit one count for its handlers, apart from the app-wide count', async () => {
    @Controller('team')
    @RateLimit({ rate: '3/minute' })
    class TeamController {
      @Get('a')
      a(): string {
        return 'a';
      }

      @Get('b')
      b(): string {
        return 'b';
      }

      @Get('own')
      @RateLimit('1/minute')
      own(): string {
        return 'own';
      }
    }
    @Controller()
    class PlainController {
      @Get('plain')
      plain(): string {
        return 'plain';
      }
    }
    const url = await start(appModule('1/minute', [TeamController, PlainController]), platform);
    expect(await statuses(`${url}/team/a`, 2)).toEqual([200, 200]);
    const third = await fetch(`${url}/team/b`);
    expect(third.status).toBe(200);
    expect(third.headers.get('x-ratelimit-limit')).toBe('3');
    expect(third.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await statuses(`${url}/team/b`, 1)).toEqual([429]);
    // The handler's own limit wins over the controller's and counts separately.
    expect(await statuses(`${url}/team/own`, 2)).toEqual([200, 429]);
    // None of that touched the app-wide count.
    expect(await statuses(`${url}/plain`, 2)).toEqual([200, 429]);
  });

  it('limits only where @UseGuards(RateLimitGuard) is applied when there is no APP_GUARD', async () => {
    @Controller()
    class GuardedController {
      @Get('guarded')
      @UseGuards(RateLimitGuard)
      guarded(): string {
        return 'guarded';
      }

      @Get('unguarded')
      unguarded(): string {
        return 'unguarded';
      }
    }
    @Module({ imports: [DistLimiterModule.forRoot({ rate: '1/minute' })], controllers: [GuardedController] })
    class AppModule {}
    const url = await start(AppModule, platform);
    expect(await statuses(`${url}/guarded`, 2)).toEqual([200, 429]);
    expect(await statuses(`${url}/unguarded`, 3)).toEqual([200, 200, 200]);
  });
});

describe('DistLimiterModule', () => {
  it('forRootAsync builds the options with injected providers, once, and shares one limiter', async () => {
    const CONFIG = Symbol('config');
    let calls = 0;
    @Module({ providers: [{ provide: CONFIG, useValue: { rate: '2/minute' } }], exports: [CONFIG] })
    class ConfigModule {}
    @Module({
      imports: [
        DistLimiterModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (config: { rate: string }) => {
            calls++;
            return { rate: config.rate, policyName: 'async', headers: 'ietf' as const };
          },
        }),
      ],
      controllers: [HelloController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    })
    class AppModule {}
    const app = await startNest(AppModule, 'express');
    running.push(app);
    expect(calls).toBe(1);
    expect(app.app.get(RATE_LIMIT_OPTIONS)).toEqual({
      rate: '2/minute',
      policyName: 'async',
      headers: 'ietf',
    });
    expect(app.app.get(HTTP_LIMITER)).toBeInstanceOf(HttpLimiter);
    const res = await fetch(`${app.url}/hello`);
    expect(res.headers.get('ratelimit-policy')).toMatch(/^"?async"?;/);
    expect(await statuses(`${app.url}/hello`, 2)).toEqual([200, 429]);
  });

  it('forRootAsync can connect a Redis backend first', async () => {
    const prefix = `nest${process.pid}${Date.now()}`;
    let backend: RedisBackend | undefined;
    @Module({
      imports: [
        DistLimiterModule.forRootAsync({
          useFactory: () => {
            backend = new RedisBackend({ client: redisUrlForTests() });
            return { rate: '2/minute', backend, prefix };
          },
        }),
      ],
      controllers: [HelloController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    })
    class AppModule {}
    try {
      const url = await start(AppModule, 'fastify');
      expect(await statuses(`${url}/hello`, 3)).toEqual([200, 200, 429]);
    } finally {
      await backend?.close();
    }
  });

  it('rejects bad forRoot options when the module is compiled, naming the field', async () => {
    const compiling = Test.createTestingModule({
      imports: [DistLimiterModule.forRoot({ rate: 'ten per minute' })],
    }).compile();
    await expect(compiling).rejects.toBeInstanceOf(InvalidRateError);
    const unknown = Test.createTestingModule({
      imports: [DistLimiterModule.forRoot({ rat: '5/minute' } as never)],
    }).compile();
    await expect(unknown).rejects.toMatchObject({ name: 'InvalidOptionError', field: 'rat' });
  });

  it('rejects bad forRootAsync options when the module is compiled', async () => {
    const compiling = Test.createTestingModule({
      imports: [DistLimiterModule.forRootAsync({ useFactory: async () => ({ headers: 'all' as never }) })],
    }).compile();
    await expect(compiling).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('rejects a bad @RateLimit() at app.init(), before any request', async () => {
    @Controller()
    class BadController {
      @Get('bad')
      @RateLimit({ rate: '5/fortnight' })
      bad(): string {
        return 'bad';
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [DistLimiterModule.forRoot({ rate: '5/minute' })],
      controllers: [BadController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const error = await app.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    await app.close();
    expect(error).toBeInstanceOf(InvalidRateError);
    expect((error as InvalidRateError).field).toBe('rate');
  });

  it('lets non-HTTP contexts (microservices, websockets) through without counting', async () => {
    @Controller()
    class RpcController {
      handle(): string {
        return 'rpc';
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [DistLimiterModule.forRoot({ rate: '1/minute' })],
    }).compile();
    const guard = moduleRef.get(RateLimitGuard);
    for (const type of ['rpc', 'ws'] as const) {
      const context = new ExecutionContextHost([{}, {}], RpcController, RpcController.prototype.handle);
      context.setType(type);
      expect(await guard.canActivate(context)).toBe(true);
      expect(await guard.canActivate(context)).toBe(true);
    }
    await moduleRef.close();
  });
});
