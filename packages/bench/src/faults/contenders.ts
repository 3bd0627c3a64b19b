import { fixedWindow, RateLimiter, RedisBackend } from '@distlimiter/core';
import { Redis, type RedisOptions } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';
import { CLIENT_OPTIONS } from '../redis-options.js';

/** The limit every contender enforces: high enough that no call of the part is ever refused. */
export const LIMIT = 1_000_000;
/** Its window, in seconds. */
export const WINDOW_S = 3600;
/** Our deadline for every backend call, and the peer's RLWrapperTimeouts row: the default of RedisBackend. */
export const DEADLINE_MS = 1000;

/** How one decision ended, as the caller saw it. */
export interface Outcome {
  /** Answered by Redis (ours: no `decision.fallback`; the peer: its insurance limiter was not called). */
  redis: boolean;
  /** The call rejected with an error (not a refusal: a refusal is a decision). */
  error: boolean;
  /** The request was allowed. */
  allowed: boolean;
}

/** One side of the part, built on its own ioredis client for one run against one server. */
export interface FaultContender {
  /** One decision for `key`; never rejects (an error is an outcome). */
  decide(key: string): Promise<Outcome>;
  /** What the client and the limiter were built with, for the report. */
  setup: Record<string, unknown>;
  /** Breaker events so far (ours), in ms of `performance.now()`. */
  events: { at: number; event: string; detail?: string }[];
  /** Anything the backend reports about itself at the end (ours: `health()`). */
  health(): unknown;
  close(): Promise<void>;
}

/** A contender's recipe: a name for the table and a builder for one run. */
export interface ContenderSpec {
  id: string;
  name: string;
  build(url: string): FaultContender;
}

// The ioredis options that matter under an outage, as a client reports them.
function clientOptions(client: Redis): Record<string, unknown> {
  const o = client.options;
  return {
    enableOfflineQueue: o.enableOfflineQueue,
    maxRetriesPerRequest: o.maxRetriesPerRequest,
    enableAutoPipelining: o.enableAutoPipelining,
    commandTimeout: o.commandTimeout,
    connectTimeout: o.connectTimeout,
    // What its retryStrategy waits before reconnect attempts 1, 5 and 20 (ioredis's default: 50, 250, 1000).
    reconnectDelaysMs: o.retryStrategy ? [1, 5, 20].map((n) => o.retryStrategy!(n)) : 'none',
  };
}

// Ours: the client RedisBackend builds from a URL (its own outage settings), with the built-in breaker and
// deadline at their defaults; only the limiter's onBackendError differs between rows.
function ours(mode: 'local' | 'allow'): ContenderSpec {
  return {
    id: `ours-${mode}`,
    name: `distlimiter, onBackendError: '${mode}'`,
    build(url) {
      const backend = new RedisBackend({ client: url });
      const limiter = new RateLimiter({
        algorithm: fixedWindow(`${LIMIT}/hour`),
        backend,
        onBackendError: mode,
      });
      const events: FaultContender['events'] = [];
      const record = (event: string) => (detail?: unknown) => {
        events.push({
          at: performance.now(),
          event,
          ...(detail instanceof Error ? { detail: detail.message } : {}),
        });
      };
      backend.on('open', record('open'));
      backend.on('halfOpen', record('halfOpen'));
      backend.on('close', record('close'));
      backend.on('connectionError', record('connectionError'));
      return {
        async decide(key) {
          try {
            const d = await limiter.limit(key);
            return { redis: d.fallback === undefined, error: false, allowed: d.allowed };
          } catch {
            return { redis: false, error: true, allowed: false };
          }
        },
        setup: {
          client: 'built by RedisBackend from the URL',
          ...clientOptions(backend.client as Redis),
          backend: 'RedisBackend defaults (timeoutMs, breaker)',
          onBackendError: mode,
        },
        events,
        health: () => backend.health(),
        close: () => backend.close(),
      };
    },
  };
}

