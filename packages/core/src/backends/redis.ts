import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type { StepOutcome } from '../algorithms/types.js';
import { ClosedError, InvalidOptionError } from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveInteger, positiveIntegerOr } from '../policy/validate.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import { type Client, connectUrl, duplicateOf, isReady } from './redis-connection.js';
import { DenyCache, type DenyCacheCounters } from './deny-cache.js';
import { type DecisionCounters, RedisDecisions } from './redis-decisions.js';
import { Heartbeat } from './redis-heartbeat.js';
import type { Backend, BackendHealth, Clock, Keyspace } from './types.js';

/** Options of the Redis backend. */
export interface RedisBackendOptions {
  /**
   * An ioredis `Redis` or `Cluster` instance (left open on close; decisions run on a duplicate of it unless
   * `ownConnection` is false), or a URL (`redis://`, `rediss://`).
   */
  client: Redis | Cluster | string;
  /**
   * Every call is answered within this many ms (default 1000), for every limiter sharing the backend, and
   * the script refuses work that reaches Redis after it, so a late command never charges.
   */
  timeoutMs?: number;
  /**
   * The built-in circuit breaker's options (default: on, with the CircuitBreaker defaults: opens after 5
   * failures in a row, refuses for 5000 ms, then one probe; it also probes as soon as the connection is
   * ready again), or `false` to turn it off.
   */
  breaker?: RedisBreakerOptions | false;
  /**
   * Instances sharing this Redis, which `onBackendError: 'local'` divides every limit by while Redis is out
   * of reach (default: learned from heartbeats in Redis, which start with the first 'local' limiter).
   */
  instances?: number;
  /** Time between heartbeats when `instances` is learned, in ms (default 5000; three missed = gone). */
  heartbeatMs?: number;
  /** The key the heartbeats go to (default "<prefix>:instances", the prefix of the first 'local' limiter). */
  heartbeatKey?: string;
  /**
   * Whether decisions run on a duplicate of a client passed in, with settings made for them (default true);
   * false runs them on the client as it is, whose offline queue and re-sends then apply.
   */
  ownConnection?: boolean;
  /**
   * Whether refusals are remembered in process until Redis said they end, sparing Redis a client hammering
   * past its limit (default true; false when a `clock` is injected, whose tests compare every call's numbers
   * with what the script computes).
   */
  denyCache?: boolean;
  /**
   * Time source in ms. Leave unset in production: time then comes from the Redis server (`TIME`), so app
   * servers with skewed clocks agree. Set it only to make tests exact.
   */
  clock?: Clock;
}

/** Every key RedisBackendOptions accepts. */
export const REDIS_BACKEND_OPTION_KEYS = keysOf<RedisBackendOptions>()([
  'client',
  'timeoutMs',
  'breaker',
  'instances',
  'heartbeatMs',
  'heartbeatKey',
  'ownConnection',
  'denyCache',
  'clock',
]);

/** Events of RedisBackend, by name, with their arguments. */
export interface RedisBackendEvents {
  /** The connection decisions run on lost (or never got) its server: once per outage, with the first error. */
  connectionError: [error: Error];
  /** The breaker opened: calls fail at once (limiters follow their onBackendError) until it probes. */
  open: [error: Error];
  /** The breaker lets a probe through: openMs passed, or the connection is ready again. */
  halfOpen: [lastError: Error];
  /** The breaker closed: decisions run on Redis again. */
  close: [];
}

/** What RedisBackend's `health()` reports: the breaker's, plus the mode, the fleet and the decision path's counts. */
export interface RedisBackendHealth extends BackendHealth, DecisionCounters, DenyCacheCounters {
  /** Where limiters decide: on Redis, or (breaker not closed) by their onBackendError, 'local' in memory. */
  mode: 'redis' | 'local';
  /** Instances sharing this Redis: configured, or learned from heartbeats (the local fallback divides by it). */
  instances: number;
  /** Whether the connection decisions run on is ready. */
  connected: boolean;
}

