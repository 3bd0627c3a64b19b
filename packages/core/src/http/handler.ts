import { EventEmitter } from 'node:events';
import type { BackendHealth, Keyspace } from '../backends/types.js';
import type { Decision } from '../decision.js';
import { BackendError, type InvalidConfigError, InvalidOptionError } from '../errors.js';
import { checkScope, routeScope } from '../key-names.js';
import type { LimitOptions, RateLimiter } from '../limiter.js';
import { digestInName } from '../policy/api-keys.js';
import { KeyStore } from '../policy/key-store.js';
import { Callbacks, toError } from './callbacks.js';
import { ClientKeys } from './client-key.js';
import { resolveConfig } from './config-option.js';
import { RateHeaders } from './headers.js';
import { RatedSpaces } from './rated-spaces.js';
import { type LimitReading, TierRequests } from './tiered.js';
import { ControlPlane } from './control-plane.js';
import type { AuditLog } from '../control/audit.js';
import type { Statistics } from '../control/stats.js';
import type { KeyProtection } from '../control/protection.js';
import type { LoadStatus } from '../policy/snapshot.js';
import type { LoadState } from '../control/load-state.js';
import type { LoadMonitor } from '../control/load-monitor.js';
import { claimAppWide } from './shared-counts.js';
import { inheritOptions } from './inherit.js';
import { checkOptionKeys, type HttpSettings, resolveLimiter, resolveSettings } from './options.js';
import { Outcomes, SKIPPED } from './outcome.js';
import type {
  ConfigSourceLike,
  HeaderMode,
  HttpLimiterEvents,
  HttpLimitOptions,
  HttpOutcome,
  HttpRequest,
  RateFunction,
} from './types.js';

// With `config`, the configuration says who is counted and what a request costs.
const EXCLUDED_BY_CONFIG = ['limiter', 'rate', 'algorithm', 'keyBy', 'cost', 'scope'] as const;

/** What `derive` hands the constructor; module-private, so only `derive` can build a child. */
class DeriveContext {
  constructor(
    readonly parent: HttpLimiter,
    readonly scope: string | undefined,
  ) {}
}

/**
 * The framework-neutral rate limiter for HTTP requests. Adapters turn their request into an HttpRequest,
 * call `evaluate` (or `handle`), and apply the HttpOutcome; everything else (keys, scopes, skipping, cost,
 * headers, bodies and backend failures) is decided here, once, for all frameworks.
 */
export class HttpLimiter extends EventEmitter<HttpLimiterEvents> {
  /** The RateLimiter that counts (shared with the parent when derived without limiter overrides). */
  readonly limiter: RateLimiter;
  /** The fixed scope this limiter counts under (the `scope` option, or given to `derive`), if any. */
  readonly scope: string | undefined;
  /** Which rate-limit headers this limiter sends. */
  readonly headerMode: HeaderMode;
  private readonly settings: HttpSettings;
  // The options a derived limiter starts from: everything except what builds the RateLimiter.
  private readonly inheritable: HttpLimitOptions;
  private readonly parent: HttpLimiter | undefined;
  // Callbacks already warned about, shared by a limiter and everything derived from it.
  private readonly warned: Set<string>;
  private readonly callbacks: Callbacks;
  private readonly clients: ClientKeys;
  private readonly outcomes: Outcomes;
  private readonly hasExemptions: boolean;
  // True when no callback or exemption is configured, so evaluate() can take its lean path.
  private readonly plain: boolean;
  // What the limiter is given for the fixed cost, app-wide and per scope: built once, not per request.
  private readonly callOptions = new Map<string, LimitOptions>();
  private readonly appWideOptions: LimitOptions | undefined;
  private readonly fixedCost: number | undefined;
  // The last route seen and its scope: requests for one route come in runs.
  private lastMethod: string | undefined;
  private lastRoute: string | undefined;
  private lastScope = '';
  // Whether this limiter has counted app-wide yet (see claimAppWide).
  private claimed = false;
  /** With `config`: where configuration snapshots come from (shared with derived limiters). */
  readonly source: ConfigSourceLike | undefined;
  private readonly ownsSource: boolean;
  private readonly tierRequests: TierRequests | undefined;
  // The keyStore option's cache, shared with derived limiters like the source.
  private readonly keyStore: KeyStore | undefined;
  // With `config`: audit, statistics and key protection, built by the limiter given the config and shared
  // by those derived from it; `ownsPlane` says which one closes them.
  private readonly plane: ControlPlane | undefined;
  private readonly ownsPlane: boolean;
  // With a `rate` function: the function, and the keyspace of each rate.
  private readonly rateFunction: RateFunction | undefined;
  private readonly rated: RatedSpaces | undefined;

