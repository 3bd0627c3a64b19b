import { type ConformanceFactory, listenOn } from '@distlimiter/testkit';
import type express from 'express';
import { rateLimit } from '../src/index.js';

/**
 * The conformance app, built with whichever Express is given: the suite runs it on Express 5 and on
 * Express 4, the two majors the peer range accepts.
 */
export function conformanceApp(createApp: typeof express): ConformanceFactory {
  return async ({ global, strict }) => {
    const app = createApp(); // trust proxy stays off: the suite needs the socket address as the client IP
    app.use(rateLimit(global));
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
    return listenOn(app.listen(0, '127.0.0.1'));
  };
}
