import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpLimiter } from '@distlimiter/core';
import { expect, it, onTestFinished } from 'vitest';

// A `config` given as a file path is watched by the limiter until it is closed. Every adapter closes it
// its own way (the app calls limiter.close(), or the framework's close hook does), so the case is written
// once here and each adapter's close test says only how it mounts the limiter and how it closes.

/** An app limited on a watched config file, as one adapter mounts it. */
export interface WatchingApp {
  /** The X-RateLimit-Limit of a GET /x. */
  limit(): Promise<string | null | undefined>;
  /** Closes as the adapter's users do, and resolves to the limiter that was closed. */
  close(): Promise<HttpLimiter>;
  /** Whether GET /x is still answered once closed: so where only the limiter closes (no close hook). */
  answersAfterClose?: boolean;
}

/** The WatchingApp of an adapter with no close hook: the app closes the limiter itself, and still answers. */
export function closedByTheApp(limiter: HttpLimiter, limit: WatchingApp['limit']): WatchingApp {
  return {
    limit,
    close: async () => {
      await limiter.close();
      return limiter;
    },
    answersAfterClose: true,
  };
}

/** Replaces `file` whole (written aside, renamed over), with the default tier at `rate`. */
function writeConfig(file: string, rate: string): void {
  const doc = { version: 1, defaultTier: 'anonymous', tiers: { anonymous: { rate } } };
  writeFileSync(`${file}.tmp`, JSON.stringify(doc));
  renameSync(`${file}.tmp`, file);
}

/** One test, `title`: the app `mount` starts on a config file follows rewrites until closed, and not after. */
export function itStopsWatchingOnClose(title: string, mount: (file: string) => Promise<WatchingApp>): void {
  it(title, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-close-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'limits.json');
    writeConfig(file, '5/minute');
    const app = await mount(file);
    expect(await app.limit()).toBe('5');

    // Watched: a rewrite is in force within the watcher's poll.
    writeConfig(file, '7/minute');
    await expect.poll(app.limit, { timeout: 10_000, interval: 50 }).toBe('7');

    const limiter = await app.close();
    let reloads = 0;
    limiter.on('configReloaded', () => reloads++);
    writeConfig(file, '9/minute');
    // Several of the watcher's polls (250 ms): a watcher still running would have reloaded by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(reloads).toBe(0);
    if (app.answersAfterClose) expect(await app.limit()).toBe('7');
  });
}
