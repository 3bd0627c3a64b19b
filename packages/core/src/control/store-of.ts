import { MemoryBackend } from '../backends/memory.js';
import { RedisBackend } from '../backends/redis.js';
import type { Backend } from '../backends/types.js';
import { MemoryControlStore } from './memory-store.js';
import { RedisControlStore } from './redis-store.js';
import type { ControlStore } from './store.js';

// One store per backend, so every limiter, admin handler and guard on one backend shares it.
const stores = new WeakMap<Backend, ControlStore>();

/**
 * The control store that goes with a backend: on Redis for a RedisBackend (its client, bounded by its
 * timeoutMs), in this process's memory otherwise. Built once per backend.
 */
export function controlStoreOf(backend: Backend): ControlStore {
  let store = stores.get(backend);
  if (store === undefined) {
    store =
      backend instanceof RedisBackend
        ? new RedisControlStore(backend.client, backend.timeoutMs)
        : new MemoryControlStore(backend instanceof MemoryBackend ? backend.clock : undefined);
    stores.set(backend, store);
  }
  return store;
}
