import { type HttpLimitOptions, HttpLimiter } from '@distlimiter/core';
import type { HttpOutcome, HttpRequest } from '@distlimiter/core/http';
import type { DefaultContext, DefaultState, Middleware, Next, ParameterizedContext } from 'koa';

/** Options of `rateLimit`: the core HTTP options plus an optional replacement for the refusal response. */
export interface KoaRateLimitOptions<StateT = DefaultState, ContextT = DefaultContext>
  extends HttpLimitOptions {
  /**
   * Answers a refused request instead of the default JSON body. The rate-limit headers are already set;
   * the route handler is not called either way.
   */
  handler?: (ctx: ParameterizedContext<StateT, ContextT>, outcome: HttpOutcome) => void | Promise<void>;
}

/**
 * The middleware `rateLimit` returns. `limiter` is exposed for its events ('limited', 'configReloaded', ...),
 * `reset`, and `close()`, which stops what it started itself (the watcher of a `config` file path): Koa has
 * no close hook, so call it when the server stops.
 */
export type RateLimitMiddleware<StateT = DefaultState, ContextT = DefaultContext> = Middleware<
  StateT,
  ContextT
> & { readonly limiter: HttpLimiter };

/**
 * Koa middleware that limits requests: app-wide with `app.use` before the router (unmatched paths
 * included), or on a @koa/router route, where it counts per route (method and pattern).
 */
export function rateLimit<StateT = DefaultState, ContextT = DefaultContext>(
  options: KoaRateLimitOptions<StateT, ContextT> = {},
): RateLimitMiddleware<StateT, ContextT> {
  const { handler, ...httpOptions } = options;
  // Built now so a bad option fails at start-up, not on the first request.
  const limiter = new HttpLimiter(httpOptions);
  // Not async: on a synchronous backend (memory, default options) the decision is applied and next()
  // called with no promise or microtask of our own; Koa only needs a promise back, which next() is.
  const middleware: Middleware<StateT, ContextT> = (ctx, next) => {
    const outcome = limiter.evaluate(new KoaHttpRequest(ctx));
    if (outcome instanceof Promise) return outcome.then((o) => apply(ctx, next, o, handler));
    return apply(ctx, next, outcome, handler);
  };
  return Object.assign(middleware, { limiter });
}

function apply<StateT, ContextT>(
  ctx: ParameterizedContext<StateT, ContextT>,
  next: Next,
  outcome: HttpOutcome,
  handler: KoaRateLimitOptions<StateT, ContextT>['handler'],
): Promise<void> {
  // What ctx.set(object) does for string values, without the arrays it builds for every call.
  if (!ctx.res.headersSent) {
    const headers = outcome.headers;
    for (const name in headers) ctx.res.setHeader(name, headers[name]!);
  }
  if (outcome.allowed) return next();
  if (handler) return Promise.resolve(handler(ctx, outcome));
  ctx.status = outcome.status;
  if (outcome.body !== null && typeof outcome.body === 'object') {
    ctx.body = outcome.body;
  } else {
    // Koa sends a bare string as text/plain; the contract is JSON whatever the body's shape.
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(outcome.body ?? null);
  }
  return Promise.resolve();
}

// A class rather than an object literal with a closure, so a request costs one small allocation; what the
// limiter only reads when configured to (method, path, route) is computed when asked.
class KoaHttpRequest implements HttpRequest {
  // request.ip already honours app.proxy, so X-Forwarded-For counts only when the app trusts it.
  readonly ip: string | undefined;
  readonly raw: ParameterizedContext;

  constructor(ctx: ParameterizedContext) {
    this.ip = ctx.request.ip || undefined;
    this.raw = ctx;
  }

  get method(): string {
    return this.raw.method;
  }

  get path(): string {
    return this.raw.path;
  }

  // @koa/router records the matched pattern here; it is absent when the middleware runs before routing,
  // which makes an app.use() limit one app-wide count.
  get routeId(): string | undefined {
    const route = (this.raw as { _matchedRoute?: string | RegExp })._matchedRoute;
    return route === undefined ? undefined : String(route);
  }

  header(name: string): string | undefined {
    return this.raw.get(name) || undefined;
  }
}

export { type AdminMiddleware, adminMiddleware, type KoaAdminOptions } from './admin.js';
