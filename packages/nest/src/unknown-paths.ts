import type { HttpLimiter, HttpOutcome } from '@distlimiter/core';
import type { HttpServer } from '@nestjs/common';
import { NestHttpRequest, setHeaders } from './http-request.js';

// Nest answers a request for an unknown path without running any guard, so RateLimitGuard never sees it.
// These hook in where only such requests arrive: on Express, a middleware added after every route and
// before Nest's not-found handler (DistLimiterModule adds it in onModuleInit, which Nest runs between
// the two); on Fastify, an onRequest hook acting only on requests no route matched. Allowed requests go on
// to Nest's own 404 (with the app's exception filters); refused ones get the limiter's answer.

interface ExpressLike {
  use(handler: (req: never, res: ExpressResponse, next: (error?: unknown) => void) => void): unknown;
}

interface ExpressResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): { json(body: unknown): unknown };
}

interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (request: { is404: boolean }, reply: FastifyReply, done: (error?: Error) => void) => void,
  ): unknown;
}

interface FastifyReply {
  header(name: string, value: string): unknown;
  code(status: number): { type(t: string): { send(body: string): unknown } };
}

/** Makes requests for unknown paths count against the app-wide limiter, on Express or Fastify. */
export function countUnknownPaths(adapter: HttpServer, limiter: HttpLimiter): void {
  const type = adapter.getType();
  if (type === 'express') {
    (adapter.getInstance() as ExpressLike).use((req, res, next) => {
      decide(limiter, req).then((outcome) => {
        setHeaders(res, outcome.headers);
        if (outcome.allowed) next();
        else res.status(outcome.status).json(outcome.body);
      }, next);
    });
  } else if (type === 'fastify') {
    (adapter.getInstance() as FastifyLike).addHook('onRequest', (request, reply, done) => {
      if (!request.is404) {
        done();
        return;
      }
      decide(limiter, request).then((outcome) => {
        setHeaders(reply, outcome.headers);
        if (outcome.allowed) done();
        else
          reply
            .code(outcome.status)
            .type('application/json; charset=utf-8')
            .send(JSON.stringify(outcome.body));
      }, done);
    });
  }
}

function decide(limiter: HttpLimiter, request: unknown): Promise<HttpOutcome> {
  return limiter.handle(new NestHttpRequest(request as never, false));
}