  /** Validates every option now (throwing InvalidOptionError naming the field), so requests never fail on them. */
  constructor(options?: HttpLimitOptions, context?: unknown) {
    super();
    const derive = context instanceof DeriveContext ? context : undefined;
    const own = checkOptionKeys(options);
    const parent = derive?.parent;
    const config = own.config === undefined ? undefined : configuredBy(own);
    // A limiter derived from a configured one without a rate of its own follows the same configuration.
    const inherited =
      config === undefined &&
      parent?.source !== undefined &&
      !('rate' in own || 'algorithm' in own || 'limiter' in own)
        ? parent.source
        : undefined;
    this.source = config?.source ?? inherited;
    this.ownsSource = config?.owned ?? false;
    this.inheritable = inheritOptions(parent?.inheritable, own);
    this.settings = resolveSettings(this.inheritable);
    this.limiter = resolveLimiter(
      config === undefined ? own : { ...own, algorithm: defaultTierAlgorithm(config.source) },
      parent?.limiter,
    );
    this.parent = parent;
    this.warned = parent ? parent.warned : new Set();
    const s = this.settings;
    this.scope = derive?.scope ?? s.scope;
    this.headerMode = s.headers;
    if (s.onBackendError === 'local') this.limiter.backend.watchInstances?.(this.limiter.prefix);
    this.callbacks = new Callbacks(s, this.limiter.timeoutMs, (name, error, request) =>
      this.configError(name, error, request),
    );
    this.clients = new ClientKeys(s, this.callbacks);
    const headers = new RateHeaders(s.headers, s.policyName, this.limiter.algorithm.members);
    this.outcomes = new Outcomes(s, headers, this.callbacks);
    this.hasExemptions = s.exemptMethods.size > 0 || s.exemptPaths.size > 0 || s.exemptPatterns.length > 0;
    // A derived limiter sharing its parent's RateLimiter shares its rate function too.
    const rate = own.rate ?? (this.limiter === parent?.limiter ? parent.rateFunction : undefined);
    this.rateFunction = typeof rate === 'function' ? rate : undefined;
    this.rated =
      this.rateFunction === undefined
        ? undefined
        : new RatedSpaces(this.rateFunction, this.limiter, s.headers, s.policyName, this.callbacks);
    if (own.keyStore !== undefined && this.source === undefined) {
      throw new InvalidOptionError(
        'keyStore',
        own.keyStore,
        'no value without `config` (it maps keys to its tiers)',
      );
    }
    this.keyStore = own.keyStore === undefined ? parent?.keyStore : new KeyStore(own.keyStore, 'keyStore');
    for (const key of ['audit', 'statistics', 'protection', 'load'] as const) {
      if (own[key] !== undefined && this.source === undefined) {
        throw new InvalidOptionError(key, own[key], 'no value without `config`');
      }
    }
    this.plane =
      config === undefined
        ? inherited === undefined
          ? undefined
          : parent?.plane
        : new ControlPlane(this.limiter, config.source, own);
    this.ownsPlane = config !== undefined;
    this.tierRequests = this.source === undefined ? undefined : this.tierRequestsFor(this.keyStore);
    if (config !== undefined) this.listenTo(config.source);
    this.plain =
      !this.hasExemptions &&
      s.skip === undefined &&
      s.keyBy === undefined &&
      typeof s.cost === 'number' &&
      this.rated === undefined &&
      this.tierRequests === undefined;
    this.fixedCost = typeof s.cost === 'number' && s.cost !== 1 ? s.cost : undefined;
    this.appWideOptions = this.fixedCost === undefined ? undefined : { cost: this.fixedCost };
  }

  /**
   * Decides one request. Never rejects: user callbacks that throw fall back to documented defaults, and a
   * failed or slow backend (bounded by the limiter's timeoutMs) follows `onBackendError`.
   */
  handle(request: HttpRequest): Promise<HttpOutcome> {
    const outcome = this.evaluate(request);
    return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
  }

