import type { Algorithm } from '../algorithms/types.js';
import type { Backend } from '../backends/types.js';
import type { Decision } from '../decision.js';
import type { RateLimiter } from '../limiter.js';
import type { InvalidConfigError } from '../errors.js';
import type { ConfigInput } from '../policy/config/document.js';
import type { KeyStoreFunction, KeyStoreOptions } from '../policy/key-store.js';
import type { ConfigSnapshot } from '../policy/snapshot.js';
import type { KeyProtectionOptions } from '../control/protection-options.js';
import type { HttpAuditOptions, HttpLoadOptions, HttpStatisticsOptions } from './control-plane.js';

/** The framework-neutral view of a request that adapters build. Header names are looked up lower-case. */
export interface HttpRequest {
  /** Client IP as the framework resolved it under its own trust-proxy setting; never parsed by hand. */
  readonly ip: string | undefined;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /**
   * The route pattern the request matched (e.g. "/users/:id") when this limit runs for that route alone
   * (route-level middleware, a route's own config, a handler's decorator); undefined when it runs app-wide.
   * With it, the limit counts per route: method (HEAD as GET) and pattern, see `routeScope`.
   */
  readonly routeId?: string | undefined;
  /** Reads one request header (first value if repeated); `name` is lower-case. */
  header(name: string): string | undefined;
  /** The framework's own request object, handed to user callbacks (keyBy, skip, cost, message). */
  readonly raw?: unknown;
}

/** What the adapter must do with the response. */
export interface HttpOutcome {
  /** Let the request through (true) or answer it with `status` and `body` (false). */
  readonly allowed: boolean;
  /** 429 by default when refused; 503 when a backend failure is configured to deny. */
  readonly status: number;
  /** Headers to set on the response, allowed or not. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON-serialisable body to send when refused. */
  readonly body: unknown;
  /** The decision behind this outcome; undefined when skipped or when the backend failed. */
  readonly decision: Decision | undefined;
  /** Why nothing was counted, when nothing was: the request was skipped or exempt. */
  readonly skipped: boolean;
  /** The backend failure behind this outcome, when there was one (for logging; already reported). */
  readonly error?: Error | undefined;
  /** With a `config`: the request's tier (absent when its key was refused before a tier was known). */
  readonly tier?: string | undefined;
  /** With a `config`, on a refusal: the tier name or rule id whose limit refused the request. */
  readonly limitedBy?: string | undefined;
  /** With a `config`: the ids of the rules the request matched (enforced and shadow), in document order. */
  readonly rules?: readonly string[] | undefined;
  /** With a `config`: true when the request's tier was shed while DEGRADED (503, not a quota's 429). */
  readonly shed?: boolean | undefined;
}

/** Computes the rate of a request, e.g. from its plan: a rate string such as "100/minute", sync or async. */
export type RateFunction = (request: HttpRequest) => string | Promise<string>;

/**
 * A live configuration: the snapshot in force now, replaced whole on a reload. `createConfigSource` builds
 * one from a document or a file (watched), with an optional Redis overlay.
 */
export interface ConfigSourceLike {
  /** The snapshot in force; a request keeps the one it started with. */
  current(): ConfigSnapshot;
  /** Listens for reloads ('reloaded') and rejected changes ('rejected'), when the source has events. */
  on?(event: 'reloaded' | 'rejected', listener: (value: never) => void): unknown;
  /** Stops what the source watches; called by the limiter only for a source it built itself. */
  close?(): Promise<void>;
}

/** Computes the key for a request; undefined or "" falls back to the client IP, never to a shared bucket. */
export type KeyFunction = (request: HttpRequest) => string | undefined | Promise<string | undefined>;

/** Which rate-limit headers to send. */
export type HeaderMode = 'legacy' | 'ietf' | 'both' | false;

