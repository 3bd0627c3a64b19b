import type { AddressInfo } from 'node:net';
import { rateLimit } from '@distlimiter/koa';
import Router from '@koa/router';
import Koa from 'koa';
import ratelimit from 'koa-ratelimit';
import { HELLO, HOUR_MS, OUR_RATE, PEER_LIMIT, type StartApp } from './types.js';

/** Koa 3 with @koa/router, with `@distlimiter/koa` or koa-ratelimit (memory driver) as app-wide middleware. */
export const startKoa: StartApp = (variant) => {
  const app = new Koa();
  if (variant === 'ours') app.use(rateLimit({ rate: OUR_RATE }));
  if (variant === 'quiet') app.use(rateLimit({ rate: OUR_RATE, headers: false }));
  if (variant === 'noop') app.use((_ctx, next) => next());
  if (variant === 'peer') {
    app.use(
      ratelimit({ driver: 'memory', db: new Map(), duration: HOUR_MS, max: PEER_LIMIT, id: (ctx) => ctx.ip }),
    );
  }
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = HELLO;
  });
  app.use(router.routes());
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    server.on('error', reject);
  });
};