  /**
   * Like `handle`, but answers synchronously when it can (the default configuration on a synchronous
   * backend such as memory), so adapters on hot paths skip a promise; a Promise otherwise. Never throws.
   */
  evaluate(request: HttpRequest): HttpOutcome | Promise<HttpOutcome> {
    if (this.tierRequests !== undefined && this.settings.skip === undefined)
      return this.evaluateTiered(request);
    if (!this.plain) return this.evaluateWithCallbacks(request);
    // The default configuration (client IP, fixed cost, no skip or exemptions): no await at all.
    let decision: Decision | Promise<Decision>;
    const key = this.clients.ip(request);
    const scope = this.scopeOf(request);
    const options = this.optionsFor(scope);
    try {
      decision = this.limiter.decide(key, options);
    } catch (error) {
      return this.failedOver(error, request, key, this.limiter.space(scope), options?.cost ?? 1);
    }
    if (decision instanceof Promise) {
      return decision.then(
        (d) => this.decided(d, request),
        (error: unknown) =>
          this.failedOver(error, request, key, this.limiter.space(scope), options?.cost ?? 1),
      );
    }
    return this.decided(decision, request);
  }

  /**
   * Like `evaluate`, but hands the outcome to `then(outcome, a, b)` instead of returning it: at once when it
   * can (memory), else when it is decided. Adapters pass their continuation and its arguments rather than a
   * closure of their own per request. Never throws; `then` must not either.
   */
  evaluateTo<A, B>(request: HttpRequest, then: (outcome: HttpOutcome, a: A, b: B) => void, a: A, b: B): void {
    const outcome = this.evaluate(request);
    if (outcome instanceof Promise) outcome.then((o) => then(o, a, b));
    else then(outcome, a, b);
  }

  // evaluate() with a configuration (and no skip callback): synchronous whenever the tier path can be.
  private evaluateTiered(request: HttpRequest): HttpOutcome | Promise<HttpOutcome> {
    try {
      if (this.hasExemptions && this.isExempt(request)) return SKIPPED;
      // The snapshot is read once: a reload during the request does not change its answer.
      const monitor = this.monitor;
      if (monitor !== undefined) return this.monitored(monitor, request);
      const outcome = this.tierRequests!.evaluate(request, this.source!.current());
      if (!(outcome instanceof Promise)) return outcome;
      return outcome.catch((error: unknown) => this.backendFailure(error, request));
    } catch (error) {
      // Unreachable by design; if it happens anyway the request must still get an answer.
      return this.backendFailure(error, request);
    }
  }

  // A decision counted by the automatic load monitor: in flight until answered, and whether the backend
  // failed it (the error ratio).
  private monitored(monitor: LoadMonitor, request: HttpRequest): HttpOutcome | Promise<HttpOutcome> {
    monitor.enter();
    let outcome: HttpOutcome | Promise<HttpOutcome>;
    try {
      outcome = this.tierRequests!.evaluate(request, this.source!.current());
    } catch (error) {
      monitor.leave(true);
      return this.backendFailure(error, request);
    }
    // Synchronous where the tier path is (no promise of our own on the memory backend).
    if (!(outcome instanceof Promise)) {
      monitor.leave(backendFailed(outcome));
      return outcome;
    }
    return outcome.then(
      (o) => {
        monitor.leave(backendFailed(o));
        return o;
      },
      (error: unknown) => {
        monitor.leave(true);
        return this.backendFailure(error, request);
      },
    );
  }

  // The automatic load monitor, when it is enabled.
  private get monitor(): LoadMonitor | undefined {
    const m = this.plane?.load?.monitor;
    return m?.enabled === true ? m : undefined;
  }

