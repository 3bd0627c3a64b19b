import { EventEmitter } from 'node:events';
import type { Clock } from '../backends/types.js';
import type { ControlStore, StreamEntry } from './store.js';

// What one key holds, and until when (Infinity: no TTL). Expired keys are dropped when touched, and a
// sweep on writes keeps keys nobody reads again from piling up.
interface Slot<T> {
  value: T;
  expiresAt: number;
}

// Writes between sweeps of expired keys: cheap enough to ignore, frequent enough to bound memory.
const SWEEP_EVERY = 1024;

/** The control store in this process's memory: for MemoryBackend, tests and a single instance. */
export class MemoryControlStore implements ControlStore {
  readonly kind = 'memory' as const;
  private readonly slots = new Map<string, Slot<unknown>>();
  private readonly channels = new EventEmitter();
  private writes = 0;
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly clock: Clock = Date.now) {
    // Any number of subscribers per channel is legitimate here (one per limiter or admin handler).
    this.channels.setMaxListeners(0);
  }

  async hashAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    const hash = this.slot(key, () => new Map<string, number>(), ttlMs);
    for (const [field, n] of Object.entries(by)) hash.set(field, (hash.get(field) ?? 0) + n);
  }

  async hashesRead(keys: readonly string[]): Promise<Record<string, string>[]> {
    return keys.map((k) => {
      const hash = this.live<Map<string, unknown>>(k);
      return hash === undefined ? {} : Object.fromEntries([...hash].map(([f, v]) => [f, String(v)]));
    });
  }

  async hashSet(key: string, field: string, value: string): Promise<void> {
    this.slot(key, () => new Map<string, unknown>()).set(field, value);
  }

  async hashDelete(key: string, field: string): Promise<boolean> {
    const hash = this.live<Map<string, unknown>>(key);
    if (hash === undefined) return false;
    const had = hash.delete(field);
    if (hash.size === 0) this.slots.delete(key);
    return had;
  }

  async scoresAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    return this.hashAdd(key, by, ttlMs);
  }

  async scoresTop(keys: readonly string[], n: number): Promise<[string, number][][]> {
    return keys.map((k) => {
      const set = this.live<Map<string, number>>(k);
      if (set === undefined) return [];
      return [...set].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).slice(0, n);
    });
  }

  async counterAdd(key: string, by: number, ttlMs: number): Promise<number> {
    const existing = this.live<number>(key);
    const value = (existing ?? 0) + by;
    if (existing === undefined) this.put(key, value, ttlMs);
    else this.slots.get(key)!.value = value;
    return value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.put(key, value, ttlMs);
  }

  async get(key: string): Promise<string | undefined> {
    return this.live<string>(key);
  }

  async delete(...keys: string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.live(k) !== undefined && this.slots.delete(k)) n++;
    return n;
  }

  async streamAdd(key: string, fields: Readonly<Record<string, string>>, maxLen: number): Promise<string> {
    const stream = this.slot(key, (): StreamEntry[] => []);
    const at = Math.max(this.clock(), this.lastMs);
    this.seq = at === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = at;
    const id = `${at}-${this.seq}`;
    stream.push({ id, at, fields: { ...fields } });
    if (stream.length > maxLen) stream.splice(0, stream.length - maxLen);
    return id;
  }

  async streamRead(key: string, sinceMs: number, count: number): Promise<StreamEntry[]> {
    const stream = this.live<StreamEntry[]>(key) ?? [];
    return stream.filter((e) => e.at >= sinceMs).slice(0, count);
  }

  async publish(channel: string, message: string): Promise<void> {
    // Delivered after the caller's turn, as a network round trip would be.
    queueMicrotask(() => this.channels.emit(channel, message));
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    this.channels.on(channel, listener);
    return () => this.channels.off(channel, listener);
  }

  async close(): Promise<void> {
    this.channels.removeAllListeners();
  }

  // The live value at `key`, or a new one from `make`; a ttl given (re)sets the expiry.
  private slot<T>(key: string, make: () => T, ttlMs?: number): T {
    let value = this.live<T>(key);
    if (value === undefined) {
      value = make();
      this.put(key, value, ttlMs);
    } else if (ttlMs !== undefined) {
      this.slots.get(key)!.expiresAt = this.clock() + ttlMs;
    }
    return value;
  }

  private put(key: string, value: unknown, ttlMs: number | undefined): void {
    const now = this.clock();
    this.slots.set(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs });
    if (++this.writes % SWEEP_EVERY === 0) {
      for (const [k, s] of this.slots) if (s.expiresAt <= now) this.slots.delete(k);
    }
  }

  private live<T>(key: string): T | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.clock()) {
      this.slots.delete(key);
      return undefined;
    }
    return slot.value as T;
  }
}
