import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from './ioredis.js';
import type { Client } from './redis-connection.js';

/** The channel a reset is announced on, to every instance sharing the Redis; the message is the client key. */
export const RESET_CHANNEL = 'distlimiter:resets';

// A subscriber that was lost is made again at most this often (the next refusal asks for it), so a server
// that refuses SUBSCRIBE (an ACL) or keeps dropping it does not get a connection per refusal.
const RETRY_MS = 1000;

// The subscriber never reconnects by itself: messages published while it was away are lost, so the cache
// must be cleared and its listening confirmed again, which a new connection's SUBSCRIBE reply does.
const SUBSCRIBER_OPTIONS: Partial<RedisOptions> = {
  lazyConnect: false,
  enableOfflineQueue: true,
  autoResubscribe: false,
  maxRetriesPerRequest: 1,
  retryStrategy: () => null,
};

/** What a ResetChannel tells its owner. */
export interface ResetListener {
  /** Another instance (or this one) reset `key`. */
  heard(key: string): void;
  /** Whether resets are heard from now on; every change may have missed some. */
  listening(on: boolean): void;
}

/**
 * Announces resets to every instance sharing the Redis and hears theirs, on a subscriber connection of its
 * own made only when first asked to listen (a backend that never refuses opens none).
 */
export class ResetChannel {
  private subscriber: Redis | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly connection: Client,
    private readonly listener: ResetListener,
  ) {}

  /** Starts listening, unless it is or tried less than RETRY_MS ago; the listener hears when it does. */
  listen(): void {
    if (this.subscriber !== undefined || this.closed) return;
    const now = performance.now();
    if (now - this.lastAttempt < RETRY_MS) return;
    this.lastAttempt = now;
    const sub = subscriberFor(this.connection);
    if (sub === undefined) return;
    this.subscriber = sub;
    // Its failures show as a 'close'; the decision connection reports the outage.
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => {
      if (channel === RESET_CHANNEL && this.subscriber === sub) this.listener.heard(message);
    });
    sub.once('close', () => this.lost(sub));
    sub.subscribe(RESET_CHANNEL).then(
      () => {
        if (this.subscriber === sub) this.listener.listening(true);
      },
      () => this.lost(sub),
    );
  }

  /** Tells every instance (this one included) that `key` was reset. */
  async announce(key: string): Promise<void> {
    await this.connection.publish(RESET_CHANNEL, key);
  }

  /** Closes the subscriber, if any. */
  close(): void {
    this.closed = true;
    const sub = this.subscriber;
    if (sub === undefined) return;
    this.subscriber = undefined;
    sub.disconnect();
    this.listener.listening(false);
  }

  private lost(sub: Redis): void {
    if (this.subscriber !== sub) return;
    this.subscriber = undefined;
    sub.disconnect();
    this.listener.listening(false);
  }
}

// A standalone connection that can subscribe: a duplicate of a standalone client, or, on a Cluster (which
// propagates PUBLISH to every node), a connection to one of its masters, picked at random to spread them.
function subscriberFor(connection: Client): Redis | undefined {
  if (connection.isCluster) {
    const masters = (connection as Cluster).nodes('master');
    const node = masters[Math.floor(Math.random() * masters.length)];
    if (node === undefined) return undefined;
    const { Redis } = loadIoredis();
    return new Redis({ ...node.options, ...SUBSCRIBER_OPTIONS });
  }
  // Something shaped like ioredis without duplicate() (a wrapper): nothing to listen on.
  if (typeof connection.duplicate !== 'function') return undefined;
  return (connection as Redis).duplicate(SUBSCRIBER_OPTIONS);
}
