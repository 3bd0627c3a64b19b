import { type HttpLimitOptions, HttpLimiter, InvalidOptionError } from '@distlimiter/core';
import type { HttpOutcome, HttpRequest } from '@distlimiter/core/http';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';

/**
 * A route's `config.rateLimit`: `false` opts out, `true` uses the plugin's limit (the app-wide count), a
 * rate string or partial options give the route a limit of its own, counted per route (method and URL)
 * apart from every other route unless they name the same `scope`.
 */
export type RouteRateLimit = boolean | string | Partial<HttpLimitOptions>;

/** Options of the plugin: the core HTTP options, plus whether every route is limited by default. */
export interface FastifyRateLimitOptions extends HttpLimitOptions {
  /** Limit every route of this context unless it sets `config: { rateLimit: false }` (default true). */
  global?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The HttpLimiter of the distlimiter plugin registered in this context (the first, if several): its
     * events, `reset`, and what the admin API (`distlimiterAdmin`) steers.
     */
    distlimiter?: HttpLimiter;
  }
  interface FastifyContextConfig {
    /** This route's rate limit; see RouteRateLimit. */
    rateLimit?: RouteRateLimit;
  }
}

// A class rather than an object literal with a closure, so a request costs one small allocation; what the
// limiter only reads when configured to (method, path) is computed when asked.
class FastifyHttpRequest implements HttpRequest {
  readonly ip: string;
  readonly routeId: string | undefined;
  readonly raw: FastifyRequest;

  constructor(request: FastifyRequest, routeId: string | undefined) {
    this.ip = request.ip;
    this.routeId = routeId;
    this.raw = request;
  }

  get method(): string {
    return this.raw.method;
  }

  get path(): string {
    const url = this.raw.url;
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name];
    return typeof value === 'string' ? value : value?.[0];
  }
}

// Fastify lower-cases every header name it is given; names from this small fixed set are lower-cased
// once here rather than on every request.
const lowerNames = new Map<string, string>();

function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < 64) lowerNames.set(name, lower);
  }
  return lower;
}

// Callback style rather than async: Fastify then skips its promise handling for the hook, and on a
// synchronous backend (memory) the outcome is applied before the hook returns, with no promise at all.
// `routeId` is the route's URL for a route-level limit, undefined for the app-wide one.
function limitHook(limiter: HttpLimiter, routeId: string | undefined): onRequestHookHandler {
  return function distlimiter(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    limiter.evaluateTo(new FastifyHttpRequest(request, routeId), apply, reply, done);
  };
}

function apply(outcome: HttpOutcome, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  try {
    const headers = outcome.headers;
    for (const name in headers) reply.header(lowerName(name), headers[name]);
    if (!outcome.allowed) {
      // Answering without calling done() tells Fastify the hook answered, so the handler never runs.
      reply.code(outcome.status).type('application/json; charset=utf-8').send(JSON.stringify(outcome.body));
      return;
    }
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
}

// Route-level hooks run after the context's own onRequest hooks, so keys may use what those set.
function attach(route: RouteOptions, hook: onRequestHookHandler): void {
  const existing = route.onRequest;
  route.onRequest =
    existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
}

function routeLimiter(limiter: HttpLimiter, setting: RouteRateLimit, route: RouteOptions): HttpLimiter {
  if (typeof setting !== 'string' && (typeof setting !== 'object' || setting === null)) {
    throw new InvalidOptionError(
      `config.rateLimit of ${String(route.method)} ${route.url}`,
      setting,
      'false, true, a rate like "5/minute", or an object of rate-limit options',
    );
  }
  // Built once per route, so a request pays nothing for per-route limits beyond the check itself. Core
  // scopes it by the request's method (HEAD as GET: Fastify adds a HEAD twin to every GET route) and URL.
  return limiter.derive(setting);
}

// fastify-plugin's types import `fastify` from wherever fastify-plugin is installed, which with pnpm can be
// another copy than the app's, making the types clash; only its runtime is needed, so the type stays ours.
const skipOverride = fp as unknown as <T>(fn: T, meta: { name: string; fastify: string }) => T;

async function plugin(fastify: FastifyInstance, options: FastifyRateLimitOptions): Promise<void> {
  const { global = true, ...httpOptions } = options;
  if (typeof global !== 'boolean') throw new InvalidOptionError('global', global, 'true or false');
  const limiter = new HttpLimiter(httpOptions);
  // app.close() stops what the limiter started itself (the watcher of a `config` file path); a backend or
  // config source passed in stays the app's to close.
  fastify.addHook('onClose', () => limiter.close());
  if (!fastify.hasDecorator('distlimiter')) fastify.decorate('distlimiter', limiter);
  fastify.addHook('onRoute', (route) => {
    const setting = route.config?.rateLimit;
    if (setting === false || (setting === undefined && !global)) return;
    if (setting === undefined || setting === true) attach(route, limitHook(limiter, undefined));
    else attach(route, limitHook(routeLimiter(limiter, setting, route), route.url));
  });
  // No route means no onRoute: a request for an unknown path reaches only the context's own hooks, and
  // it must count against the app-wide limit (a scanner probing paths is still a client).
  if (global) {
    const hook = limitHook(limiter, undefined);
    fastify.addHook('onRequest', function notFound(request, reply, done) {
      if (request.is404) hook.call(this, request, reply, done);
      else done();
    });
  }
}

/**
 * Fastify plugin that rate-limits the routes of the context it is registered in (and its children), and
 * requests for unknown paths: `app.register(distlimiter, { rate: '100/minute' })`. Routes opt out or get
 * a limit of their own through `config.rateLimit`.
 */
export const distlimiter: FastifyPluginAsync<FastifyRateLimitOptions> = skipOverride(plugin, {
  name: '@distlimiter/fastify',
  fastify: '5.x',
});

export default distlimiter;

export { distlimiterAdmin, type FastifyAdminOptions } from './admin.js';