  // evaluate() when a callback (keyBy, skip, cost) or an exemption is configured.
  private async evaluateWithCallbacks(request: HttpRequest): Promise<HttpOutcome> {
    try {
      if (this.hasExemptions && this.isExempt(request)) return SKIPPED;
      if (this.settings.skip !== undefined) {
        let skip = this.callbacks.shouldSkip(request);
        if (typeof skip !== 'boolean') skip = await skip;
        if (skip) return SKIPPED;
      }
      if (this.tierRequests !== undefined) return await this.evaluateTiered(request);
      // Sync key and cost functions (the common case) are used without an await, to save a microtask.
      let key = this.clients.of(request);
      if (typeof key !== 'string') key = await key;
      let cost = this.callbacks.cost(request);
      if (typeof cost !== 'number') cost = await cost;
      const scope = this.scopeOf(request);
      let decision: Decision;
      if (this.rated !== undefined) {
        let rated = this.rated.of(request, scope);
        if (rated instanceof Promise) rated = await rated;
        try {
          decision = await this.limiter.decideIn(rated.space, key, cost);
        } catch (error) {
          return await this.failedOver(error, request, key, rated.space, cost, rated.headers);
        }
        return await this.decided(decision, request, rated.headers);
      }
      const options = cost === 1 ? this.optionsFor(scope) : { cost, scope };
      try {
        decision = await this.limiter.limit(key, options);
      } catch (error) {
        return await this.failedOver(error, request, key, this.limiter.space(scope), cost);
      }
      return await this.decided(decision, request);
    } catch (error) {
      // Unreachable by design; if it happens anyway the request must still get an answer.
      return this.backendFailure(error, request);
    }
  }

  // The outcome of a decision; a refusal may run the async `message` callback, hence the promise.
  private decided(
    decision: Decision,
    request: HttpRequest,
    headers?: RateHeaders,
  ): HttpOutcome | Promise<HttpOutcome> {
    try {
      if (decision.allowed) return this.outcomes.allowed(decision, headers);
      const onLimited = this.settings.onLimited;
      if (onLimited !== undefined) {
        try {
          onLimited(request, decision);
        } catch (error) {
          this.configError('onLimited', toError(error), request);
        }
      }
      this.emitUp('limited', request, decision);
      const outcome = this.outcomes.refused(request, decision, headers);
      if (!(outcome instanceof Promise)) return outcome;
      return outcome.catch((error: unknown) => this.backendFailure(error, request));
    } catch (error) {
      // Unreachable by design, as above.
      return this.backendFailure(error, request);
    }
  }

  /** Whether the request's method or path is exempt; cheap and synchronous, for adapters' fast paths. */
  isExempt(request: Pick<HttpRequest, 'method' | 'path'>): boolean {
    const s = this.settings;
    const methods = s.exemptMethods;
    if (methods.size > 0 && (methods.has(request.method) || methods.has(request.method.toUpperCase()))) {
      return true;
    }
    if (s.exemptPaths.has(request.path)) return true;
    for (const pattern of s.exemptPatterns) if (pattern.test(request.path)) return true;
    return false;
  }

  /** The client identity this request is counted as, e.g. "ip:203.0.113.7", for `limiter.reset` or logs. */
  async keyFor(request: HttpRequest): Promise<string> {
    if (this.tierRequests !== undefined) {
      const client = await this.tierRequests.clientOf(request, this.source!.current());
      // A key that is not valid is counted nowhere; the IP names the client in logs.
      return client?.identity ?? this.clients.ip(request);
    }
    return this.clients.of(request);
  }

  /**
   * The scope this request is counted under: the limiter's fixed scope, else its route (method and
   * pattern, HEAD as GET) when it runs at route level; undefined for the app-wide count.
   */
  scopeOf(request: HttpRequest): string | undefined {
    if (this.scope !== undefined) return this.scope;
    const route = request.routeId;
    if (route === undefined) return undefined;
    const method = request.method;
    if (route !== this.lastRoute || method !== this.lastMethod) {
      this.lastRoute = route;
      this.lastMethod = method;
      this.lastScope = routeScope(method, route);
    }
    return this.lastScope;
  }

  /** Its RateLimiter's `health()`: the backend's (a CircuitBreaker's) health, or undefined if it has none. */
  health(): BackendHealth | undefined {
    return this.limiter.health();
  }

  /**
   * Forgets what was counted for this request's key in its scope, e.g. after a successful login; with a
   * `config`, its tier's count and those of the rules that count by its key.
   */
  async reset(request: HttpRequest): Promise<void> {
    if (this.tierRequests !== undefined) {
      await this.tierRequests.reset(request, this.source!.current());
      return;
    }
    await this.limiter.reset(await this.clients.of(request), { scope: this.scopeOf(request) });
  }

