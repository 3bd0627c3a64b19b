import { type HttpLimitOptions, HttpLimiter, type HttpOutcome, type HttpRequest } from '@distlimiter/core';
import type { DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';

/** Options of `rateLimit`: the core HTTP options plus an optional replacement for the refusal response. */
export interface KoaRateLimitOptions<StateT = DefaultState, ContextT = DefaultContext>
  extends HttpLimitOptions {
  /**
   * Answers a refused request instead of the default JSON body. The rate-limit headers are already set;
   * the route handler is not called either way.
   */
  handler?: (ctx: ParameterizedContext<StateT, ContextT>, outcome: HttpOutcome) => void | Promise<void>;
}

/** Koa middleware that limits requests; use it app-wide with `app.use` or on one @koa/router route. */
export function rateLimit<StateT = DefaultState, ContextT = DefaultContext>(
  options: KoaRateLimitOptions<StateT, ContextT> = {},
): Middleware<StateT, ContextT> {
  const { handler, ...httpOptions } = options;
  // Built now so a bad option fails at start-up, not on the first request.
  const limiter = new HttpLimiter(httpOptions);
  return async (ctx, next) => {
    const outcome = await limiter.handle(toHttpRequest(ctx));
    ctx.set(outcome.headers);
    if (outcome.allowed) return next();
    if (handler) return handler(ctx, outcome);
    ctx.status = outcome.status;
    if (outcome.body !== null && typeof outcome.body === 'object') {
      ctx.body = outcome.body;
    } else {
      // Koa sends a bare string as text/plain; the contract is JSON whatever the body's shape.
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(outcome.body ?? null);
    }
  };
}

function toHttpRequest(ctx: ParameterizedContext): HttpRequest {
  // @koa/router records the matched pattern here; it is absent when the middleware runs before routing.
  const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return {
    // ctx.ip already honours app.proxy, so X-Forwarded-For counts only when the app trusts it.
    ip: ctx.ip || undefined,
    method: ctx.method,
    path: ctx.path,
    routeId: route === undefined ? undefined : String(route),
    header: (name) => ctx.get(name) || undefined,
    raw: ctx,
  };
}
