import { bodyParser } from '@koa/bodyparser';
import {
  type AdminConformanceOptions,
  type ConformanceApp,
  type ConformanceOptions,
  listenOn,
} from '@distlimiter/testkit';
import Router from '@koa/router';
import type Koa from 'koa';
import { adminMiddleware, rateLimit } from '../src/index.js';

/**
 * The conformance app, built with whichever Koa is given: the suite runs it on Koa 3 and on Koa 2, the two
 * majors the peer range accepts. With `admin`, @koa/bodyparser and the admin middleware at /admin.
 */
export function conformanceApp(KoaApp: typeof Koa) {
  return async ({
    global,
    strict,
    admin,
  }: ConformanceOptions & Partial<AdminConformanceOptions>): Promise<ConformanceApp> => {
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
    const limit = rateLimit(global);
    // With `admin`: after the body parser, before the app-wide limiter (so the limiter never counts it).
    if (admin !== undefined) {
      // A malformed body is the parser's 400; Koa would print it as an error unless someone listens.
      app.on('error', (error: { status?: number }) => {
        if ((error.status ?? 500) >= 500) console.error(error);
      });
      app.use(bodyParser());
      app.use(adminMiddleware({ path: '/admin', limiter: limit.limiter, ...admin }));
    }
    app.use(limit);
    app.use(router.routes());
    app.use(router.allowedMethods());
    const listening = await listenOn(app.listen(0, '127.0.0.1'));
    if (admin === undefined) return listening;
    // Koa has no close hook: the limiter's own (its statistics, blocks and audit) is closed here.
    return { url: listening.url, close: () => listening.close().finally(() => limit.limiter.close()) };
  };
}
