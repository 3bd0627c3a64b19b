import type { AlgorithmStep, StepOutcome } from '../algorithms/types.js';
import { shareOf } from '../algorithms/share.js';
import { MemoryBackend } from './memory.js';
import type { Backend, Keyspace } from './types.js';

// A keyspace with the same names and key names as the shared one, each member cut to one instance's share.
class ShareKeyspace implements Keyspace {
  readonly members;
  readonly names;
  constructor(
    private readonly shared: Keyspace,
    readonly instances: number,
  ) {
    this.members = shared.members.map((m) => shareOf(m, instances));
    this.names = shared.names;
  }
  keys(key: string): string[] {
    return this.shared.keys(key);
  }
}

/**
 * Where limiters decide while their backend cannot (`onBackendError: 'local'`): in this process's memory,
 * each limit cut to one instance's share (see `shareOf`). One per backend, so every limiter sharing a
 * backend shares it too. Counts made here stay here: they are never written to the backend, and they are
 * forgotten when the backend is back (`clear`), so the next outage starts from fresh local counts.
 */
export class LocalFallback {
  private readonly memory = new MemoryBackend();
  private readonly spaces = new WeakMap<Keyspace, ShareKeyspace>();

  /**
   * Runs a decision on this instance's share of `space`'s limits, `instances` being the fleet's size, and
   * returns the shares that decided (their limits are the ones in force) with their outcomes.
   */
  evaluate(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
    instances: number,
  ): { members: readonly AlgorithmStep[]; outcomes: readonly StepOutcome[] } {
    let local = this.spaces.get(space);
    if (local === undefined || local.instances !== instances) {
      local = new ShareKeyspace(space, instances);
      this.spaces.set(space, local);
    }
    return { members: local.members, outcomes: this.memory.evaluate(local, key, cost, peek) };
  }

  /** Forgets `key`'s local counts in `space`. */
  delete(space: Keyspace, key: string): void {
    this.memory.delete(space, key);
  }

  /** Forgets every local count (the backend is back and decides again). */
  clear(): void {
    this.memory.clear();
  }
}

const fallbacks = new WeakMap<Backend, LocalFallback>();

/** The local fallback of `backend`, one per backend object, made on first use. */
export function localFallbackOf(backend: Backend): LocalFallback {
  let f = fallbacks.get(backend);
  if (f === undefined) {
    f = new LocalFallback();
    fallbacks.set(backend, f);
    // A backend that says when it is back (RedisBackend, CircuitBreaker) has local counts dropped then.
    const events = backend as Partial<{ on(name: 'close', listener: () => void): unknown }>;
    if (typeof events.on === 'function') events.on('close', () => f!.clear());
  }
  return f;
}
