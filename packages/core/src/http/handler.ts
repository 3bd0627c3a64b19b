import { EventEmitter } from 'node:events';
import type { Decision } from '../decision.js';
import { Deadlines } from '../deadlines.js';
import { CallbackTimeoutError, InvalidCostError, InvalidKeyError, InvalidOptionError } from '../errors.js';
import type { RateLimiter } from '../limiter.js';
import { RateHeaders } from './headers.js';
import { ipNetwork } from './ip.js';
import { sha256, sourceKey, UNKNOWN_IP_KEY } from './keys.js';
import {
  checkOptionKeys,
  type HttpSettings,
  isPositiveInteger,
  LIMITER_OPTION_KEYS,
  resolveLimiter,
  resolveSettings,
} from './options.js';
import { refusalBody, SERVICE_UNAVAILABLE_BODY } from './response.js';
import type { HeaderMode, HttpLimiterEvents, HttpLimitOptions, HttpOutcome, HttpRequest } from './types.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The outcome of an exempt or skipped request: let through, nothing counted, no headers. */
const SKIPPED: HttpOutcome = Object.freeze({
  allowed: true,
  status: 200,
  headers: NO_HEADERS,
  body: undefined,
  decision: undefined,
  skipped: true,
});

// A backend failure configured to deny answers 503 with Retry-After: 1, because failures are usually
// brief (a failover, a reconnect) and clients that honour it come back soon without hammering.
const DENY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'Retry-After': '1' });

// Scopes longer than this (in bytes) are hashed, keeping every key well under the limiter's 1 KiB limit.
const MAX_SCOPE_BYTES = 128;

// One warning per process: the cause (a missing trust proxy setting) is global, and so is the fix.
let warnedUnknownIp = false;

/** Shared by a limiter and everything derived from it. */
interface Family {
  readonly warned: Set<string>;
}

/** What `derive` hands the constructor; module-private, so only `derive` can build a child. */
class DeriveContext {
  constructor(
    readonly parent: HttpLimiter,
    readonly scope: string,
  ) {}
}

/**
 * The framework-neutral rate limiter for HTTP requests. Adapters turn their request into an HttpRequest,
 * call `handle`, and apply the HttpOutcome; everything else (keys, skipping, cost, headers, bodies and
 * backend failures) is decided here, once, for all frameworks.
 */
export class HttpLimiter extends EventEmitter<HttpLimiterEvents> {
  /** The RateLimiter that counts (shared with the parent when derived without limiter overrides). */
  readonly limiter: RateLimiter;
  /** The scope given to `derive`, undefined for a limiter built directly. */
  readonly scope: string | undefined;
  /** Which rate-limit headers this limiter sends. */
  readonly headerMode: HeaderMode;
  private readonly settings: HttpSettings;
  // The options a derived limiter starts from: everything except what builds the RateLimiter.
  private readonly inheritable: HttpLimitOptions;
  private readonly parent: HttpLimiter | undefined;
  private readonly family: Family;
  private readonly keyPrefix: string;
  private readonly rateHeaders: RateHeaders;
  private readonly hasExemptions: boolean;
  // True when no callback or exemption is configured, so handle() can take its lean path.
  private readonly plain: boolean;
  // What limit() is given for the fixed cost: undefined for 1, the default, so the limiter skips a lookup.
  private readonly costOptions: { cost: number } | undefined;
  // Bounds async callbacks (keyBy, skip, cost, message) by the limiter's timeoutMs, so a hung lookup in
  // one of them cannot hang the request.
  private readonly callbackDeadlines: Deadlines;
  // The last client network seen and its key (see ipKey).
  private lastIp: string | undefined;
  private lastNetwork: string | undefined;
  private lastIpKey = '';

