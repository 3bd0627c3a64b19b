import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from '../../backends/ioredis.js';
import type { Client } from '../../backends/redis-connection.js';

// Where the overlay lives in Redis. Both keys share one hash tag, so on a Cluster they sit in one slot and
// a script can read or change them together. The channel only says "look again": the version counter is
// the truth, because pub/sub drops whatever is published while a subscriber reconnects.

const MOST_BETWEEN_ATTEMPTS_MS = 250;
const COMMAND_TIMEOUT_MS = 2000;

// A read while Redis is out of reach fails after one reconnect attempt rather than queueing for seconds,
// and a hung server fails it after COMMAND_TIMEOUT_MS: the caller reports it and the next poll tries again.
const COMMAND_OPTIONS: Partial<RedisOptions> = {
  lazyConnect: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, MOST_BETWEEN_ATTEMPTS_MS),
};

// The subscriber re-subscribes by itself after a reconnect (ioredis's autoResubscribe), but only to what it
// had subscribed to: a SUBSCRIBE that failed (Redis down at start) is sent again by the caller.
const SUBSCRIBER_OPTIONS: Partial<RedisOptions> = {
  lazyConnect: false,
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, MOST_BETWEEN_ATTEMPTS_MS),
};

// Writes only if nobody wrote since the version the caller validated against, so two instances publishing
// at once cannot combine into a document neither validated. A script rather than MULTI: MULTI cannot make a
// write depend on a read, and WATCH belongs to a connection that other callers of a shared client use too.
// KEYS: overlay hash, version. ARGV: expected version ("" for none), count of fields to set, then the
// field/value pairs, then the fields to remove. Returns the new version, or -1 when it was not the expected one.
const WRITE_SCRIPT = `
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return -1 end
local sets = tonumber(ARGV[2])
for i = 3, 2 + sets * 2, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 3 + sets * 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return redis.call('INCR', KEYS[2])
`;

// Both keys in one reply, so the fields read always belong to the version read.
const READ_SCRIPT = `return { redis.call('GET', KEYS[2]) or '', redis.call('HGETALL', KEYS[1]) }`;

/** The overlay's fields as stored and the version they belong to (undefined when never written). */
export interface StoredOverlay {
  readonly fields: Record<string, string>;
  readonly version: number | undefined;
}

/** The Redis side of the overlay: its keys, the connections to read, write and listen, and nothing else. */
export class RedisOverlayStore {
  /** The hash holding the overlay's entries, `{<prefix>:config}:overlay`. */
  readonly hashKey: string;
  /** The version counter, `{<prefix>:config}:version`, incremented by every write. */
  readonly versionKey: string;
  /** The channel a write is announced on, `<prefix>:config`. */
  readonly channel: string;
  /** The connection commands run on (ours: a duplicate of a client given, or built from the URL). */
  readonly commands: Client;
  /** The connection subscribed to the channel (ours). */
  readonly subscriber: Client;

  constructor(
    readonly client: string | Redis | Cluster,
    prefix: string,
  ) {
    this.hashKey = `{${prefix}:config}:overlay`;
    this.versionKey = `{${prefix}:config}:version`;
    this.channel = `${prefix}:config`;
    if (typeof client === 'string') {
      const { Redis } = loadIoredis();
      this.commands = new Redis(client, COMMAND_OPTIONS);
      this.subscriber = new Redis(client, SUBSCRIBER_OPTIONS);
    } else {
      this.commands = duplicate(client, COMMAND_OPTIONS);
      this.subscriber = duplicate(client, SUBSCRIBER_OPTIONS);
    }
  }

  /** The overlay's fields and version, read together. */
  async read(): Promise<StoredOverlay> {
    const [version, flat] = (await this.commands.eval(READ_SCRIPT, 2, this.hashKey, this.versionKey)) as [
      string,
      string[],
    ];
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { fields, version: versionOf(version) };
  }

  /** The version counter alone (what a poll compares), as text; "" when never written. */
  async readVersion(): Promise<string> {
    return (await this.commands.get(this.versionKey)) ?? '';
  }

  /** Writes and removes fields if the version is still `expected`: the new version, or undefined when it was not. */
  async write(
    expected: number | undefined,
    set: readonly [string, string][],
    remove: readonly string[],
  ): Promise<number | undefined> {
    const args = [
      expected === undefined ? '' : String(expected),
      String(set.length),
      ...set.flat(),
      ...remove,
    ];
    const result = Number(await this.commands.eval(WRITE_SCRIPT, 2, this.hashKey, this.versionKey, ...args));
    return result < 0 ? undefined : result;
  }

  /** Tells every subscriber that `version` was written. */
  async announce(version: number): Promise<void> {
    await this.commands.publish(this.channel, String(version));
  }

  /** Calls `onMessage` with the version of every announcement received. */
  listen(onMessage: (version: string) => void): void {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) onMessage(message);
    });
  }

  /** Subscribes to the channel. */
  async subscribe(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  /** Closes both connections (the client given, if any, is left open). */
  close(): void {
    // disconnect(), not quit(): quit waits for a server that may be gone, and leaves a reconnect timer armed.
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}

/** The version counter's text as a number; undefined when the counter was never written. */
export function versionOf(text: string): number | undefined {
  return text === '' ? undefined : Number(text);
}

// A connection of our own to the server(s) `client` talks to, so its settings and subscriber mode never
// touch the client the app handed over.
function duplicate(client: Redis | Cluster, options: Partial<RedisOptions>): Client {
  if (client.isCluster) {
    const cluster = client as Cluster;
    return cluster.duplicate([], {
      lazyConnect: false,
      clusterRetryStrategy: (attempt: number) => Math.min(100 + attempt * 50, MOST_BETWEEN_ATTEMPTS_MS * 2),
      redisOptions: { ...cluster.options.redisOptions, ...options, lazyConnect: false },
    });
  }
  return (client as Redis).duplicate(options);
}