/** Options of the framework-neutral HTTP limiter; every adapter accepts exactly these. */
export interface HttpLimitOptions {
  /** A ready limiter; when given, `rate`, `algorithm`, `backend`, `prefix` and `timeoutMs` must be absent. */
  limiter?: RateLimiter;
  /**
   * Shorthand for `algorithm: slidingWindow(rate)`, e.g. "100/minute"; or a function of the request giving
   * its rate (sync or async), e.g. by plan. Every rate counts in the same keys, so a client whose rate
   * changes keeps its count; rates travel to Redis as arguments, so no rate loads a script of its own. A
   * function that throws or returns something that is not a rate gives the default "60/minute" and a
   * 'configError' event.
   */
  rate?: string | RateFunction;
  /**
   * Limits as data: tiers chosen by API key and rules per route (see ConfigInput), as a document, a JSON
   * file's path (validated now, reloaded when it changes) or a ready source. Excludes `rate`, `algorithm`,
   * `limiter`, `keyBy`, `cost` and `scope`: the configuration says who is counted and what costs what.
   */
  config?: ConfigInput | string | ConfigSourceLike;
  /**
   * With `config`: the app's own lookup of API keys the configuration does not list (its database): a
   * function from the key to a tier name (or undefined when unknown), or options with a cache size, TTLs,
   * a timeout and `onKeyStoreError`. Results are cached, unknown keys too.
   */
  keyStore?: KeyStoreFunction | KeyStoreOptions;
  /**
   * With `config`: audit events (invalid keys, IP blocks, configuration reloads and rejections, the
   * breaker) kept in the backend's capped stream `<prefix>:audit`, and written as JSON lines to `logger`
   * if given. Default on (stream only); false turns it off.
   */
  audit?: false | HttpAuditOptions;
  /**
   * With `config`: allowed and limited counts per tier and rule, per minute, kept in the backend and shared
   * by every instance (flushed every `flushMs`, default 1000: what a crash can lose). Default on.
   */
  statistics?: HttpStatisticsOptions;
  /**
   * With `config`: API-key protection. A key of the wrong format is invalid before any lookup; invalid keys
   * are counted per client IP (IPv6 by /64), and `maxInvalid` (10) in `window` (a minute) block the IP for
   * `blockFor` (15 minutes), doubling per repeat offence up to `maxBlock` (24 hours): a blocked IP is
   * answered 403 with Retry-After. Default on; false turns it off.
   */
  protection?: false | KeyProtectionOptions;
  /**
   * With `config`: the load state, NORMAL or DEGRADED. In DEGRADED a tier with `degraded` gets that limit,
   * every other tier its base rate without burst, and a tier with `shed` is answered 503. An operator sets
   * it fleet-wide (admin API, `limiter.load.set`); `monitor` adds an automatic state per instance. Default
   * on, automatic off; false turns it off (always NORMAL).
   */
  load?: false | HttpLoadOptions;
  /** Any algorithm (default: slidingWindow of `rate`, or of "60/minute" when neither is given). */
  algorithm?: Algorithm;
  /** Where counts live (default: a new MemoryBackend). */
  backend?: Backend;
  /** Key namespace (default "dl"). */
  prefix?: string;
  /**
   * Backend timeout in ms (default 1000). Async keyBy, skip, cost and message callbacks are bounded by it
   * too: one that has not settled by then gets its documented fallback and a 'configError' event.
   */
  timeoutMs?: number;
  /** Who is limited: a KeyFunction, or `ip()` / `header(name)` (default: `ip()`). */
  keyBy?: KeyFunction;
  /** Return true to let a request through uncounted; if it throws, rejects or times out, the request is counted. */
  skip?: (request: HttpRequest) => boolean | Promise<boolean>;
  /** Paths never limited: exact strings, or RegExps tested against the path. */
  exemptPaths?: readonly (string | RegExp)[];
  /** Methods never limited, e.g. ["OPTIONS"]. */
  exemptMethods?: readonly string[];
  /**
   * What a request costs: a positive integer or a function of the request (default 1). A function result
   * that is not a positive integer (or a throw) charges 1 and is reported through the 'configError' event.
   */
  cost?: number | ((request: HttpRequest) => number | Promise<number>);
  /**
   * Counts under this scope name instead of per route (route-level) or app-wide: limits given the same
   * scope share one count on purpose, e.g. two routes that must share an allowance.
   */
  scope?: string;
  /**
   * Rate-limit header format (default "legacy": X-RateLimit-Limit, -Remaining, -Reset); "ietf" sends the
   * draft's RateLimit and RateLimit-Policy, "both" all five, false none. A refusal carries Retry-After
   * whatever the mode.
   */
  headers?: HeaderMode;
  /** Policy name in the IETF headers (default "default"). */
  policyName?: string;
  /** Status when refused (default 429). */
  statusCode?: number;
  /** Body when refused: a string (becomes `error`), an object, or a function of the request and decision. */
  message?: string | Record<string, unknown> | ((request: HttpRequest, decision: Decision) => unknown);
  /**
   * What to do when the backend fails, times out or its breaker is open (default "allow"): let the request
   * through without headers, answer 503 with Retry-After, or (`'local'`) decide it in this process's memory
   * on this instance's share of the limit (the limit divided by the backend's instance count) and answer
   * it like any decision, 429 included.
   */
  onBackendError?: 'allow' | 'deny' | 'local';
  /** Called with every backend failure (after the policy is applied); must not throw. */
  onError?: (error: Error, request: HttpRequest) => void;
  /** Called for every refused request. */
  onLimited?: (request: HttpRequest, decision: Decision) => void;
}

/** Events of an HttpLimiter; a derived limiter's events also reach the limiters it was derived from. */
export interface HttpLimiterEvents {
  /** The backend failed or timed out; `onBackendError` has been applied. */
  backendError: [error: Error, request: HttpRequest];
  /** A request was refused. */
  limited: [request: HttpRequest, decision: Decision];
  /**
   * A user callback misbehaved on a request (keyBy, skip, cost or message threw, or returned a value
   * of the wrong kind); the request went on with the documented fallback.
   */
  configError: [error: Error, request: HttpRequest];
  /** With `config`: a request presented an API key that is not valid and was answered 401. */
  unknownKey: [request: HttpRequest];
  /** With `config`: a shadow rule would have refused this request (which went on). */
  shadowLimited: [request: HttpRequest, rule: string, decision: Decision];
  /** With `config`: a new configuration snapshot is in force. */
  configReloaded: [snapshot: ConfigSnapshot];
  /** With `config`: a change of configuration was not valid; the last good one stays in force. */
  configRejected: [error: InvalidConfigError];
}
