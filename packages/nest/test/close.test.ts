import 'reflect-metadata';
import { HttpLimiter } from '@distlimiter/core';
import { itStopsWatchingOnClose } from '@distlimiter/testkit';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { afterEach, expect, vi } from 'vitest';
import { DistLimiterModule, HTTP_LIMITER, RateLimitGuard } from '../src/index.js';
import { type Platform, startNest } from './conformance-app.js';

// The module's app-wide limiter is closed by app.close() (onApplicationShutdown): the one closed is the
// one the module provides.

afterEach(() => vi.restoreAllMocks());

@Controller()
class XController {
  @Get('x')
  x(): string {
    return 'x';
  }
}

for (const platform of ['express', 'fastify'] satisfies Platform[]) {
  itStopsWatchingOnClose(
    `on ${platform}, app.close() closes the app-wide limiter, which stops watching a config file path`,
    async (file) => {
      @Module({
        imports: [DistLimiterModule.forRoot({ config: file })],
        controllers: [XController],
        providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
      })
      class AppModule {}
      const close = vi.spyOn(HttpLimiter.prototype, 'close');
      const { url, app } = await startNest(AppModule, platform);
      const limiter = app.get<HttpLimiter>(HTTP_LIMITER);
      return {
        limit: async () => (await fetch(`${url}/x`)).headers.get('x-ratelimit-limit'),
        close: async () => {
          await app.close();
          expect(close).toHaveBeenCalledTimes(1);
          expect(close.mock.contexts[0]).toBe(limiter);
          return limiter;
        },
      };
    },
  );
}
