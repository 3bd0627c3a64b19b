import { type HttpLimitOptions, HttpLimiter, InvalidOptionError } from '@distlimiter/core';
import type { HttpOutcome, HttpRequest } from '@distlimiter/core/http';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { addAtWriteHead, nodeOutgoing, socketIp } from './headers-at-write-head.js';

/** Options of the Hono middleware: the core HTTP options, plus how to find the client IP. */
export interface HonoRateLimitOptions extends HttpLimitOptions {
  /**
   * The client IP for a request (default: the remote address of the Node socket under @hono/node-server).
   * Set it when behind a trusted proxy, or on runtimes other than Node.
   */
  getIp?: (c: Context) => string | undefined;
}

/**
 * The middleware `rateLimit` returns. `limiter` is exposed for its events ('limited', 'configReloaded', ...),
 * `reset`, and `close()`, which stops what it started itself (the watcher of a `config` file path): Hono has
 * no close hook, so call it when the server stops.
 */
export type RateLimitMiddleware = MiddlewareHandler & { readonly limiter: HttpLimiter };

// Hono registers `app.use` (and `app.all`) handlers under this method name.
const ANY_METHOD = 'ALL';

// A class rather than an object literal with closures, so a request costs one small allocation; the
// fields the limiter only reads when configured to (path, method, route) are computed when asked.
class HonoHttpRequest implements HttpRequest {
  readonly ip: string | undefined;
  readonly raw: Context;

  constructor(c: Context, ip: string | undefined) {
    this.ip = ip;
    this.raw = c;
  }

  get method(): string {
    return this.raw.req.method;
  }

  get path(): string {
    return this.raw.req.path;
  }

  // The pattern of the route this middleware was registered on, when it was registered for one method
  // (`app.post('/login', rateLimit(), ...)`); `app.use` limits (method ALL) are app-wide, or cover a
  // path prefix, and count as one.
  get routeId(): string | undefined {
    const req = this.raw.req;
    const route = req.matchedRoutes[req.routeIndex];
    return route === undefined || route.method === ANY_METHOD ? undefined : route.path;
  }

  header(name: string): string | undefined {
    return this.raw.req.header(name);
  }
}

/**
 * Hono middleware that rate-limits the requests reaching it: `app.use(rateLimit({ rate: '100/minute' }))`
 * app-wide (unmatched paths included), or on one route, `app.post('/login', rateLimit({ rate: '5/minute' }), ...)`,
 * where it counts per route.
 */
export function rateLimit(options: HonoRateLimitOptions = {}): RateLimitMiddleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object of rate-limit options');
  }
  const { getIp = socketIp, ...httpOptions } = options;
  if (typeof getIp !== 'function') {
    throw new InvalidOptionError('getIp', getIp, 'a function (c) => string | undefined');
  }
  const limiter = new HttpLimiter(httpOptions);
  const headersOn = limiter.headerMode !== false;
  // Not async: on a synchronous backend (memory) the decision and headers are applied before next() is
  // called, with no promise of our own in the way.
  const middleware: MiddlewareHandler = function distlimiter(c, next) {
    const outcome = limiter.evaluate(new HonoHttpRequest(c, getIp(c)));
    if (outcome instanceof Promise) return outcome.then((o) => apply(c, next, o, headersOn));
    return apply(c, next, outcome, headersOn);
  };
  return Object.assign(middleware, { limiter });
}

/** The same middleware under its earlier name. */
export const rateLimiter = rateLimit;

function apply(
  c: Context,
  next: Next,
  outcome: HttpOutcome,
  headersOn: boolean,
): ReturnType<MiddlewareHandler> {
  const headers = outcome.headers;
  if (!outcome.allowed) {
    return Promise.resolve(c.json(outcome.body, outcome.status as ContentfulStatusCode, headers));
  }
  const outgoing = nodeOutgoing(c);
  if (outgoing !== undefined) {
    // Only a decision's headers are this request's own record; the shared ones (a backend failure's) are
    // frozen and carry nothing to merge.
    if (headersOn && outcome.decision !== undefined)
      addAtWriteHead(outgoing, headers as Record<string, string>);
    return next();
  }
  return applyWithoutNode(c, next, headers);
}

async function applyWithoutNode(
  c: Context,
  next: Next,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  let first: string | undefined;
  for (const name in headers) {
    first ??= name;
    c.header(name, headers[name]);
  }
  await next();
  // c.text()/c.json() keep headers set before next(), but a handler returning a bare Response drops them.
  if (first !== undefined && !c.res.headers.has(first)) {
    for (const name in headers) c.header(name, headers[name]);
  }
}

export { type AdminApp, adminApp, type HonoAdminOptions } from './admin.js';