/** The breaker built into every RedisBackend: the CircuitBreaker options but the backend and clock. */
export type RedisBreakerOptions = Omit<CircuitBreakerOptions, 'backend' | 'clock' | 'timeoutMs'>;

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_HEARTBEAT_MS = 5000;
// Errors of a connect attempt that say the server is not there (as opposed to a connection it dropped).
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// How often an open breaker checks whether a connection that stayed up answers again.
const PING_EVERY_MS = 200;
// The breaker's openMs on a Cluster, unless given: see the constructor.
const CLUSTER_OPEN_MS = 1000;

/**
 * Backend on Redis through ioredis, standalone or Cluster. One round trip per decision (and one for many
 * decisions asked for together): the steps run in one Lua script called by SHA (reloaded by itself after
 * SCRIPT FLUSH or a restart; one per shape of steps, the rates passed as arguments, so Redis's script
 * cache does not grow with rates), on the server's clock, with every key of one client key in one hash
 * slot and every key written with a TTL.
 *
 * Calm when Redis is not: every call is answered within `timeoutMs`, and the script refuses work that
 * reaches Redis after that deadline, so nothing is charged after its caller was answered; a batch whose
 * connection dropped is sent again and answered from the reply Redis kept, so nothing is charged twice.
 * A circuit breaker (on by default) answers at once while Redis is failing and probes as soon as the
 * connection is back. Decisions run on a connection of the backend's own, with settings made for this (see
 * DECISION_CONNECTION): a client passed in is duplicated and left as it is.
 *
 * Events: `connectionError` (error) once per outage; the breaker's `open` (error), `halfOpen` (lastError)
 * and `close` ().
 */
export class RedisBackend extends EventEmitter<RedisBackendEvents> implements Backend {
  /** The ioredis client given (or built from the URL). */
  readonly client: Client;
  /** The connection decisions run on: the URL-built client, or the backend's own duplicate of the one given. */
  readonly connection: Client;
  /** Every call through this backend is answered within this many ms, for every limiter sharing it. */
  readonly timeoutMs: number;
  /** The built-in breaker, or undefined with `breaker: false`. */
  readonly breaker: CircuitBreaker | undefined;
  private readonly decisions: RedisDecisions;
  // Undefined with `denyCache: false`.
  private readonly denyCache: DenyCache | undefined;
  private readonly guarded: Backend;
  private heartbeat: Heartbeat | undefined;
  private readonly heartbeatKey: string | undefined;
  private readonly heartbeatMs: number;
  private readonly configuredInstances: number | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  // False when decisions run on the client the user handed over, which is theirs to close.
  private readonly ownsConnection: boolean;
  private closed = false;
  // True from the connection's first error until it is ready again: one event per outage.
  private down = false;

  constructor(options: RedisBackendOptions) {
    super();
    const o = knownKeys(options, REDIS_BACKEND_OPTION_KEYS, 'RedisBackend options');
    const client = o.client as RedisBackendOptions['client'];
    if (typeof client === 'string') {
      if (!/^rediss?:\/\//.test(client)) {
        throw new InvalidOptionError(
          'client',
          withoutPassword(client),
          'a redis:// or rediss:// URL, or an ioredis Redis or Cluster',
        );
      }
    } else if (!looksLikeIoredis(client)) {
      // Duck-typed rather than instanceof: that would load ioredis here, and miss a client built by another copy.
      throw new InvalidOptionError(
        'client',
        client,
        'an ioredis Redis or Cluster instance, or a redis:// URL',
      );
    }
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError('clock', o.clock, 'a function returning milliseconds');
    }
    this.timeoutMs = positiveIntegerOr(o.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS);
    if (o.instances !== undefined) this.configuredInstances = positiveInteger(o.instances, 'instances');
    const heartbeatMs = positiveIntegerOr(o.heartbeatMs, 'heartbeatMs', DEFAULT_HEARTBEAT_MS);
    const heartbeatKey = o.heartbeatKey;
    if (heartbeatKey !== undefined && (typeof heartbeatKey !== 'string' || heartbeatKey.length === 0)) {
      throw new InvalidOptionError('heartbeatKey', heartbeatKey, 'a non-empty key name');
    }
    const breakerOptions = o.breaker === undefined ? {} : o.breaker;
    if (breakerOptions !== false && (typeof breakerOptions !== 'object' || breakerOptions === null)) {
      throw new InvalidOptionError(
        'breaker',
        breakerOptions,
        'false, or circuit breaker options such as { openMs: 5000 }',
      );
    }
    const ownConnection = o.ownConnection ?? true;
    if (typeof ownConnection !== 'boolean') {
      throw new InvalidOptionError('ownConnection', ownConnection, 'true or false');
    }
    const denyCache = o.denyCache === undefined ? o.clock === undefined : o.denyCache;
    if (typeof denyCache !== 'boolean') {
      throw new InvalidOptionError('denyCache', denyCache, 'true or false');
    }