  /** Validates every option now (throwing InvalidOptionError naming the field), so requests never fail on them. */
  constructor(options?: HttpLimitOptions, context?: unknown) {
    super();
    const derive = context instanceof DeriveContext ? context : undefined;
    const own = checkOptionKeys(options);
    const parent = derive?.parent;
    const inheritable: Record<string, unknown> = parent ? { ...parent.inheritable } : {};
    for (const [k, v] of Object.entries(own)) {
      if (k !== 'limiter' && !(LIMITER_OPTION_KEYS as readonly string[]).includes(k)) inheritable[k] = v;
    }
    this.settings = resolveSettings(inheritable as HttpLimitOptions);
    this.limiter = resolveLimiter(own, parent?.limiter);
    this.inheritable = inheritable as HttpLimitOptions;
    this.parent = parent;
    this.family = parent ? parent.family : { warned: new Set() };
    this.scope = derive?.scope;
    this.keyPrefix = derive ? `${parent!.keyPrefix}r:${scopeKey(derive.scope)}|` : '';
    this.headerMode = this.settings.headers;
    this.rateHeaders = new RateHeaders(
      this.settings.headers,
      this.settings.policyName,
      this.limiter.algorithm.members,
    );
    const s = this.settings;
    this.hasExemptions = s.exemptMethods.size > 0 || s.exemptPaths.size > 0 || s.exemptPatterns.length > 0;
    this.plain =
      !this.hasExemptions && s.skip === undefined && s.keyBy === undefined && typeof s.cost === 'number';
    this.costOptions = typeof s.cost === 'number' && s.cost !== 1 ? { cost: s.cost } : undefined;
    this.callbackDeadlines = new Deadlines(this.limiter.timeoutMs);
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
    if (!this.plain) return this.handleWithCallbacks(request);
    // The default configuration (client IP, fixed cost, no skip or exemptions): no await at all.
    let decision: Decision | Promise<Decision>;
    try {
      decision = this.limiter.decide(this.ipKey(request), this.costOptions);
    } catch (error) {
      return this.backendFailure(error, request);
    }
    if (decision instanceof Promise) {
      return decision.then(
        (d) => this.decided(d, request),
        (error: unknown) => this.backendFailure(error, request),
      );
    }
    return this.decided(decision, request);
  }

  // handle() when a callback (keyBy, skip, cost) or an exemption is configured.
  private async handleWithCallbacks(request: HttpRequest): Promise<HttpOutcome> {
    try {
      if (this.hasExemptions && this.isExempt(request)) return SKIPPED;
      if (this.settings.skip !== undefined) {
        let skip = this.shouldSkip(request);
        if (typeof skip !== 'boolean') skip = await skip;
        if (skip) return SKIPPED;
      }
      // Sync key and cost functions (the common case) are used without an await, to save a microtask.
      let key = this.resolveKey(request);
      if (typeof key !== 'string') key = await key;
      let cost = this.resolveCost(request);
      if (typeof cost !== 'number') cost = await cost;
      let decision: Decision;
      try {
        decision = await this.limiter.limit(key, cost === 1 ? undefined : { cost });
      } catch (error) {
        return this.backendFailure(error, request);
      }
      return await this.decided(decision, request);
    } catch (error) {
      // Unreachable by design; if it happens anyway the request must still get an answer.
      return this.backendFailure(error, request);
    }
  }

