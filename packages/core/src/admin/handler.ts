import { slidingWindow } from '../algorithms/sliding-window.js';
import { BackendError, InvalidOptionError } from '../errors.js';
import type { HttpLimiter } from '../http/handler.js';
import { ipNetwork } from '../http/ip.js';
import { UNKNOWN_IP_KEY } from '../http/keys.js';
import { clientId } from '../key-names.js';
import { RateLimiter } from '../limiter.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { readBody } from './body.js';
import { type AdminContext, configRoutes } from './config-routes.js';
import { controlRoutes } from './control-routes.js';
import { healthRoutes } from './health-routes.js';
import { loadRoutes } from './load-routes.js';
import { auditedPath } from './keys.js';
import { AdminHttpError, errorResponse } from './respond.js';
import { type AdminCall, Router } from './router.js';
import type { AdminTarget } from './target.js';
import { type AdminCaller, type AdminTokens, TokenSet } from './tokens.js';

/** Options of createAdminHandler. */
export interface AdminOptions {
  /** What the API steers: an HttpLimiter (the one an adapter was given), or anything with AdminTarget's members. */
  limiter: HttpLimiter | AdminTarget;
  /**
   * Named tokens: values or "sha256:<hex>"; `full` may write, `read` may only GET. `false` turns
   * authentication off explicitly. Default: DISTLIMITER_ADMIN_TOKEN (full, named "env") and
   * DISTLIMITER_ADMIN_READ_TOKEN (read-only, named "env-read") from `env`. No token at all (and not
   * `false`) throws InvalidOptionError here.
   */
  tokens?: AdminTokens | false;
  /** Where the default tokens are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The admin API's own limit per client IP (IPv6 by /64), counted on the limiter's backend (default "60/minute"). */
  rate?: string;
  /** Time source in ms (default Date.now): when a key moved with `expiresInSeconds` expires. For tests. */
  clock?: () => number;
}

/** The admin API, framework-neutral: a Fetch-style function an adapter mounts. */
export interface AdminHandler {
  /**
   * Answers one admin request. `request.url`'s path is relative to where the API is mounted (adapters
   * strip the mount path); `context.ip` is the client IP as the framework resolved it; `context.body` an
   * already-parsed JSON body (Express's express.json(), Fastify's parser), used instead of reading the
   * request's. Never rejects: every failure is a JSON error response.
   */
  fetch(request: Request, context?: { ip?: string; body?: unknown }): Promise<Response>;
  /** Stops answering (503 afterwards); closes nothing of the limiter's. Idempotent. */
  close(): Promise<void>;
}

/** Every key AdminOptions accepts. */
export const ADMIN_OPTION_KEYS = keysOf<AdminOptions>()(['limiter', 'tokens', 'env', 'rate', 'clock']);

/** The admin API's own limit per client IP, unless `rate` says otherwise. */
export const DEFAULT_ADMIN_RATE = '60/minute';

// The admin API's limit counts under this scope, apart from every limit the app's requests count in.
const ADMIN_SCOPE = 'admin';
const UNAUTHORIZED_MESSAGE = 'A valid admin token is required: Authorization: Bearer <token>.';
const READ_ONLY_MESSAGE = 'This token may only read (GET); a change needs a full token.';

/**
 * Builds the admin API over a limiter: its configuration (rules, tiers, keys), statistics, IP blocks, audit
 * log, health and self-test. Options are checked now (InvalidOptionError naming the field); in particular,
 * a handler without any token throws unless authentication is explicitly off (`tokens: false`).
 */
export function createAdminHandler(options: AdminOptions): AdminHandler {
  return new Admin(options);
}

class Admin implements AdminHandler {
  private readonly tokens: TokenSet;
  private readonly router: Router;
  private readonly ctx: AdminContext;
  private readonly guard: RateLimiter;
  private closed = false;

