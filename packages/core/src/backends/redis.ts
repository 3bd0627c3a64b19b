import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type { StepOutcome } from '../algorithms/types.js';
import { BackendError, ClosedError, InvalidOptionError } from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { loadIoredis } from './ioredis.js';
import { composeScript, type Script } from './lua.js';
import type { Backend, Clock, Keyspace } from './types.js';

/** Options of the Redis backend. */
export interface RedisBackendOptions {
  /** An ioredis `Redis` or `Cluster` instance (left open on close), or a URL (`redis://`, `rediss://`). */
  client: Redis | Cluster | string;
  /**
   * Time source in ms. Leave unset in production: time then comes from the Redis server (`TIME`), so app
   * servers with skewed clocks agree. Set it only to make tests exact.
   */
  clock?: Clock;
}

/** Every key RedisBackendOptions accepts. */
export const REDIS_BACKEND_OPTION_KEYS = keysOf<RedisBackendOptions>()(['client', 'clock']);

type Client = Redis | Cluster;

/** Events of RedisBackend, by name, with their arguments. */
export interface RedisBackendEvents {
  /** A client built from a URL lost (or never got) its connection: once per outage, with the first error. */
  connectionError: [error: Error];
}

/**
 * Backend on Redis through ioredis, standalone or Cluster. One round trip per decision: the steps run in
 * one Lua script called by SHA (reloaded by itself after SCRIPT FLUSH or a restart), on the server's clock,
 * with every key of one client key in one hash slot and every key written with a TTL.
 *
 * Events: `connectionError` (error), once per outage of a client built from a URL, emitted when its first
 * error arrives and armed again once the client is ready; a client passed in keeps its own error events.
 */
export class RedisBackend extends EventEmitter<RedisBackendEvents> implements Backend {
  /** The ioredis client in use. */
  readonly client: Client;
  private readonly owned: boolean;
  private readonly clock: Clock | undefined;
  private readonly scripts = new WeakMap<Keyspace, Script>();
  private readonly pending = new Map<Keyspace, Batch>();
  // Batching needs every key of a batch in one node; a Cluster spreads client keys over slots.
  private readonly batching: boolean;
  private closed = false;
  // True from a URL-built client's first error until it is ready again: one event per outage.
  private down = false;

