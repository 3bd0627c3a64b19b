import { Readable } from 'node:stream';
import { type AdminHandler, type AdminOptions, createAdminHandler } from '@distlimiter/core/admin';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Options of `adminRouter`: those of core's createAdminHandler (`limiter`, `tokens`, `rate`, `env`). */
export type ExpressAdminOptions = AdminOptions;

/** The middleware `adminRouter` returns; `admin` is the framework-neutral handler it mounts. */
export type AdminRouter = RequestHandler & { readonly admin: AdminHandler };

/**
 * The admin API (@distlimiter/core/admin) as Express middleware, mounted where it should answer:
 * `app.use('/admin', adminRouter({ limiter: limit.limiter }))`. Express strips the mount path from
 * `req.url`, so the API's paths are relative to it. A body express.json() already parsed is used as is;
 * without a body parser the request's own body is read. The client IP is `req.ip` (Express's `trust
 * proxy` decides which address that is). Mount it before the app-wide `rateLimit` so the admin API is not
 * counted by the limits it steers; it has its own limit (`rate`, default 60/minute per IP).
 * Throws InvalidOptionError now when no admin token is given (nor DISTLIMITER_ADMIN_TOKEN set).
 */
export function adminRouter(options: ExpressAdminOptions): AdminRouter {
  const admin = createAdminHandler(options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    let request: globalThis.Request;
    try {
      request = toFetchRequest(req);
    } catch (error) {
      next(error);
      return;
    }
    admin
      .fetch(request, { ip: req.ip, ...(bodyWasRead(req) ? { body: req.body } : {}) })
      .then((response) => reply(response, res))
      .catch(next);
  };
  return Object.assign(middleware, { admin });
}

// A body parser (express.json(), express.text()) has read the stream and left the result in req.body. Both
// body-parser majors end the stream when they parse, and leave it untouched when the type is not theirs.
function bodyWasRead(req: Request): boolean {
  return req.readableEnded;
}

const BODILESS = new Set(['GET', 'HEAD']);

function toFetchRequest(req: Request): globalThis.Request {
  // Concatenated, not resolved against a base: a url starting "//" must stay a path, not become a host.
  const url = `http://admin${req.url.startsWith('/') ? '' : '/'}${req.url}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const streamed = !BODILESS.has(req.method) && !bodyWasRead(req);
  return new Request(url, {
    method: req.method,
    headers,
    ...(streamed ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
}

async function reply(response: globalThis.Response, res: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    res.setHeader(name, value);
  });
  res.end(body);
}