  // The outcome of a decision; a refusal may run the async `message` callback, hence the promise.
  private decided(decision: Decision, request: HttpRequest): HttpOutcome | Promise<HttpOutcome> {
    try {
      if (decision.allowed) {
        return {
          allowed: true,
          status: 200,
          headers: this.rateHeaders.build(decision),
          body: undefined,
          decision,
          skipped: false,
        };
      }
      return this.refuse(request, decision).catch((error: unknown) => this.backendFailure(error, request));
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

  /** The key this request is counted under (with source prefix and scope), e.g. for `limiter.reset`. */
  async keyFor(request: HttpRequest): Promise<string> {
    return this.resolveKey(request);
  }

  /** Forgets what was counted for this request's key, e.g. after a successful login. */
  async reset(request: HttpRequest): Promise<void> {
    await this.limiter.reset(await this.resolveKey(request));
  }

  /**
   * A limiter for one route: `overrides` (a rate string or partial options) on top of this limiter's
   * options, sharing its backend and prefix unless overridden, and counting under keys scoped by `scope`,
   * so a route never shares counts with the global limit or with another route, even at the same rate.
   */
  derive(overrides: string | Partial<HttpLimitOptions>, scope: string): HttpLimiter {
    if (typeof scope !== 'string' || scope === '') {
      throw new InvalidOptionError('scope', scope, 'a non-empty string naming the route, e.g. "POST /login"');
    }
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

  // A skip() that throws or rejects counts the request: failing open would let a bug disable limiting.
  private shouldSkip(request: HttpRequest): boolean | Promise<boolean> {
    let skip: unknown;
    try {
      skip = this.settings.skip!(request);
    } catch (error) {
      this.configError('skip', error, request);
      return false;
    }
    if (!isPromiseLike(skip)) return Boolean(skip);
    return this.bounded('skip', skip).then(Boolean, (error: unknown) => {
      this.configError('skip', error, request);
      return false;
    });
  }

  private resolveKey(request: HttpRequest): string | Promise<string> {
    const keyBy = this.settings.keyBy;
    if (keyBy === undefined) return this.ipKey(request);
    let value: unknown;
    try {
      value = keyBy(request);
    } catch (error) {
      this.configError('keyBy', error, request);
      return this.ipKey(request);
    }
    if (isPromiseLike(value)) {
      return this.bounded('keyBy', value).then(
        (v) => this.finishKey(v, request),
        (error: unknown) => {
          this.configError('keyBy', error, request);
          return this.ipKey(request);
        },
      );
    }
    return this.finishKey(value, request);
  }

  private finishKey(value: unknown, request: HttpRequest): string {
    if (typeof value === 'string' && value !== '')
      return this.keyPrefix + sourceKey(this.settings.keySource, value);
    if (value !== undefined && value !== null && value !== '') {
      this.configError(
        'keyBy',
        new InvalidKeyError(value, 'a string, or undefined to fall back to the client IP'),
        request,
      );
    }
    return this.ipKey(request);
  }

  // Never a shared bucket: a request without a usable key is limited by its IP, and only a request
  // without even an IP lands in the one shared "unknown-ip" bucket, with a warning saying why.
  private ipKey(request: HttpRequest): string {
    const ip = request.ip;
    // Requests come in bursts from one client, so the last key is often the one needed again.
    if (ip === this.lastIp && ip !== undefined) return this.lastIpKey;
    const network = ipNetwork(ip);
    if (network !== undefined) {
      const key = network === this.lastNetwork ? this.lastIpKey : this.keyPrefix + sourceKey('ip', network);
      this.lastIp = ip;
      this.lastNetwork = network;
      this.lastIpKey = key;
      return key;
    }
    if (!warnedUnknownIp) {
      warnedUnknownIp = true;
      process.emitWarning(
        'A request had no client IP, so it was limited under the shared key "unknown-ip" (all such ' +
          'requests share one bucket). Make the framework resolve the client IP: behind a proxy set its ' +
          'trust proxy option (Express "trust proxy", Fastify trustProxy, Koa app.proxy), and for Hono ' +
          'pass getIp; or key requests by something else with keyBy.',
        { type: 'DistLimiterWarning', code: 'DL_UNKNOWN_IP' },
      );
    }
    return this.keyPrefix + UNKNOWN_IP_KEY;
  }

  private resolveCost(request: HttpRequest): number | Promise<number> {
    const cost = this.settings.cost;
    if (typeof cost === 'number') return cost;
    let value: unknown;
    try {
      value = cost(request);
    } catch (error) {
      this.configError('cost', error, request);
      return 1;
    }
    if (isPromiseLike(value)) {
      return this.bounded('cost', value).then(
        (v) => this.checkCost(v, request),
        (error: unknown) => {
          this.configError('cost', error, request);
          return 1;
        },
      );
    }
    return this.checkCost(value, request);
  }

  // A bad cost is a bug in the app, not in the request: the request is charged the default cost 1 (so it
  // is still limited) and the bug is reported through 'configError' rather than failing the request.
  private checkCost(value: unknown, request: HttpRequest): number {
    if (isPositiveInteger(value)) return value;
    this.configError('cost', new InvalidCostError(value), request);
    return 1;
  }

  private async refuse(request: HttpRequest, decision: Decision): Promise<HttpOutcome> {
    const s = this.settings;
    if (s.onLimited !== undefined) {
      try {
        s.onLimited(request, decision);
      } catch (error) {
        this.configError('onLimited', error, request);
      }
    }
    this.emitUp('limited', request, decision);
    return {
      allowed: false,
      status: s.statusCode,
      headers: this.rateHeaders.build(decision),
      body: await this.body(request, decision),
      decision,
      skipped: false,
    };
  }

  private async body(request: HttpRequest, decision: Decision): Promise<unknown> {
    const message = this.settings.message;
    if (message === undefined) return refusalBody(decision);
    if (typeof message === 'string') return refusalBody(decision, message);
    if (typeof message !== 'function') return message;
    try {
      let body: unknown = message(request, decision);
      if (isPromiseLike(body)) body = await this.bounded('message', body);
      return body;
    } catch (error) {
      this.configError('message', error, request);
      return refusalBody(decision);
    }
  }

  // A callback's promise, rejected with CallbackTimeoutError if it has not settled within timeoutMs.
  private bounded<T>(callback: string, work: PromiseLike<T>): Promise<T> {
    return this.callbackDeadlines.race(
      work,
      () => new CallbackTimeoutError(callback, this.limiter.timeoutMs),
    );
  }

  private backendFailure(cause: unknown, request: HttpRequest): HttpOutcome {
    const error = toError(cause);
    const s = this.settings;
    const outcome: HttpOutcome =
      s.onBackendError === 'deny'
        ? {
            allowed: false,
            status: 503,
            headers: DENY_HEADERS,
            body: SERVICE_UNAVAILABLE_BODY,
            decision: undefined,
            skipped: false,
            error,
          }
        : {
            allowed: true,
            status: 200,
            headers: NO_HEADERS,
            body: undefined,
            decision: undefined,
            skipped: false,
            error,
          };
    if (s.onError !== undefined) {
      try {
        s.onError(error, request);
      } catch {
        // onError must not throw; if it does, the request still gets its answer.
      }
    }
    this.emitUp('backendError', error, request);
    return outcome;
  }

  // Reports a misbehaving user callback. Listeners of 'configError' get every occurrence; without one, a
  // process warning is emitted once per callback, so the bug is visible but cannot flood the logs.
  private configError(callback: string, cause: unknown, request: HttpRequest): void {
    const error = toError(cause);
    if (this.emitUp('configError', error, request)) return;
    if (this.family.warned.has(callback)) return;
    this.family.warned.add(callback);
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

/** Builds an HttpLimiter; the same as `new HttpLimiter(options)`. */
export function createHttpLimiter(options?: HttpLimitOptions): HttpLimiter {
  return new HttpLimiter(options);
}

// "|" ends a scope in the key, a leading "#" marks a hashed one and "%" escapes, so distinct scope paths
// always give distinct keys.
function scopeKey(scope: string): string {
  if (Buffer.byteLength(scope) > MAX_SCOPE_BYTES) return `#${sha256(scope)}`;
  return scope.replace(/%/g, '%25').replace(/\|/g, '%7C').replace(/^#/, '%23');
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as PromiseLike<unknown>).then === 'function')
  );
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
