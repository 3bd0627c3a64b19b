import type { Cluster, Redis } from 'ioredis';
import type { Client } from '../backends/redis-connection.js';
import { Deadlines } from '../deadlines.js';
import type { ControlStore, StreamEntry } from './store.js';

/**
 * The control store on Redis, standalone or Cluster, shared by every instance. Each call touches one key
 * (or sends one command per key), so a Cluster may place keys in any slot. Every call is bounded by
 * `timeoutMs` and rejects with a BackendError past it, so a sick Redis slows the control plane, never the
 * requests; pub/sub runs on a connection of its own, opened on the first subscribe.
 */
export class RedisControlStore implements ControlStore {
  readonly kind = 'redis' as const;
  private readonly deadlines: Deadlines;
  private subscriber: Client | undefined;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private closed = false;

  constructor(
    private readonly client: Client,
    timeoutMs = 1000,
  ) {
    this.deadlines = new Deadlines(timeoutMs);
  }

  async hashAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    const p = this.client.pipeline();
    for (const [field, n] of Object.entries(by)) p.hincrby(key, field, n);
    p.pexpire(key, ttlMs);
    await this.bound(p.exec().then(failed));
  }

  async hashesRead(keys: readonly string[]): Promise<Record<string, string>[]> {
    return this.bound(Promise.all(keys.map((k) => this.client.hgetall(k))));
  }

  async hashSet(key: string, field: string, value: string): Promise<void> {
    await this.bound(this.client.hset(key, field, value));
  }

  async hashDelete(key: string, field: string): Promise<boolean> {
    return (await this.bound(this.client.hdel(key, field))) > 0;
  }

  async scoresAdd(key: string, by: Readonly<Record<string, number>>, ttlMs: number): Promise<void> {
    const p = this.client.pipeline();
    for (const [member, n] of Object.entries(by)) p.zincrby(key, n, member);
    p.pexpire(key, ttlMs);
    await this.bound(p.exec().then(failed));
  }

  async scoresTop(keys: readonly string[], n: number): Promise<[string, number][][]> {
    const replies = await this.bound(
      Promise.all(keys.map((k) => this.client.zrange(k, 0, n - 1, 'REV', 'WITHSCORES'))),
    );
    return replies.map((flat) => {
      const out: [string, number][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
      return out;
    });
  }

  async counterAdd(key: string, by: number, ttlMs: number): Promise<number> {
    // One round trip: the TTL is set only when the increment created the key.
    const value = await this.bound(
      this.client.eval(
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return v",
        1,
        key,
        by,
        ttlMs,
      ) as Promise<number>,
    );
    return Number(value);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.bound(
      ttlMs === undefined ? this.client.set(key, value) : this.client.set(key, value, 'PX', ttlMs),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.bound(this.client.get(key))) ?? undefined;
  }

  async delete(...keys: string[]): Promise<number> {
    // One DEL per key: on a Cluster the keys may live in different slots.
    const counts = await this.bound(Promise.all(keys.map((k) => this.client.del(k))));
    return counts.reduce((a, b) => a + b, 0);
  }

  async streamAdd(key: string, fields: Readonly<Record<string, string>>, maxLen: number): Promise<string> {
    const args = Object.entries(fields).flat();
    const id = await this.bound(this.client.xadd(key, 'MAXLEN', '~', maxLen, '*', ...args));
    return id ?? '';
  }

  async streamRead(key: string, sinceMs: number, count: number): Promise<StreamEntry[]> {
    const rows = await this.bound(this.client.xrange(key, String(Math.max(0, sinceMs)), '+', 'COUNT', count));
    return rows.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return { id, at: Number(id.slice(0, id.indexOf('-'))), fields };
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.bound(this.client.publish(channel, message));
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      this.subscriberConnection()
        .subscribe(channel)
        .catch(() => {
          // Re-subscribed by ioredis on reconnect; callers also poll, since pub/sub drops messages.
        });
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size > 0 || this.listeners.get(channel) !== set) return;
      this.listeners.delete(channel);
      // The last listener gone, the subscription goes, and with no subscription left the connection:
      // an idle subscriber would otherwise hold the process open after everything else was closed.
      if (this.listeners.size === 0) this.dropSubscriber();
      else this.subscriber?.unsubscribe(channel).catch(() => undefined);
    };
  }

  private dropSubscriber(): void {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub !== undefined) sub.disconnect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.dropSubscriber();
  }

  private subscriberConnection(): Client {
    if (this.subscriber !== undefined) return this.subscriber;
    const client = this.client;
    const sub: Client = client.isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
    // Failures surface through the callers' polling; an unheard 'error' would only be logged by ioredis.
    sub.on('error', () => undefined);
    sub.on('message', (channel: string, message: string) => {
      for (const l of this.listeners.get(channel) ?? []) {
        try {
          l(message);
        } catch {
          // A listener's failure is its own; the others still hear the message.
        }
      }
    });
    this.subscriber = sub;
    // The app quitting the client it handed over ends our subscriber too, as it does the decisions' own.
    this.client.once('end', () => this.dropSubscriber());
    return sub;
  }

  private bound<T>(work: Promise<T>): Promise<T> {
    return this.deadlines.bound(work);
  }
}

// A pipeline resolves even when a command in it failed: the first failure rejects here.
function failed(results: [Error | null, unknown][] | null): void {
  for (const [error] of results ?? []) if (error) throw error;
}
