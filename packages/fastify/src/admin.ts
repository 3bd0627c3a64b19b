import { type AdminOptions, createAdminHandler } from '@distlimiter/core/admin';
import { InvalidOptionError } from '@distlimiter/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Options of the `distlimiterAdmin` plugin: those of core's createAdminHandler (`tokens`, `rate`, `env`),
 * with `limiter` defaulting to the distlimiter plugin's (`app.distlimiter`) when that was registered first.
 */
export type FastifyAdminOptions = Omit<AdminOptions, 'limiter'> & { limiter?: AdminOptions['limiter'] };

// What Fastify itself reads from a plugin's options; never the admin handler's.
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers']);

/**
 * Fastify plugin serving the admin API (@distlimiter/core/admin) under the prefix it is registered with:
 * `app.register(distlimiterAdmin, { prefix: '/admin' })` after `app.register(distlimiter, options)`, whose
 * limiter it steers (or `{ prefix, limiter }` for another). One catch-all route, after Fastify's
 * own body parsing (a JSON body arrives parsed), with `config: { rateLimit: false }` so the app-wide
 * distlimiter plugin never counts it (the admin API has its own limit, `rate`, default 60/minute per IP).
 * The client IP is `request.ip` (Fastify's `trustProxy` decides which address that is). The handler is
 * closed on `onClose`. Registration fails with InvalidOptionError when no admin token is given (nor
 * DISTLIMITER_ADMIN_TOKEN set).
 */
export async function distlimiterAdmin(
  fastify: FastifyInstance,
  options: FastifyAdminOptions,
): Promise<void> {
  const adminOptions = Object.fromEntries(
    Object.entries(options ?? {}).filter(([name]) => !REGISTER_OPTIONS.has(name)),
  ) as FastifyAdminOptions;
  const limiter = adminOptions.limiter ?? fastify.distlimiter;
  if (limiter === undefined) {
    throw new InvalidOptionError(
      'limiter',
      undefined,
      'the HttpLimiter the API steers: register the distlimiter plugin first (its limiter is app.distlimiter), or pass one',
    );
  }
  const admin = createAdminHandler({ ...adminOptions, limiter });
  fastify.addHook('onClose', () => admin.close());
  // Not wrapped in fastify-plugin: the plugin keeps its own context, so `prefix` applies to its routes.
  const mount = fastify.prefix;
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const response = await admin.fetch(toFetchRequest(request, mount), {
      ip: request.ip,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    reply.code(response.status);
    response.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    const body = await response.text();
    await reply.send(body === '' ? undefined : body);
  };
  const route = { config: { rateLimit: false }, handler };
  fastify.all('/', route);
  fastify.all('/*', route);
}

function toFetchRequest(request: FastifyRequest, mount: string): Request {
  // request.url is still percent-encoded (an IPv6 /64 keeps its "%2F"); the prefix is not.
  const url = request.url;
  const relative = url.startsWith(mount) ? url.slice(mount.length) : url;
  const path = relative === '' || relative.startsWith('?') ? `/${relative}` : relative;
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  // Fastify has read the body by now (parsed, or refused with 415): the handler gets it as context.body.
  return new Request(`http://admin${path}`, { method: request.method, headers });
}
