import type { AlgorithmStep, StepOutcome, StepResult } from '../algorithms/types.js';
import { ClosedError, InvalidOptionError } from '../errors.js';
import { positiveInteger } from '../policy/validate.js';
import type { Backend, Clock } from './types.js';

/** Options of the embedded memory backend. */
export interface MemoryBackendOptions {
  /** Most keys held at once; the least recently used is evicted first (default 1,000,000). */
  maxKeys?: number;
  /** Time source in ms (default `Date.now`); inject one in tests. */
  clock?: Clock;
}

// A node of the recency list; a class so every entry shares one shape (V8 keeps property access fast).
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(
    readonly key: string,
    public state: number[],
    public expiresAt: number,
  ) {}
}

// Expired entries are dropped lazily: on read, and a few at a time from the LRU end on each write.
// No timer runs, so the backend never keeps a process alive and costs nothing while idle.
const SWEEP_PER_WRITE = 2;

/**
 * Embedded backend for one process, development and tests. Bounded (`maxKeys`, least recently used
 * evicted first), state expires when it no longer matters, and no timer keeps the process alive.
 */
export class MemoryBackend implements Backend {
  /** Most keys held at once. */
  readonly maxKeys: number;
  private readonly clock: Clock;
  private entries = new Map<string, Entry>();
  // Recency list, least recently written first. Kept by hand rather than by re-inserting into the Map:
  // a Map re-inserted on every write leaves deleted slots at its front, and iterating from there to find
  // the oldest entry costs O(deleted slots) per write.
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('MemoryBackend options', options, 'an options object');
    }
    this.maxKeys = options.maxKeys === undefined ? 1_000_000 : positiveInteger(options.maxKeys, 'maxKeys');
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new InvalidOptionError('clock', options.clock, 'a function returning milliseconds');
    }
    this.clock = options.clock ?? Date.now;
  }

  /** Number of live (not yet swept) keys; expired ones may linger until touched or swept. */
  get size(): number {
    return this.entries.size;
  }

  evaluate(
    keys: readonly string[],
    members: readonly AlgorithmStep[],
    cost: number,
    peek: boolean,
  ): StepOutcome[] {
    if (this.closed) throw new ClosedError('MemoryBackend');
    const now = this.clock();
    if (members.length === 1) return [this.one(keys[0]!, members[0]!, now, cost, peek)];
    const results: StepResult[] = [];
    let all = true;
    for (let i = 0; i < members.length; i++) {
      const r = members[i]!.step(this.read(keys[i]!, now), now, cost);
      results.push(r);
      if (!r.allowed) all = false;
    }
    if (all && !peek) for (let i = 0; i < results.length; i++) this.write(keys[i]!, results[i]!, now);
    return results;
  }

  private one(key: string, member: AlgorithmStep, now: number, cost: number, peek: boolean): StepResult {
    const r = member.step(this.read(key, now), now, cost);
    if (r.allowed && !peek) this.write(key, r, now);
    return r;
  }

  private read(key: string, now: number): number[] | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.remove(e);
      return undefined;
    }
    return e.state;
  }

  private write(key: string, r: StepResult, now: number): void {
    const e = this.entries.get(key);
    if (r.state === null || r.ttlMs <= 0) {
      if (e !== undefined) this.remove(e);
      return;
    }
    if (e === undefined) {
      const added = new Entry(key, r.state, now + r.ttlMs);
      this.entries.set(key, added);
      this.append(added);
    } else {
      e.state = r.state;
      e.expiresAt = now + r.ttlMs;
      if (e !== this.tail) {
        this.unlink(e);
        this.append(e);
      }
    }
    this.sweep(now);
  }

  // Evicts over maxKeys, then drops up to SWEEP_PER_WRITE expired entries, always from the oldest end.
  private sweep(now: number): void {
    const entries = this.entries;
    let budget = SWEEP_PER_WRITE;
    for (let e = this.head; e !== null; e = this.head) {
      if (entries.size > this.maxKeys) {
        this.remove(e);
        continue;
      }
      if (budget-- <= 0 || e.expiresAt > now) break;
      this.remove(e);
    }
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail === null) this.head = e;
    else this.tail.next = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev === null) this.head = e.next;
    else e.prev.next = e.next;
    if (e.next === null) this.tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = null;
    e.next = null;
  }

  private remove(e: Entry): void {
    this.entries.delete(e.key);
    this.unlink(e);
  }

  delete(keys: readonly string[]): void {
    if (this.closed) throw new ClosedError('MemoryBackend');
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e !== undefined) this.remove(e);
    }
  }

  /** Drops every key. */
  clear(): void {
    this.entries.clear();
    this.head = null;
    this.tail = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries = new Map();
    this.head = null;
    this.tail = null;
  }
}