  /**
   * A limiter with `overrides` (a rate string or partial options) on top of this limiter's options,
   * sharing its backend and prefix unless overridden. Given a `scope`, it counts under that name (e.g. a
   * Nest controller); without one, it counts per route when requests carry a route, like any route-level
   * limit, and never shares counts with this limiter's app-wide count.
   */
  derive(overrides: string | Partial<HttpLimitOptions>, scope?: string): HttpLimiter {
    if (scope !== undefined) checkScope(scope);
    let options: HttpLimitOptions;
    if (typeof overrides === 'string') options = { rate: overrides };
    else if (typeof overrides === 'object' && overrides !== null && !Array.isArray(overrides))
      options = overrides;
    else {
      throw new InvalidOptionError(
        'overrides',
        overrides,
        'a rate string like "5/minute" or an options object',
      );
    }
    return new HttpLimiter(options, new DeriveContext(this, scope));
  }

  // The options handed to the limiter for one scope, built once per scope.
  private optionsFor(scope: string | undefined): LimitOptions | undefined {
    const cost = this.fixedCost;
    if (scope === undefined) {
      if (!this.claimed) {
        this.claimed = true;
        claimAppWide(this.limiter);
      }
      return this.appWideOptions;
    }
    let options = this.callOptions.get(scope);
    if (options === undefined) {
      options = cost === undefined ? { scope } : { cost, scope };
      this.callOptions.set(scope, options);
    }
    return options;
  }

  // A failed backend call: with onBackendError 'local' (and a backend failure, not a bug) the request is
  // decided in memory on this instance's share, and answered like any decision; otherwise allow or deny.
  private failedOver(
    cause: unknown,
    request: HttpRequest,
    key: string,
    space: Keyspace,
    cost: number,
    headers?: RateHeaders,
  ): HttpOutcome | Promise<HttpOutcome> {
    if (this.settings.onBackendError !== 'local' || !(cause instanceof BackendError)) {
      return this.backendFailure(cause, request);
    }
    this.reportBackendError(cause, request);
    return this.decided(this.limiter.decideLocallyIn(space, key, cost), request, headers);
  }

  /**
   * With `config`: the tier and identity of an API key given raw or as `sha256:<hex>` (as an admin knows
   * it), from the configuration's keys table; undefined when the table does not list it.
   */
  tierOfKey(key: string): { tier: string; identity: string } | undefined {
    const snapshot = this.source?.current();
    if (snapshot === undefined) return undefined;
    const hex = digestInName(key);
    return hex === undefined ? snapshot.tierOfKey(key) : snapshot.tierOfDigest(hex);
  }

  /** With `config`: every limit on `identity` as a client of `tier`, read without spending anything. */
  async peekIdentity(identity: string, tier: string): Promise<LimitReading[]> {
    if (this.tierRequests === undefined) return [];
    return this.tierRequests.inspect(identity, tier, this.source!.current());
  }

  /** With `config`: forgets everything counted for `identity` (`k#<sha256>` or `ip:<address>`), under every tier and rule. */
  async resetIdentity(identity: string): Promise<void> {
    if (this.tierRequests === undefined) return;
    await this.tierRequests.forget(identity, this.source!.current());
  }

  /**
   * Stops what this limiter started: the watcher, poller and subscriber of a configuration it loaded
   * itself (from a document or a path). A source passed in ready-made is the caller's to close, and so is
   * the backend. Idempotent.
   */
  async close(): Promise<void> {
    if (this.ownsPlane) await this.plane?.close();
    if (this.ownsSource) await this.source?.close?.();
  }

  /** With `config`: the audit log (events, and the backend's capped stream the admin API reads). */
  get audit(): AuditLog | undefined {
    return this.plane?.audit;
  }

  /** With `config`: allowed and limited counts per tier and rule, shared through the backend. */
  get statistics(): Statistics | undefined {
    return this.plane?.statistics;
  }

  /** With `config`: API-key protection (invalid attempts per IP, IP blocks). */
  get protection(): KeyProtection | undefined {
    return this.plane?.protection;
  }

  /** With `config`: the load state in force, NORMAL or DEGRADED (always NORMAL without a configuration). */
  loadStatus(): LoadStatus {
    return this.plane?.load?.status() ?? 'NORMAL';
  }

  /** With `config`: the load state (set DEGRADED or NORMAL fleet-wide, read its view), shared by derived limiters. */
  get load(): LoadState | undefined {
    return this.plane?.load;
  }

