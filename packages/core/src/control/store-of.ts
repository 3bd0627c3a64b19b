import { innermostBackend } from '../backends/circuit-breaker.js';
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
 * timeoutMs), also under a CircuitBreaker, in this process's memory otherwise. Built once per backend.
 */
export function controlStoreOf(backend: Backend): ControlStore {
  // A CircuitBreaker around a backend shares the inner backend's store: the state lives where it does.
  const inner = innermostBackend(backend);
  let store = stores.get(inner);
  if (store === undefined) {
    store =
      inner instanceof RedisBackend
        ? new RedisControlStore(inner.client, inner.timeoutMs)
        : new MemoryControlStore(inner instanceof MemoryBackend ? inner.clock : undefined);
    stores.set(inner, store);
  }
  return store;
}
