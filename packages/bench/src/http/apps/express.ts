import type { AddressInfo } from 'node:net';
import { rateLimit } from '@distlimiter/express';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { HELLO, HOUR_MS, OUR_RATE, PEER_LIMIT, type StartApp } from './types.js';

/** Express 5, with `@distlimiter/express` or express-rate-limit (memory store) as app-wide middleware. */
export const startExpress: StartApp = (variant) => {
  const app = express();
  if (variant === 'ours') app.use(rateLimit({ rate: OUR_RATE }));
  if (variant === 'peer') app.use(expressRateLimit({ windowMs: HOUR_MS, limit: PEER_LIMIT }));
  if (variant === 'quiet') app.use(rateLimit({ rate: OUR_RATE, headers: false }));
  if (variant === 'noop') app.use((_req, _res, next) => next());
  app.get('/', (_req, res) => {
    res.send(HELLO);
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) reject(error);
      else resolve((server.address() as AddressInfo).port);
    });
  });
};
