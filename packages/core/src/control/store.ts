// The shared state of the control plane (statistics, IP blocks, audit events): small data structures
// every instance reads and writes through the backend, apart from the decisions' own keys. Two stores
// implement it: in this process's memory (MemoryBackend, tests, one instance), and on Redis (RedisBackend,
// standalone or Cluster: every key is used on its own, so a Cluster may place each anywhere).

/** One entry of a capped stream: its id (ms-seq, increasing) and its fields. */
export interface StreamEntry {
  /** "<ms>-<seq>", ordered by time of writing. */
  readonly id: string;
  /** Milliseconds part of the id: when it was written (the store's clock). */
  readonly at: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** Shared state for the control plane; every method may reject with the backend's failure. */
export interface ControlStore {
  /** Where the store lives: 'memory' (one process) or 'redis' (shared by every instance). */
  readonly kind: 'memory' | 'redis';
  /** Adds `by` to each field of hash `key`, and (re)sets its time to live. */
  hashAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void>;
  /** Each hash's fields (missing hashes give `{}`), in the order of `keys`. */
  hashesRead(keys: readonly string[]): Promise<Record<string, string>[]>;
  /** Sets one field of hash `key` (the hash's own TTL, if any, is kept). */
  hashSet(key: string, field: string, value: string): Promise<void>;
  /** Removes one field of hash `key`; whether it was there. */
  hashDelete(key: string, field: string): Promise<boolean>;
  /** Adds each member's score to sorted set `key`, and (re)sets its time to live. */
  scoresAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void>;
  /** The `n` highest members of each sorted set, highest first, in the order of `keys`. */
  scoresTop(keys: readonly string[], n: number): Promise<[member: string, score: number][][]>;
  /** Adds `by` to the integer at `key` (created at 0), setting its time to live when created; the new value. */
  counterAdd(key: string, by: number, ttlMs: number): Promise<number>;
  /** Sets a string with a time to live (none when ttlMs is undefined). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** A string, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Removes keys; how many existed. */
  delete(...keys: string[]): Promise<number>;
  /** Appends to capped stream `key` (about `maxLen` entries kept, the oldest dropped); the entry's id. */
  streamAdd(key: string, fields: Readonly<Record<string, string>>, maxLen: number): Promise<string>;
  /** Entries of stream `key` written at or after `sinceMs`, oldest first, at most `count`. */
  streamRead(key: string, sinceMs: number, count: number): Promise<StreamEntry[]>;
  /** Sends `message` to every subscriber of `channel` on every instance (best effort). */
  publish(channel: string, message: string): Promise<void>;
  /** Listens on `channel`; returns the function that stops listening. */
  subscribe(channel: string, listener: (message: string) => void): () => void;
  /** Stops subscriptions and connections the store opened (never a client it was handed). */
  close(): Promise<void>;
}
