import { type AdminHandler, type AdminOptions, createAdminHandler } from '@distlimiter/core/admin';
import { type Context, Hono } from 'hono';
import { socketIp } from './headers-at-write-head.js';

/** Options of `adminApp`: those of core's createAdminHandler, plus how to find the client IP. */
export interface HonoAdminOptions extends AdminOptions {
  /** The client IP (default: the Node socket's remote address, as `rateLimit`'s default `getIp`). */
  getIp?: (c: Context) => string | undefined;
}

/** The sub-app `adminApp` returns; `admin` is the framework-neutral handler it serves. */
export type AdminApp = Hono & { readonly admin: AdminHandler };

const BODILESS = new Set(['GET', 'HEAD']);

/**
 * The admin API (@distlimiter/core/admin) as a Hono sub-app: `app.route('/admin', adminApp({ limiter:
 * limit.limiter }))`. Its paths are relative to where it is routed (the mount path, parameters included,
 * is stripped). Route it before `app.use(rateLimit(...))` so the admin API is not counted by the limits it
 * steers; it has its own limit (`rate`, default 60/minute per IP). Throws InvalidOptionError now when no
 * admin token is given (nor DISTLIMITER_ADMIN_TOKEN set).
 */
export function adminApp(options: HonoAdminOptions): AdminApp {
  const { getIp = socketIp, ...adminOptions } = options;
  const admin = createAdminHandler(adminOptions);
  const app = new Hono();
  const serve = async (c: Context): Promise<Response> => {
    const raw = c.req.raw;
    // A middleware that read the body (c.req.json()) left it in Hono's cache; the raw stream is spent.
    const body =
      raw.bodyUsed && !BODILESS.has(raw.method) ? await c.req.json().catch(() => undefined) : undefined;
    const request = new Request(relativeUrl(c), {
      method: raw.method,
      headers: raw.headers,
      ...(raw.bodyUsed || BODILESS.has(raw.method) ? {} : { body: raw.body, duplex: 'half' }),
    } as RequestInit);
    return admin.fetch(request, { ip: getIp(c), ...(body === undefined ? {} : { body }) });
  };
  app.all('/', serve);
  app.all('/*', serve);
  return Object.assign(app, { admin });
}

// The request's URL with the path where the sub-app is routed taken off (as many segments as its base has,
// so a base with parameters works too); the rest stays percent-encoded.
function relativeUrl(c: Context): string {
  const route = c.req.matchedRoutes[c.req.routeIndex] as { basePath?: string } | undefined;
  const depth = (route?.basePath ?? '/').split('/').filter((s) => s !== '').length;
  const url = new URL(c.req.url);
  const rest = url.pathname.split('/').slice(1 + depth);
  return `http://admin/${rest.join('/')}${url.search}`;
}
