import type { ConformanceFactory } from '@distlimiter/testkit';
import { listenOn } from '@distlimiter/testkit';
import Router from '@koa/router';
import type Koa from 'koa';
import { rateLimit } from '../src/index.js';

/**
 * The conformance app, built with whichever Koa is given: the suite runs it on Koa 3 and on Koa 2, the two
 * majors the peer range accepts.
 */
export function conformanceApp(KoaApp: typeof Koa): ConformanceFactory {
  return async ({ global, strict }) => {
    const app = new KoaApp(); // proxy stays false: the suite needs the socket address as the client IP
    const router = new Router();
    router.get('/hello', (ctx) => {
      ctx.body = 'hello';
    });
    router.post('/hello', (ctx) => {
      ctx.body = 'posted';
    });
    router.get('/health', (ctx) => {
      ctx.body = 'ok';
    });
    router.get('/strict', rateLimit(strict), (ctx) => {
      ctx.body = 'strict';
    });
    router.get('/other', rateLimit(strict), (ctx) => {
      ctx.body = 'other';
    });
    const both = rateLimit(strict);
    router.get('/a', both, (ctx) => {
      ctx.body = 'a';
    });
    router.get('/b', both, (ctx) => {
      ctx.body = 'b';
    });
    app.use(rateLimit(global));
    app.use(router.routes());
    app.use(router.allowedMethods());
    return listenOn(app.listen(0, '127.0.0.1'));
  };
}
