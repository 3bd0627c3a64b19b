import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from './ioredis.js';

/** An ioredis client, standalone or Cluster. */
export type Client = Redis | Cluster;

// After an outage the next attempt comes at most this long after the server is back: with ioredis's
// default (up to 2 s between attempts) decisions stayed local for seconds after Redis was reachable.
const MOST_BETWEEN_ATTEMPTS_MS = 250;

/**
 * Settings of the connection decisions run on. Every one of them makes a failure quick and final, because
 * the backend itself re-sends what is safe to re-send (a batch carries an id the script remembers):
 * - no offline queue: a call while disconnected fails at once instead of waiting to run after its answer;
 * - no automatic re-send of commands in flight when the connection drops (ioredis would run them twice);
 * - no retries per request, no 2 s disconnect timer holding the process open after close();
 * - reconnect attempts at most MOST_BETWEEN_ATTEMPTS_MS apart.
 */
export const DECISION_CONNECTION: Partial<RedisOptions> = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  // Off: the backend batches decisions itself (one script call per keyspace per turn), so ioredis's own
  // pipelining only added a Pipeline object and a tick per call (about 1.4x the decisions per second at
  // 100 in flight without it).
  enableAutoPipelining: false,
  disconnectTimeout: 0,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, MOST_BETWEEN_ATTEMPTS_MS),
};

/** A connection built from a URL with the decision settings. */
export function connectUrl(url: string): Redis {
  const { Redis } = loadIoredis();
  return new Redis(url, DECISION_CONNECTION);
}

/**
 * A connection of the backend's own to the server(s) `client` talks to, with the decision settings, so a
 * client built with ioredis's defaults (offline queue, automatic re-sends, 2 s between reconnects) is safe
 * to hand over; the user's client itself is left as it is.
 */
export function duplicateOf(client: Client): Client {
  // Something shaped like ioredis without duplicate() (a wrapper, a proxy) is used as it is.
  if (typeof client.duplicate !== 'function') return client;
  if (client.isCluster) {
    const cluster = client as Cluster;
    // A Cluster keeps its offline queue: it needs it while it refreshes its slot map after a failover or
    // a migration. What it holds is harmless: the script refuses work that reaches it past its deadline.
    return cluster.duplicate([], {
      // Off: ioredis (5.x) does not follow ASK or MOVED for a command sent in an automatic pipeline, and a
      // slot migration would then fail decisions instead of redirecting them.
      enableAutoPipelining: false,
      clusterRetryStrategy: (attempt: number) => Math.min(100 + attempt * 50, MOST_BETWEEN_ATTEMPTS_MS * 2),
      redisOptions: {
        ...cluster.options.redisOptions,
        // Its nodes' own connections too: the backend writes a turn's calls for one node in one pipeline.
        enableAutoPipelining: false,
        autoResendUnfulfilledCommands: false,
        disconnectTimeout: 0,
      },
    });
  }
  const redis = client as Redis;
  const copy = redis.duplicate(DECISION_CONNECTION);
  // A lazy client's copy is lazy too, and with no offline queue its first call would only fail.
  if (copy.status === 'wait') copy.connect().catch(() => {});
  return copy;
}

/** Whether `client` is connected and accepting commands. */
export function isReady(client: Client): boolean {
  return client.status === 'ready';
}
