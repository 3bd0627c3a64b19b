import { randomBytes } from 'node:crypto';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
// index.js is imported only for a function called at test time, so the module cycle is harmless.
import { redisUrlForTests } from './index.js';
import { stateKeys } from './bookkeeping-keys.js';
import { type RedisInstance, startRedis } from './redis-server.js';

/** The backends every HTTP conformance case runs over. */
export const HTTP_BACKENDS = ['memory', 'redis'] as const;

/** One of HTTP_BACKENDS. */
export type HttpBackendKind = (typeof HTTP_BACKENDS)[number];

/** A fresh backend for one test, on a clock the test moves by hand. */
export interface HttpBackendFixture {
  readonly backend: Backend;
  /** Unique per test, so Redis cases never see each other's keys. */
  readonly prefix: string;
  /** Moves the injected clock forward. */
  advance(ms: number): void;
  /** How many keys the backend holds now: proves the app counted on this backend, not a default one. */
  storedKeys(): Promise<number>;
  /** The names of the keys stored (Redis only; memory keeps no names), sorted. */
  keyNames(): Promise<string[]>;
  /** Deletes the test's keys and releases connections. */
  dispose(): Promise<void>;
}

/** A backend that cannot answer, and how to clean it up afterwards. */
export interface HttpOutageFixture {
  readonly backend: Backend;
  dispose(): Promise<void>;
}

// A round start time, far from 0, so algorithms never see a "first ever" edge case by accident.
const START_MS = 1_700_000_000_000;

/** Builds a fresh backend of `kind` with an injected clock and a unique key prefix. */
export async function createHttpBackend(kind: HttpBackendKind): Promise<HttpBackendFixture> {
  let now = START_MS;
  const clock = () => now;
  const prefix = `conf-${randomBytes(6).toString('hex')}`;
  const advance = (ms: number) => {
    now += ms;
  };
  if (kind === 'memory') {
    const backend = new MemoryBackend({ clock });
    return {
      backend,
      prefix,
      advance,
      storedKeys: async () => backend.size,
      keyNames: async () => {
        throw new Error('a MemoryBackend keeps no key names');
      },
      dispose: () => backend.close(),
    };
  }
  const client = new Redis(redisUrlForTests(), { maxRetriesPerRequest: 1 });
  const backend = new RedisBackend({ client, clock });
  // Derived (per-route) limiters may extend the prefix, so match anything that starts with it.
  const ours = async () => stateKeys(await client.keys(`${prefix}*`));
  return {
    backend,
    prefix,
    advance,
    storedKeys: async () => (await ours()).length,
    keyNames: async () => (await ours()).sort(),
    async dispose() {
      const keys = await ours();
      if (keys.length) await client.del(...keys);
      await backend.close();
      await client.quit();
    },
  };
}

// Stands in for a store that accepted the connection and then went silent, for the memory run.
class StalledBackend implements Backend {
  evaluate(): Promise<never> {
    return new Promise<never>(() => {});
  }
  delete(): Promise<void> {
    return new Promise<void>(() => {});
  }
  async close(): Promise<void> {}
}

/**
 * A backend of `kind` that fails: 'down' rejects at once (a closed MemoryBackend, or Redis on a stopped
 * server), 'hung' never answers (a stalled store, or a SIGSTOPped redis-server).
 */
export async function createOutage(
  kind: HttpBackendKind,
  mode: 'down' | 'hung',
  // A RedisBackend bounds its own calls (every limiter on it shares the deadline), so it gets the time here.
  timeoutMs?: number,
): Promise<HttpOutageFixture> {
  if (kind === 'memory') {
    if (mode === 'hung') return { backend: new StalledBackend(), dispose: async () => {} };
    const backend = new MemoryBackend();
    await backend.close();
    return { backend, dispose: async () => {} };
  }
  const server: RedisInstance = await startRedis();
  if (mode === 'down') {
    await server.stop();
    // No offline queue and no retries: every command fails immediately instead of waiting to reconnect.
    const client = new Redis(server.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    const backend = new RedisBackend({ client, timeoutMs });
    return {
      backend,
      async dispose() {
        await backend.close();
        client.disconnect();
      },
    };
  }
  const client = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  await client.ping();
  server.pause();
  const backend = new RedisBackend({ client, timeoutMs });
  return {
    backend,
    async dispose() {
      await backend.close();
      server.resume();
      client.disconnect();
      await server.stop();
    },
  };
}
