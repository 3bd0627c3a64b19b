import 'reflect-metadata';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpLimiter } from '@distlimiter/core';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { DistLimiterModule, HTTP_LIMITER, RateLimitGuard } from '../src/index.js';
import { type Platform, startNest } from './conformance-app.js';

// A `config` given as a file path is watched by the module's app-wide limiter, which app.close() closes
// (onApplicationShutdown).

const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-nest-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());
const file = path.join(dir, 'limits.json');

/** Replaces the configuration file whole (written aside, renamed over), with the default tier at `rate`. */
function writeConfig(rate: string): void {
  const doc = { version: 1, defaultTier: 'anonymous', tiers: { anonymous: { rate } } };
  writeFileSync(`${file}.tmp`, JSON.stringify(doc));
  renameSync(`${file}.tmp`, file);
}

@Controller()
class XController {
  @Get('x')
  x(): string {
    return 'x';
  }
}

it.each<Platform>(['express', 'fastify'])(
  'on %s, app.close() closes the app-wide limiter, which stops watching a config file path',
  async (platform) => {
    writeConfig('5/minute');
    @Module({
      imports: [DistLimiterModule.forRoot({ config: file })],
      controllers: [XController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    })
    class AppModule {}
    const close = vi.spyOn(HttpLimiter.prototype, 'close');
    const { url, app } = await startNest(AppModule, platform);
    const limiter = app.get<HttpLimiter>(HTTP_LIMITER);
    const limit = async () => (await fetch(`${url}/x`)).headers.get('x-ratelimit-limit');
    expect(await limit()).toBe('5');

    // Watched: a rewrite is in force within the watcher's poll.
    writeConfig('7/minute');
    await expect.poll(limit, { timeout: 10_000, interval: 50 }).toBe('7');

    await app.close();
    expect(close).toHaveBeenCalledTimes(1);
    expect(close.mock.contexts[0]).toBe(limiter);
    let reloads = 0;
    limiter.on('configReloaded', () => reloads++);
    writeConfig('9/minute');
    // Several of the watcher's polls (250 ms): a watcher still running would have reloaded by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(reloads).toBe(0);
  },
);
