import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenOn, OpenServers } from '@distlimiter/testkit';
import Koa from 'koa';
import { afterAll, afterEach, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';

// A `config` given as a file path is watched by the limiter, which stops watching on `limiter.close()`:
// Koa has no close hook, so the app calls it.

const servers = new OpenServers();
afterEach(() => servers.closeAll());
const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-koa-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'limits.json');

/** Replaces the configuration file whole (written aside, renamed over), with the default tier at `rate`. */
function writeConfig(rate: string): void {
  const doc = { version: 1, defaultTier: 'anonymous', tiers: { anonymous: { rate } } };
  writeFileSync(`${file}.tmp`, JSON.stringify(doc));
  renameSync(`${file}.tmp`, file);
}

it('limiter.close() stops watching a config file path', async () => {
  writeConfig('5/minute');
  const middleware = rateLimit({ config: file });
  const app = new Koa();
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = 'x';
  });
  const url = await servers.add(listenOn(app.listen(0, '127.0.0.1')));
  const limit = async () => (await fetch(`${url}/x`)).headers.get('x-ratelimit-limit');
  expect(await limit()).toBe('5');

  // Watched: a rewrite is in force within the watcher's poll.
  writeConfig('7/minute');
  await expect.poll(limit, { timeout: 10_000, interval: 50 }).toBe('7');

  await middleware.limiter.close();
  let reloads = 0;
  middleware.limiter.on('configReloaded', () => reloads++);
  writeConfig('9/minute');
  // Several of the watcher's polls (250 ms): a watcher still running would have reloaded by now.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(reloads).toBe(0);
  expect(await limit()).toBe('7');
});
