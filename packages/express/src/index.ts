import { type HttpLimitOptions, HttpLimiter, InvalidOptionError } from '@distlimiter/core';
import { directAddress, type HttpOutcome, type HttpRequest } from '@distlimiter/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Answers a refused request in place of the default JSON reply; the rate-limit headers are already set. */
export type RateLimitHandler = (
  req: Request,
  res: Response,
  next: NextFunction,
  outcome: HttpOutcome,
) => void;

/** Options of `rateLimit`: the core HTTP options (see @distlimiter/core), plus an optional refusal handler. */
export interface ExpressRateLimitOptions extends HttpLimitOptions {
  /** Called instead of sending `outcome.status` with `outcome.body` as JSON when a request is refused. */
  handler?: RateLimitHandler;
}

/**
 * The middleware `rateLimit` returns. `limiter` is exposed for its events ('limited', 'backendError',
 * 'configReloaded', ...), `reset`, and `close()`, which stops what it started itself (the watcher of a
 * `config` file path): Express has no close hook, so call it when the server stops.
 */
export type RateLimitMiddleware = RequestHandler & { readonly limiter: HttpLimiter };

// A class rather than an object literal with a closure, so a request costs one small allocation; what the
// limiter only reads when configured to (method, path, route) is read from the request when asked, and
// header() only reads the header a key function asks for.
//
// Every Express request has a hidden class of its own (see directAddress), so every property read on `req`
// misses V8's caches, and one it does not have (like `route` at the app level) walks the whole prototype
// chain: the reads here are kept to the request's own properties, and to those the plain path needs.
class ExpressHttpRequest implements HttpRequest {
  readonly ip: string | undefined;
  readonly raw: Request;

  constructor(req: Request) {
    this.ip = clientIp(req);
    this.raw = req;
  }

  get method(): string {
    return this.raw.method;
  }

  // originalUrl, not req.path: inside a router mounted at "/api", req.path drops "/api", and exemptPaths
  // must see the path the client asked for wherever the middleware is mounted.
  get path(): string {
    const url = this.raw.originalUrl;
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }

  // req.route exists only in route-level middleware: app.use() and router.use() run before a route is
  // matched, so each counts as one app-wide limit (its mount path is not in the key; give it a `scope` to
  // keep it apart). A route's path may be an array or RegExp. The router sets it on the request itself, so
  // an own-property test answers the app-level case without walking the prototype chain for it.
  get routeId(): string | undefined {
    const req = this.raw;
    if (!Object.hasOwn(req, 'route')) return undefined;
    const route = req.route as { path?: unknown } | undefined;
    return route === undefined ? undefined : req.baseUrl + String(route.path);
  }

  header(name: string): string | undefined {
    return this.raw.get(name);
  }
}

// req.ip is proxy-addr over the socket address and X-Forwarded-For, trimmed by the 'trust proxy' setting;
// directAddress answers the same without it when the header is absent.
function clientIp(req: Request): string | undefined {
  return directAddress(req) ?? req.ip;
}

/**
 * Express middleware that rate-limits requests: `app.use(rateLimit({ rate: '100/minute' }))` app-wide
 * (unmatched paths included), or per route, `app.post('/login', rateLimit({ rate: '5/minute' }), handler)`,
 * where it counts per route (method and pattern), so two routes never share a count unless given the same
 * `scope`. The client IP is `req.ip`, so Express's `trust proxy` setting decides which address it is.
 */
export function rateLimit(options: ExpressRateLimitOptions = {}): RateLimitMiddleware {
  const { handler, ...httpOptions } = options ?? {};
  if (handler !== undefined && typeof handler !== 'function') {
    throw new InvalidOptionError('handler', handler, 'a function (req, res, next, outcome)');
  }
  // Built now, so a bad option throws when the app starts rather than on its first request.
  const limiter = new HttpLimiter(httpOptions);

  // Not async: on a synchronous backend (memory, default options) the outcome is applied and next()
  // called in the same tick, with no promise of our own.
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const outcome = limiter.evaluate(new ExpressHttpRequest(req));
    if (outcome instanceof Promise) {
      outcome.then((o) => apply(o, req, res, next, handler), next);
    } else {
      apply(outcome, req, res, next, handler);
    }
  };
  return Object.assign(middleware, { limiter });
}

function apply(
  outcome: HttpOutcome,
  req: Request,
  res: Response,
  next: NextFunction,
  handler: RateLimitHandler | undefined,
): void {
  try {
    const headers = outcome.headers;
    for (const name in headers) res.setHeader(name, headers[name]!);
    if (!outcome.allowed) {
      if (handler) handler(req, res, next, outcome);
      else res.status(outcome.status).json(outcome.body);
      return;
    }
  } catch (error) {
    next(error);
    return;
  }
  // Outside the try, so an error thrown further down the chain is never reported as ours.
  next();
}

export { type AdminRouter, adminRouter, type ExpressAdminOptions } from './admin.js';
