import {
  type HttpLimitOptions,
  HttpLimiter,
  type HttpOutcome,
  type HttpRequest,
  InvalidOptionError,
} from '@distlimiter/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Options of the Hono middleware: the core HTTP options, plus how to find the client IP. */
export interface HonoRateLimitOptions extends HttpLimitOptions {
  /**
   * The client IP for a request (default: the remote address of the Node socket under @hono/node-server).
   * Set it when behind a trusted proxy, or on runtimes other than Node.
   */
  getIp?: (c: Context) => string | undefined;
}

// The shape @hono/node-server puts in `c.env` (some hosts nest it under `server`); typed by hand so this
// package does not depend on the Node server at runtime.
interface NodeBindings {
  server?: NodeBindings;
  incoming?: { socket?: { remoteAddress?: string } };
  outgoing?: NodeOutgoing;
}

// The Node response (http.ServerResponse or Http2ServerResponse) @hono/node-server answers through.
interface NodeOutgoing {
  readonly headersSent?: boolean;
  setHeader?(name: string, value: string): unknown;
}

/** The remote address of the Node socket; proxy headers are never read, since any client can forge them. */
function socketIp(c: Context): string | undefined {
  const env = c.env as NodeBindings | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
}

/**
 * The Node response behind this request, when served by @hono/node-server and nothing is sent yet.
 * Headers set on it reach the client whatever Response the handler returns, since the server merges the
 * Response's headers into them, and they spare Hono a Headers object, which costs more than the handler.
 */
function nodeOutgoing(c: Context): NodeOutgoing | undefined {
  const env = c.env as NodeBindings | undefined;
  const outgoing = (env?.server ?? env)?.outgoing;
  return outgoing !== undefined && typeof outgoing.setHeader === 'function' && outgoing.headersSent === false
    ? outgoing
    : undefined;
}

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

  // Hono builds the route list on every read of routePath.
  get routeId(): string {
    return this.raw.req.routePath;
  }

  header(name: string): string | undefined {
    return this.raw.req.header(name);
  }
}

/** Hono middleware that rate-limits the requests reaching it; use with `app.use` or on a single route. */
export function rateLimiter(options: HonoRateLimitOptions = {}): MiddlewareHandler {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object of rate-limit options');
  }
  const { getIp = socketIp, ...httpOptions } = options;
  if (typeof getIp !== 'function') {
    throw new InvalidOptionError('getIp', getIp, 'a function (c) => string | undefined');
  }
  const limiter = new HttpLimiter(httpOptions);
  // Not async: on a synchronous backend (memory) the decision and headers are applied before next() is
  // called, with no promise of our own in the way.
  return function distlimiter(c, next) {
    const outcome = limiter.evaluate(new HonoHttpRequest(c, getIp(c)));
    if (outcome instanceof Promise) return outcome.then((o) => apply(c, next, o));
    return apply(c, next, outcome);
  };
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

function apply(c: Context, next: Next, outcome: HttpOutcome): ReturnType<MiddlewareHandler> {
  const headers = outcome.headers;
  if (!outcome.allowed) {
    return Promise.resolve(c.json(outcome.body, outcome.status as ContentfulStatusCode, headers));
  }
  const outgoing = nodeOutgoing(c);
  if (outgoing !== undefined) {
    for (const name in headers) outgoing.setHeader!(name, headers[name]!);
    return next();
  }
  return applyWithoutNode(c, next, headers);
}
