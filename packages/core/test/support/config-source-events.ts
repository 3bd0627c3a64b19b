import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigSource, ConfigSourceEvents } from '../../src/policy/source/config-source.js';

/** A generous bound for anything that must happen within 1 s: a miss fails, the delay itself is only reported. */
export const BOUND_MS = 10_000;

/** An event and how long after `since` (performance.now()) it came. */
export interface Timed<A> {
  readonly arg: A;
  readonly ms: number;
}

/**
 * The next `name` event of `source` (register it before the change), with its delay after `since`; rejects
 * when none came within `boundMs`.
 */
export function nextEvent<K extends keyof ConfigSourceEvents>(
  source: ConfigSource,
  name: K,
  since: () => number,
  boundMs = BOUND_MS,
): Promise<Timed<ConfigSourceEvents[K][0]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(name, listener as never);
      reject(new Error(`no ${name} event within ${boundMs} ms`));
    }, boundMs);
    const listener = (arg: ConfigSourceEvents[K][0]) => {
      clearTimeout(timer);
      source.off(name, listener as never);
      resolve({ arg, ms: performance.now() - since() });
    };
    source.on(name, listener as never);
  });
}

/** Every event `source` emits from now on, in order, as [name, argument]. */
export function recordEvents(source: ConfigSource): [keyof ConfigSourceEvents, unknown][] {
  const events: [keyof ConfigSourceEvents, unknown][] = [];
  for (const name of ['reloaded', 'rejected', 'sourceError'] as const) {
    source.on(name, (arg: unknown) => events.push([name, arg]));
  }
  return events;
}

/** A temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-source-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let serial = 0;

/** Replaces `file` atomically: the text goes to a new file in the same directory, renamed over it. */
export function replaceFile(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++serial}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** Re-points the symlink `link` at `target` atomically: a new link renamed over it. */
export function swapSymlink(link: string, target: string): void {
  const temp = path.join(path.dirname(link), `.${path.basename(link)}.${process.pid}.${++serial}.link`);
  symlinkSync(target, temp);
  renameSync(temp, link);
}

/** Resolves after `ms`: only to give a watcher time to show that it does nothing. */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
