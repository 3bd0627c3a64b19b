import { Cluster, Redis } from 'ioredis';
import type { AlgorithmStep, StepOutcome } from '../algorithms/types.js';
import { BackendError, ClosedError, InvalidOptionError } from '../errors.js';
import { composeScript, type Script, scriptArgs } from './lua.js';
import type { Backend, Clock } from './types.js';

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

type Client = Redis | Cluster;

/**
 * Backend on Redis through ioredis, standalone or Cluster. One round trip per decision: the steps run in
 * one Lua script called by SHA (reloaded by itself after SCRIPT FLUSH or a restart), on the server's clock,
 * with every key of one client key in one hash slot and every key written with a TTL.
 */
export class RedisBackend implements Backend {
  /** The ioredis client in use. */
  readonly client: Client;
  private readonly owned: boolean;
  private readonly clock: Clock | undefined;
  private readonly scripts = new WeakMap<readonly AlgorithmStep[], Script>();
  private closed = false;

  constructor(options: RedisBackendOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('RedisBackend options', options, 'an options object with a client');
    }
    const { client } = options;
    if (typeof client === 'string') {
      if (!/^rediss?:\/\//.test(client)) {
        throw new InvalidOptionError(
          'client',
          client,
          'a redis:// or rediss:// URL, or an ioredis Redis or Cluster',
        );
      }
      // A URL-built client fails fast while disconnected instead of queueing forever.
      this.client = new Redis(client, { maxRetriesPerRequest: 1, enableAutoPipelining: true });
      this.owned = true;
    } else if (client instanceof Redis || client instanceof Cluster || looksLikeIoredis(client)) {
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
  }

  async evaluate(
    keys: readonly string[],
    members: readonly AlgorithmStep[],
    cost: number,
    peek: boolean,
  ): Promise<StepOutcome[]> {
    if (this.closed) throw new ClosedError('RedisBackend');
    const script = this.scriptFor(members);
    const args = scriptArgs(members, this.clock ? this.clock() : undefined, cost, peek);
    const raw = await this.run(script, keys, args);
    const out: StepOutcome[] = [];
    for (let i = 0; i < raw.length; i += 4) {
      out.push({
        allowed: raw[i] === 1,
        remaining: raw[i + 1]!,
        resetAfterMs: raw[i + 2]!,
        retryAfterMs: raw[i + 3]!,
      });
    }
    return out;
  }

  private scriptFor(members: readonly AlgorithmStep[]): Script {
    let s = this.scripts.get(members);
    if (!s) {
      s = composeScript(members);
      this.scripts.set(members, s);
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

  async delete(keys: readonly string[]): Promise<void> {
    if (this.closed) throw new ClosedError('RedisBackend');
    if (keys.length) await this.client.del(...keys);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.client.quit().catch(() => this.client.disconnect());
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
