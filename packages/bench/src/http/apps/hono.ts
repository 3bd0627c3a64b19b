import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { rateLimiter } from '@distlimiter/hono';
import { Hono } from 'hono';
import { rateLimiter as honoRateLimiter } from 'hono-rate-limiter';
import { HELLO, HOUR_MS, OUR_RATE, PEER_LIMIT, type StartApp } from './types.js';

/** Hono on @hono/node-server, with `@distlimiter/hono` or hono-rate-limiter (memory store) on every route. */
export const startHono: StartApp = (variant) => {
  const app = new Hono();
  if (variant === 'ours') app.use('*', rateLimiter({ rate: OUR_RATE }));
  if (variant === 'quiet') app.use('*', rateLimiter({ rate: OUR_RATE, headers: false }));
  if (variant === 'noop') app.use('*', (_c, next) => next());
  if (variant === 'peer') {
    // hono-rate-limiter has no default key; the socket address is what ours uses by default.
    app.use(
      '*',
      honoRateLimiter({
        windowMs: HOUR_MS,
        limit: PEER_LIMIT,
        keyGenerator: (c) => getConnInfo(c).remote.address ?? '',
      }),
    );
  }
  app.get('/', (c) => c.text(HELLO));
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
};