/**
 * The options rate-limiter-flexible's docs give for ioredis ("Redis-Specific Setup":
 * `new Redis({ enableOfflineQueue: false })`, so a command fails at once while disconnected and the
 * insurance limiter answers), on top of the options every client of the bench gets.
 */
export const PEER_CLIENT_OPTIONS: RedisOptions = { ...CLIENT_OPTIONS, enableOfflineQueue: false };

// Marks the options object of a call whose answer came from the insurance limiter. rate-limiter-flexible
// hands the caller's own `options` object to the insurance limiter's consume (RateLimiterInsuredAbstract
// `_handleError` passes the same params on, and RLWrapperTimeouts passes them to the wrapped limiter), so a
// fresh object per call tells which calls the store did not answer, whatever the error was.
const INSURED = Symbol('insured');
type Marked = { [INSURED]?: boolean };

function insurance(): RateLimiterMemory {
  const memory = new RateLimiterMemory({ points: LIMIT, duration: WINDOW_S });
  const consume = memory.consume.bind(memory);
  memory.consume = (key, points, options) => {
    if (options) (options as Marked)[INSURED] = true;
    return consume(key, points, options);
  };
  return memory;
}

// The peer: RateLimiterRedis with a RateLimiterMemory of the same points and duration as its insurance
// limiter, on a client with its recommended options; optionally wrapped in RLWrapperTimeouts with our
// deadline, which is how rate-limiter-flexible bounds a call (RateLimiterRedis itself has no timeout).
function peer(timeouts: boolean): ContenderSpec {
  return {
    id: timeouts ? 'peer-timeouts' : 'peer',
    name: timeouts
      ? `rate-limiter-flexible + insurance + RLWrapperTimeouts ${DEADLINE_MS} ms`
      : 'rate-limiter-flexible + insurance',
    build(url) {
      const client = new Redis(url, PEER_CLIENT_OPTIONS);
      const events: FaultContender['events'] = [];
      // An app listens for errors; without a listener ioredis logs every failed reconnect.
      client.on('error', (error: Error) => {
        events.push({ at: performance.now(), event: 'clientError', detail: error.message });
      });
      const redisLimiter = new RateLimiterRedis({
        storeClient: client,
        keyPrefix: 'dlbench-faults',
        points: LIMIT,
        duration: WINDOW_S,
        insuranceLimiter: insurance(),
      });
      const limiter: RateLimiterAbstract = timeouts
        ? (new RLWrapperTimeouts({ limiter: redisLimiter, timeoutMs: DEADLINE_MS }) as RateLimiterAbstract)
        : redisLimiter;
      return {
        async decide(key) {
          const options: Marked = {};
          try {
            await limiter.consume(key, 1, options as Record<string, unknown>);
            return { redis: !options[INSURED], error: false, allowed: true };
          } catch (rejection) {
            // A RateLimiterRes is a refusal; anything else is an error the caller has to handle.
            if (rejection instanceof RateLimiterRes) {
              return { redis: !options[INSURED], error: false, allowed: false };
            }
            return { redis: false, error: true, allowed: false };
          }
        },
        setup: {
          client: 'ioredis, built by the bench',
          ...clientOptions(client),
          limiter: `RateLimiterRedis ${LIMIT}/${WINDOW_S}s, insuranceLimiter RateLimiterMemory ${LIMIT}/${WINDOW_S}s`,
          ...(timeouts ? { wrapper: `RLWrapperTimeouts timeoutMs ${DEADLINE_MS}` } : {}),
        },
        events,
        health: () => ({ status: client.status }),
        async close() {
          client.disconnect();
        },
      };
    },
  };
}

/** Every contender, ours first; each runs alone, on its own client and its own redis-server. */
export const CONTENDERS: readonly ContenderSpec[] = [ours('local'), ours('allow'), peer(false), peer(true)];