  // The tier evaluation, lent what it needs of this limiter.
  private tierRequestsFor(store: KeyStore | undefined): TierRequests {
    return new TierRequests({
      limiter: this.limiter,
      clients: this.clients,
      outcomes: this.outcomes,
      headerMode: this.settings.headers,
      onBackendError: this.settings.onBackendError,
      keyStore: store,
      audit: this.plane?.audit,
      statistics: this.plane?.statistics,
      protection: this.plane?.protection,
      loadStatus: () => this.loadStatus(),
      refuse: (request, decision, headers) => this.decided(decision, request, headers),
      backendFailure: (cause, request) => this.backendFailure(cause, request),
      reportBackendError: (error, request) => this.reportBackendError(error, request),
      configError: (name, error, request) => this.configError(name, error, request),
      unknownKey: (request) => this.emitUp('unknownKey', request),
      shadowLimited: (request, rule, decision) => this.emitUp('shadowLimited', request, rule, decision),
    });
  }

  // Reloads and rejected changes of a configuration this limiter resolved, as its own events. A rejected
  // change nobody listens to is still visible: a process warning names every problem.
  private listenTo(source: ConfigSourceLike): void {
    source.on?.('reloaded', ((snapshot) => this.emitUp('configReloaded', snapshot)) as (v: never) => void);
    source.on?.('rejected', ((error: InvalidConfigError) => {
      if (this.emitUp('configRejected', error)) return;
      process.emitWarning(
        `A configuration change was rejected and the last good configuration stays in force: ${error.message}`,
        { type: 'DistLimiterWarning', code: 'DL_CONFIG_REJECTED' },
      );
    }) as (v: never) => void);
  }

  private backendFailure(cause: unknown, request: HttpRequest): HttpOutcome {
    const error = toError(cause);
    const outcome = this.outcomes.failed(error);
    this.reportBackendError(error, request);
    return outcome;
  }

  // onError and the backendError event, for every backend failure whatever the policy made of it.
  private reportBackendError(error: Error, request: HttpRequest): void {
    const onError = this.settings.onError;
    if (onError !== undefined) {
      try {
        onError(error, request);
      } catch {
        // onError must not throw; if it does, the request still gets its answer.
      }
    }
    this.emitUp('backendError', error, request);
  }

  // Reports a misbehaving user callback. Listeners of 'configError' get every occurrence; without one, a
  // process warning is emitted once per callback, so the bug is visible but cannot flood the logs.
  private configError(callback: string, error: Error, request: HttpRequest): void {
    if (this.emitUp('configError', error, request)) return;
    if (this.warned.has(callback)) return;
    this.warned.add(callback);
    process.emitWarning(
      `The ${callback} option failed on a request (${error.message}); the request went on with the fallback ` +
        `described in the docs. Listen to the limiter's 'configError' event to see every occurrence.`,
      { type: 'DistLimiterWarning', code: 'DL_CONFIG_ERROR' },
    );
  }

  // Events go to this limiter and every limiter it was derived from, so one listener on the limiter an
  // adapter was configured with sees every route. Listener errors are contained: a request never fails
  // because of a listener.
  private emitUp<E extends keyof HttpLimiterEvents>(event: E, ...args: HttpLimiterEvents[E]): boolean {
    let heard = false;
    for (let l: HttpLimiter | undefined = this; l !== undefined; l = l.parent) {
      if (l.listenerCount(event) === 0) continue;
      heard = true;
      try {
        (l.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      } catch {
        // See above.
      }
    }
    return heard;
  }
}

// Whether the backend failed this request's decision (it was answered by a fallback or a policy).
function backendFailed(outcome: HttpOutcome): boolean {
  return outcome.error !== undefined || outcome.decision?.fallback !== undefined;
}

// Resolves the `config` option, refusing the options it replaces.
function configuredBy(own: HttpLimitOptions) {
  for (const key of EXCLUDED_BY_CONFIG) {
    if (own[key] !== undefined) {
      throw new InvalidOptionError(
        key,
        own[key],
        'no value when `config` is given (the configuration says who is counted, at what rate and cost)',
      );
    }
  }
  return resolveConfig(own.config, 'config', { backend: own.backend, prefix: own.prefix });
}

// The algorithm of the configuration's default tier: what the limiter reports as its own.
function defaultTierAlgorithm(source: ConfigSourceLike) {
  const snapshot = source.current();
  return snapshot.tiers.get(snapshot.defaultTier)!.algorithm;
}

/** Builds an HttpLimiter; the same as `new HttpLimiter(options)`. */
export function createHttpLimiter(options?: HttpLimitOptions): HttpLimiter {
  return new HttpLimiter(options);
}
