import { Readable } from 'node:stream';
import { InvalidOptionError } from '@distlimiter/core';
import { type AdminHandler, type AdminOptions, createAdminHandler } from '@distlimiter/core/admin';
import type { Middleware } from 'koa';

/** Options of `adminMiddleware`: those of core's createAdminHandler, and the path it answers under. */
export interface KoaAdminOptions extends AdminOptions {
  /** Where the admin API is mounted, e.g. "/admin": requests under it are answered, all others passed on. */
  path: string;
}

/** The middleware `adminMiddleware` returns; `admin` is the framework-neutral handler it serves. */
export type AdminMiddleware = Middleware & { readonly admin: AdminHandler };

const BODILESS = new Set(['GET', 'HEAD']);

/**
 * The admin API (@distlimiter/core/admin) as Koa middleware: `app.use(adminMiddleware({ path: '/admin',
 * limiter: limit.limiter }))` answers every request under `path` (its paths relative to it) and passes
 * the others on. A body a body parser (@koa/bodyparser, koa-bodyparser) already read is taken from
 * `ctx.request.body`; otherwise the request's own body is read. The client IP is `ctx.request.ip` (`app.proxy`
 * decides which address that is). Use it before `app.use(rateLimit(...))` so the admin API is not counted by
 * the limits it steers; it has its own limit (`rate`, default 60/minute per IP). Throws InvalidOptionError
 * now when no admin token is given (nor DISTLIMITER_ADMIN_TOKEN set).
 */
export function adminMiddleware(options: KoaAdminOptions): AdminMiddleware {
  const { path, ...adminOptions } = options ?? ({} as KoaAdminOptions);
  if (typeof path !== 'string' || !/^\/[^?#]*$/.test(path)) {
    throw new InvalidOptionError('path', path, 'the path the admin API answers under, e.g. "/admin"');
  }
  const mount = path.replace(/\/+$/, '');
  const admin = createAdminHandler(adminOptions);
  const middleware: Middleware = async (ctx, next) => {
    // ctx.path is still percent-encoded (an IPv6 /64 keeps its "%2F").
    const rest = ctx.path.slice(mount.length);
    if (!ctx.path.startsWith(mount) || (rest !== '' && !rest.startsWith('/'))) return next();
    const read = ctx.req.readableEnded;
    const parsed = (ctx.request as { body?: unknown }).body;
    const headers = new Headers();
    for (const [name, value] of Object.entries(ctx.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const streamed = !read && !BODILESS.has(ctx.method);
    const request = new Request(`http://admin${rest === '' ? '/' : rest}${ctx.search}`, {
      method: ctx.method,
      headers,
      ...(streamed ? { body: Readable.toWeb(ctx.req) as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await admin.fetch(request, {
      ip: ctx.request.ip || undefined,
      ...(read && parsed !== undefined ? { body: parsed } : {}),
    });
    ctx.status = response.status;
    response.headers.forEach((value, name) => {
      ctx.set(name, value);
    });
    // Text, not an object: the handler's JSON as it wrote it, with the Content-Type it set.
    ctx.body = await response.text();
  };
  return Object.assign(middleware, { admin });
}