    this.client = typeof client === 'string' ? connectUrl(client) : client;
    // The connection is ours to close when it is not the client the user handed over.
    this.connection = typeof client === 'string' || !ownConnection ? this.client : duplicateOf(this.client);
    this.ownsConnection = this.connection !== client;
    if (this.ownsConnection && typeof client !== 'string') {
      // The duplicate follows the client it was made from: when the app quits its client, it expects
      // Redis to hold nothing open any more, and our connection would otherwise keep the process alive.
      client.once('end', () => {
        this.close().catch(() => {});
      });
    }
    if (this.ownsConnection) {
      // Without a listener ioredis logs every failed reconnect attempt ("Unhandled error event").
      this.connection.on('error', this.onConnectionError);
    }
    this.connection.on('ready', this.onReady);
    this.decisions = new RedisDecisions(this.connection, this.timeoutMs, o.clock as Clock | undefined);
    if (denyCache) this.denyCache = new DenyCache(this.connection, o.clock as Clock | undefined);
    if (breakerOptions === false) {
      this.guarded = this.decisions;
    } else {
      // A Cluster's connection stays ready while one master fails over, so 'ready' never tells the breaker
      // that a failover ended: it probes after a shorter openMs, and whenever the node pool changes.
      const clusterDefaults = this.connection.isCluster ? { openMs: CLUSTER_OPEN_MS } : {};
      const breaker = new CircuitBreaker({
        ...clusterDefaults,
        ...(breakerOptions as RedisBreakerOptions),
        backend: this.decisions,
      });
      if (this.connection.isCluster) {
        this.connection.on('+node', () => breaker.probeNow());
        this.connection.on('-node', () => breaker.probeNow());
      }
      breaker.on('open', (error) => {
        this.emit('open', error);
        this.pingWhileOpen();
      });
      breaker.on('halfOpen', (error) => this.emit('halfOpen', error));
      breaker.on('close', () => this.emit('close'));
      this.breaker = breaker;
      this.guarded = breaker;
      this.decisions.breaker = breaker;
    }
    this.heartbeatKey = heartbeatKey;
    this.heartbeatMs = heartbeatMs;
  }

  evaluate(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
  ): readonly StepOutcome[] | Promise<readonly StepOutcome[]> {
    if (this.closed) return Promise.reject(new ClosedError('RedisBackend'));
    // The breaker runs inline in the decision path (see RedisDecisions.breaker).
    if (this.denyCache === undefined) return this.decisions.evaluate(space, key, cost, peek);
    return this.denyCache.evaluate(this.decide, space, key, cost, peek);
  }

  delete(space: Keyspace, key: string): void | Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('RedisBackend'));
    if (this.denyCache === undefined) return this.guarded.delete(space, key);
    return this.denyCache.forgetAfter(key, this.guarded.delete(space, key));
  }

  /**
   * Starts learning the number of instances from heartbeats (unless `instances` was given): called by the
   * first limiter on this backend whose onBackendError is 'local', with its prefix, under which the
   * heartbeats go (`<prefix>:instances`, unless `heartbeatKey` was given). Nothing beats before that, so a
   * backend whose limiters never decide locally writes nothing but their state.
   */
  watchInstances(prefix: string): void {
    if (this.configuredInstances !== undefined || this.heartbeat !== undefined || this.closed) return;
    const heartbeat = new Heartbeat(
      this.connection,
      this.heartbeatKey ?? `${prefix}:instances`,
      this.heartbeatMs,
    );
    this.heartbeat = heartbeat;
    if (isReady(this.connection)) heartbeat.start();
    else this.connection.once('ready', () => heartbeat.start());
  }

  /** Instances sharing this Redis, for the local fallback: configured, or learned from heartbeats. */
  instanceCount(): number {
    return this.configuredInstances ?? this.heartbeat?.instances ?? 1;
  }

  /** The breaker's state, the mode, recent latency, the last error and the decision path's counts. */
  health(): RedisBackendHealth {
    const breaker: BackendHealth = this.breaker?.health() ?? {
      state: 'closed',
      since: 0,
      consecutiveFailures: 0,
      latencyMs: { p50: 0, p99: 0, samples: 0 },
    };
    return {
      ...breaker,
      mode: breaker.state === 'closed' ? 'redis' : 'local',
      instances: this.instanceCount(),
      connected: isReady(this.connection),
      ...this.decisions.counters,
      deniedLocally: this.denyCache?.counters.deniedLocally ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pingTimer);
    await this.heartbeat?.stop();
    await this.decisions.close();
    this.denyCache?.close();
    this.connection.off('ready', this.onReady);
    if (this.ownsConnection) await closeConnection(this.connection);
  }

  // While the breaker is open on a connection that stayed up (a hung or paused server, not a dropped one,
  // which 'ready' covers), a PING every PING_EVERY_MS tells when Redis answers again: then it probes at
  // once instead of after the rest of openMs. One PING at a time; it stops when the breaker leaves open.
  private pingWhileOpen(): void {
    const breaker = this.breaker;
    if (breaker === undefined || this.pingTimer !== undefined) return;
    let pinging = false;
    const tick = () => {
      this.pingTimer = undefined;
      if (this.closed || breaker.health().state !== 'open') return;
      if (!isReady(this.connection)) {
        this.pingTimer = setTimeout(tick, PING_EVERY_MS).unref();
        return;
      }
      if (!pinging) {
        pinging = true;
        this.connection.ping().then(
          () => {
            pinging = false;
            breaker.probeNow();
          },
          () => {
            pinging = false;
          },
        );
      }
      this.pingTimer = setTimeout(tick, PING_EVERY_MS).unref();
    };
    this.pingTimer = setTimeout(tick, PING_EVERY_MS).unref();
  }

  // The deny cache's way to Redis, bound once rather than per call.
  private readonly decide = (space: Keyspace, key: string, cost: number, peek: boolean) =>
    this.decisions.evaluate(space, key, cost, peek);

  private readonly onReady = (): void => {
    this.down = false;
    // The server accepts connections again: probe now rather than after the rest of openMs.
    this.breaker?.probeNow();
  };

  // Retries fail once per reconnect attempt; only the first of an outage is news.
  private readonly onConnectionError = (error: Error): void => {
    if (UNREACHABLE.has((error as NodeJS.ErrnoException).code ?? '')) this.decisions.serverUnreachable();
    if (this.down) return;
    this.down = true;
    if (!this.closed) this.emit('connectionError', error);
  };
}

// quit() needs a connection, and while ioredis waits to retry it leaves the reconnect timer armed;
// disconnect() clears that timer and drops the socket at once.
async function closeConnection(connection: Client): Promise<void> {
  if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
}

// Two copies of ioredis in one app (an app's and ours) fail instanceof; accept anything shaped like one.
function looksLikeIoredis(value: unknown): value is Client {
  const c = value as Partial<Redis> | null;
  return (
    typeof c === 'object' && c !== null && typeof c.evalsha === 'function' && typeof c.eval === 'function'
  );
}

// A URL in an error message must not carry its password into logs: "user:secret@" becomes "user:***@".
function withoutPassword(url: string): string {
  return url.replace(/^([^/]*\/\/[^:/@]*:)[^@/]*@/, '$1***@').replace(/^([^/@:]*:)[^@/]*@/, '$1***@');
}
