import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpLimiter } from '@distlimiter/core';
import Fastify from 'fastify';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import distlimiter from '../src/index.js';

// A `config` given as a file path is watched by the plugin's limiter, which app.close() closes (onClose).

const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-fastify-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());
const file = path.join(dir, 'limits.json');

/** Replaces the configuration file whole (written aside, renamed over), with the default tier at `rate`. */
function writeConfig(rate: string): void {
  const doc = { version: 1, defaultTier: 'anonymous', tiers: { anonymous: { rate } } };
  writeFileSync(`${file}.tmp`, JSON.stringify(doc));
  renameSync(`${file}.tmp`, file);
}

it('app.close() closes the limiter, which stops watching a config file path', async () => {
  writeConfig('5/minute');
  const close = vi.spyOn(HttpLimiter.prototype, 'close');
  const app = Fastify();
  await app.register(distlimiter, { config: file });
  app.get('/x', async () => 'x');
  const limit = async () => (await app.inject('/x')).headers['x-ratelimit-limit'];
  expect(await limit()).toBe('5');

  // Watched: a rewrite is in force within the watcher's poll.
  writeConfig('7/minute');
  await expect.poll(limit, { timeout: 10_000, interval: 50 }).toBe('7');

  await app.close();
  expect(close).toHaveBeenCalledTimes(1);
  const limiter = close.mock.contexts[0] as HttpLimiter;
  let reloads = 0;
  limiter.on('configReloaded', () => reloads++);
  writeConfig('9/minute');
  // Several of the watcher's polls (250 ms): a watcher still running would have reloaded by now.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(reloads).toBe(0);
});
