import { type AdminConformanceOptions, type ConformanceOptions, listenOn } from '@distlimiter/testkit';
import type express from 'express';
import { adminRouter, rateLimit } from '../src/index.js';

/**
 * The conformance app, built with whichever Express is given: the suite runs it on Express 5 and on
 * Express 4, the two majors the peer range accepts. With `admin`, it mounts the admin API at /admin as
 * the demos do: after express.json(), before the app-wide limiter (so the limiter never counts it).
 */
export function conformanceApp(createApp: typeof express) {
  return async ({ global, strict, admin }: ConformanceOptions & Partial<AdminConformanceOptions>) => {
    const app = createApp(); // trust proxy stays off: the suite needs the socket address as the client IP
    const limit = rateLimit(global);
    if (admin !== undefined) {
      app.use(createApp.json());
      app.use('/admin', adminRouter({ limiter: limit.limiter, ...admin }));
    }
    app.use(limit);
    app.get('/hello', (_req, res) => {
      res.send('hello');
    });
    app.post('/hello', (_req, res) => {
      res.send('posted');
    });
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    app.get('/strict', rateLimit(strict), (_req, res) => {
      res.send('strict');
    });
    app.get('/other', rateLimit(strict), (_req, res) => {
      res.send('other');
    });
    const both = rateLimit(strict);
    app.get('/a', both, (_req, res) => {
      res.send('a');
    });
    app.get('/b', both, (_req, res) => {
      res.send('b');
    });
    const listening = await listenOn(app.listen(0, '127.0.0.1'));
    if (admin === undefined) return listening;
    // Express has no close hook: the limiter's own (its statistics, blocks and audit) is closed here.
    return { url: listening.url, close: () => listening.close().finally(() => limit.limiter.close()) };
  };
}