  constructor(options: RedisBackendOptions) {
    super();
    knownKeys(options, REDIS_BACKEND_OPTION_KEYS, 'RedisBackend options');
    const { client } = options;
    if (typeof client === 'string') {
      if (!/^rediss?:\/\//.test(client)) {
        throw new InvalidOptionError(
          'client',
          withoutPassword(client),
          'a redis:// or rediss:// URL, or an ioredis Redis or Cluster',
        );
      }
      // A URL-built client fails fast while disconnected instead of queueing forever.
      const { Redis } = loadIoredis();
      // disconnectTimeout: ioredis arms that timer (2 s by default) on every disconnect, even of a socket
      // that already closed while it waits to retry, and it held the process open after close().
      const redis = new Redis(client, {
        maxRetriesPerRequest: 1,
        enableAutoPipelining: true,
        disconnectTimeout: 0,
      });
      // Without a listener ioredis logs every failed reconnect attempt ("Unhandled error event").
      redis.on('error', this.onClientError);
      redis.on('ready', () => {
        this.down = false;
      });
      this.client = redis;
      this.owned = true;
    } else if (looksLikeIoredis(client)) {
      // Duck-typed rather than instanceof: that would load ioredis here, and miss a client built by another copy.
      this.client = client;
      this.owned = false;
    } else {
      throw new InvalidOptionError(
        'client',
        client,
        'an ioredis Redis or Cluster instance, or a redis:// URL',
      );
    }
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new InvalidOptionError('clock', options.clock, 'a function returning milliseconds');
    }
    this.clock = options.clock;
    this.batching = this.client.isCluster !== true;
  }

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): Promise<StepOutcome[]> {
    if (this.closed) return Promise.reject(new ClosedError('RedisBackend'));
    const keys = space.keys(key);
    return new Promise<StepOutcome[]>((resolve, reject) => {
      let batch = this.pending.get(space);
      if (batch === undefined) {
        batch = { space, keys: [], args: [], waiters: [] };
        this.pending.set(space, batch);
        // Every decision asked for until the current burst of callbacks and promise reactions is over
        // joins this batch: one script call, one round trip, for all of them.
        if (this.batching) process.nextTick(this.flushBatch, batch);
      }
      for (const k of keys) batch.keys.push(k);
      batch.args.push(cost, peek ? 1 : 0);
      batch.waiters.push({ resolve, reject });
      if (!this.batching || batch.waiters.length >= MAX_BATCH) this.flush(batch);
    });
  }

  private readonly flushBatch = (batch: Batch): void => this.flush(batch);

  // Retries fail once per reconnect attempt; only the first of an outage is news.
  private readonly onClientError = (error: Error): void => {
    if (this.down) return;
    this.down = true;
    if (!this.closed) this.emit('connectionError', error);
  };

  // Sends one batch. An empty "now" makes the script read the Redis server's clock.
  private flush(batch: Batch): void {
    if (this.pending.get(batch.space) !== batch) return;
    this.pending.delete(batch.space);
    const script = this.scriptFor(batch.space);
    const args = [this.clock ? this.clock() : '', ...batch.args];
    const members = batch.space.members.length;
    this.run(script, batch.keys, args).then(
      (raw) => {
        const per = members * 4;
        batch.waiters.forEach((w, i) => {
          w.resolve(toOutcomes(raw, i * per, per));
        });
      },
      (error: unknown) => {
        for (const w of batch.waiters) w.reject(error);
      },
    );
  }

  private scriptFor(space: Keyspace): Script {
    let s = this.scripts.get(space);
    if (!s) {
      s = composeScript(space.members);
      this.scripts.set(space, s);
    }
    return s;
  }

  // EVALSHA first; on NOSCRIPT (first use, SCRIPT FLUSH, restart, a new cluster node) EVAL loads it again.
  private async run(script: Script, keys: readonly string[], args: (string | number)[]): Promise<number[]> {
    try {
      return (await this.client.evalsha(script.sha, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw wrap(error);
    }
    try {
      return (await this.client.eval(script.source, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      throw wrap(error);
    }
  }

  async delete(space: Keyspace, key: string): Promise<void> {
    if (this.closed) throw new ClosedError('RedisBackend');
    await this.client.del(...space.keys(key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned) return;
    // quit() needs a connection, and while ioredis waits to retry it leaves the reconnect timer armed;
    // disconnect() clears that timer and drops the socket at once.
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

function wrap(error: unknown): BackendError {
  return new BackendError(`Redis call failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

// Two copies of ioredis in one app (an app's and ours) fail instanceof; accept anything shaped like one.
function looksLikeIoredis(value: unknown): value is Client {
  const c = value as Partial<Redis> | null;
  return (
    typeof c === 'object' && c !== null && typeof c.evalsha === 'function' && typeof c.eval === 'function'
  );
}

/** Decisions waiting to be sent together for one keyspace. */
interface Batch {
  readonly space: Keyspace;
  readonly keys: string[];
  readonly args: number[];
  readonly waiters: { resolve: (outcomes: StepOutcome[]) => void; reject: (error: unknown) => void }[];
}

// Bounds how long one script runs (Redis serves nobody else meanwhile) and how large one command grows.
const MAX_BATCH = 256;

function toOutcomes(raw: number[], from: number, count: number): StepOutcome[] {
  const out: StepOutcome[] = [];
  for (let i = from; i < from + count; i += 4) {
    out.push({
      allowed: raw[i] === 1,
      remaining: raw[i + 1]!,
      resetAfterMs: raw[i + 2]!,
      retryAfterMs: raw[i + 3]!,
    });
  }
  return out;
}

// A URL in an error message must not carry its password into logs: "user:secret@" becomes "user:***@".
function withoutPassword(url: string): string {
  return url.replace(/^([^/]*\/\/[^:/@]*:)[^@/]*@/, '$1***@').replace(/^([^/@:]*:)[^@/]*@/, '$1***@');
}