  constructor(options: AdminOptions) {
    const o = knownKeys(options, ADMIN_OPTION_KEYS, 'admin options');
    const target = checkTarget(o.limiter);
    const env = o.env ?? process.env;
    if (typeof env !== 'object' || env === null) {
      throw new InvalidOptionError('env', env, 'an object of environment variables, like process.env');
    }
    this.tokens = new TokenSet(o.tokens, env as NodeJS.ProcessEnv);
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError('clock', o.clock, 'a function returning the time in ms, like Date.now');
    }
    const rate = o.rate ?? DEFAULT_ADMIN_RATE;
    // The local fallback when the backend fails: the API stays usable in an outage (to see it, or to steer
    // it), and a token guesser is still slowed down.
    this.guard = new RateLimiter({
      algorithm: adminRate(rate),
      backend: target.limiter.backend,
      prefix: target.limiter.prefix,
      onBackendError: 'local',
    });
    this.ctx = { target, clock: (o.clock as (() => number) | undefined) ?? Date.now };
    this.router = new Router([
      ...configRoutes(this.ctx),
      ...controlRoutes(this.ctx),
      ...healthRoutes(this.ctx),
      ...loadRoutes(this.ctx),
    ]);
  }

  async fetch(request: Request, context?: { ip?: string; body?: unknown }): Promise<Response> {
    try {
      const response = await this.answer(request, context);
      return request.method === 'HEAD' ? new Response(null, response) : response;
    } catch (error) {
      return failure(error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async answer(
    request: Request,
    context: { ip?: string; body?: unknown } | undefined,
  ): Promise<Response> {
    if (this.closed) return errorResponse(503, 'The admin API was closed.');
    const url = new URL(request.url);
    const resolved = this.router.resolve(request.method.toUpperCase(), url.pathname);
    // The probes answer before anything else: no token, no limit, whatever the backend's state.
    if (resolved.kind === 'route' && resolved.route.open) {
      return resolved.route.run(
        this.call(request, url, resolved.params, context, { name: '', access: 'read' }),
      );
    }
    const ip = typeof context?.ip === 'string' && context.ip !== '' ? context.ip : undefined;
    const limited = await this.limited(ip);
    if (limited !== undefined) return limited;
    const caller = this.tokens.check(request.headers.get('authorization'));
    if (caller === undefined) {
      const presented = request.headers.has('authorization');
      const challenge = `Bearer realm="distlimiter-admin"${presented ? ', error="invalid_token"' : ''}`;
      return errorResponse(401, UNAUTHORIZED_MESSAGE, {}, { 'WWW-Authenticate': challenge });
    }
    const method = request.method.toUpperCase();
    const write = method !== 'GET' && method !== 'HEAD';
    const response = await this.route(request, url, resolved, context, caller, write);
    if (write) this.audit(caller, method, url, response.status, ip);
    return response;
  }

  private async route(
    request: Request,
    url: URL,
    resolved: ReturnType<Router['resolve']>,
    context: { ip?: string; body?: unknown } | undefined,
    caller: AdminCaller,
    write: boolean,
  ): Promise<Response> {
    try {
      if (resolved.kind === 'bad') return errorResponse(400, resolved.message);
      if (resolved.kind === 'none') {
        return errorResponse(404, `There is no admin endpoint at ${url.pathname}.`);
      }
      if (resolved.kind === 'method') {
        return errorResponse(
          405,
          `${request.method} is not allowed on ${url.pathname}; allowed: ${resolved.allow.join(', ')}.`,
          {},
          { Allow: resolved.allow.join(', ') },
        );
      }
      if (write && caller.access !== 'full') return errorResponse(403, READ_ONLY_MESSAGE);
      return await resolved.route.run(this.call(request, url, resolved.params, context, caller));
    } catch (error) {
      return failure(error);
    }
  }

  private call(
    request: Request,
    url: URL,
    params: Record<string, string>,
    context: { ip?: string; body?: unknown } | undefined,
    caller: AdminCaller,
  ): AdminCall {
    let body: Promise<unknown> | undefined;
    return {
      request,
      url,
      params,
      ip: context?.ip,
      caller,
      body: () => {
        body ??= readBody(request, context);
        return body;
      },
    };
  }

  // The admin API's own limit per client IP: 429 with Retry-After when spent.
  private async limited(ip: string | undefined): Promise<Response | undefined> {
    const network = ip === undefined ? undefined : ipNetwork(ip);
    const key = network === undefined ? UNKNOWN_IP_KEY : clientId('ip', network);
    const decision = await this.guard.limit(key, { scope: ADMIN_SCOPE });
    if (decision.allowed) return undefined;
    const seconds = Number.isFinite(decision.retryAfterMs)
      ? Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
      : 60;
    return errorResponse(
      429,
      `Too many admin requests from this address; retry in ${seconds} s.`,
      {},
      { 'Retry-After': String(seconds) },
    );
  }

  // Every write, whatever its answer, under the token's name; the path's API key (if any) as a hint only.
  private audit(caller: AdminCaller, method: string, url: URL, status: number, ip: string | undefined): void {
    const audit = this.ctx.target.audit;
    if (audit === undefined) return;
    let path: string;
    try {
      path = auditedPath(
        url.pathname
          .split('/')
          .filter((s) => s !== '')
          .map((s) => decodeURIComponent(s)),
      );
    } catch {
      path = '(a path that is not valid percent-encoding)';
    }
    try {
      audit.record({ type: 'adminWrite', token: caller.name, method, path, status }, ip);
    } catch {
      // An audit sink must never fail a request.
    }
  }
}

// The admin API's own rate, its errors naming the option rather than the algorithm's parameter.
function adminRate(rate: unknown) {
  try {
    return slidingWindow(rate as string);
  } catch (error) {
    if (error instanceof InvalidOptionError)
      throw new InvalidOptionError('rate', rate, error.expected, error.code);
    throw error;
  }
}

function checkTarget(value: unknown): AdminTarget {
  const t = value as Partial<AdminTarget> | null;
  const ok =
    typeof t === 'object' &&
    t !== null &&
    typeof t.limiter === 'object' &&
    t.limiter !== null &&
    typeof t.limiter.backend === 'object' &&
    typeof t.limiter.prefix === 'string' &&
    typeof t.tierOfKey === 'function' &&
    typeof t.peekIdentity === 'function' &&
    typeof t.resetIdentity === 'function' &&
    typeof t.health === 'function';
  if (!ok) {
    throw new InvalidOptionError(
      'limiter',
      value,
      "an HttpLimiter (the one the app is limited by), or an object with AdminTarget's members",
    );
  }
  return t as AdminTarget;
}

// An error a route did not turn into an answer: the backend's is a 503, anything else a 500.
function failure(error: unknown): Response {
  if (error instanceof AdminHttpError) return error.response();
  if (error instanceof BackendError) {
    return errorResponse(503, `The backend failed: ${error.message}`, {}, { 'Retry-After': '1' });
  }
  const message = error instanceof Error ? error.message : String(error);
  return errorResponse(500, `The admin API failed: ${message}`);
}
