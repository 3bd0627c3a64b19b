import type { HttpLimiter, HttpOutcome } from '@distlimiter/core';
import type { HttpServer } from '@nestjs/common';
import { NestHttpRequest, setHeaders } from './http-request.js';

// Nest answers a request for an unknown path without running any guard, so RateLimitGuard never sees it.
// These hook in where only such requests arrive: on Express, a middleware added after every route and
// before Nest's not-found handler (DistLimiterModule adds it in onModuleInit, which Nest runs between
// the two); on Fastify, an onRequest hook of the not-found handler alone, so requests for known routes
// do not pass through one more hook of ours. Allowed requests go on to Nest's own 404 (with the app's
// exception filters); refused ones get the limiter's answer.

interface ExpressLike {
  use(handler: (req: never, res: ExpressResponse, next: (error?: unknown) => void) => void): unknown;
}

interface ExpressResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): { json(body: unknown): unknown };
}

type OnRequest = (request: unknown, reply: FastifyReply, done: (error?: Error) => void) => void;

// Fastify's setNotFoundHandler([options,] handler): its options may add lifecycle hooks to the not-found
// route alone, after the instance's own.
interface NotFoundOptions {
  onRequest?: OnRequest | OnRequest[];
  [option: string]: unknown;
}
type SetNotFoundHandler = (options: NotFoundOptions | Function, handler?: Function) => unknown;

interface FastifyLike {
  setNotFoundHandler: SetNotFoundHandler;
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
    const hook: OnRequest = (request, reply, done) => {
      decide(limiter, request).then((outcome) => {
        setHeaders(reply, outcome.headers);
        if (outcome.allowed) done();
        else
          reply
            .code(outcome.status)
            .type('application/json; charset=utf-8')
            .send(JSON.stringify(outcome.body));
      }, done);
    };
    withNotFoundHook(adapter.getInstance() as FastifyLike, hook);
  }
}

// Nest sets its not-found handler once, after onModuleInit: that one call gets the hook, and the
// instance's own setNotFoundHandler is back in place from then on.
function withNotFoundHook(fastify: FastifyLike, hook: OnRequest): void {
  const own = Object.hasOwn(fastify, 'setNotFoundHandler') ? fastify.setNotFoundHandler : undefined;
  const set = fastify.setNotFoundHandler;
  fastify.setNotFoundHandler = function (this: FastifyLike, options, handler) {
    if (own === undefined) delete (fastify as Partial<FastifyLike>).setNotFoundHandler;
    else fastify.setNotFoundHandler = own;
    if (typeof options === 'function') return set.call(this, { onRequest: hook }, options);
    const earlier = options.onRequest;
    const onRequest =
      earlier === undefined ? [hook] : [...(Array.isArray(earlier) ? earlier : [earlier]), hook];
    return set.call(this, { ...options, onRequest }, handler);
  };
}

function decide(limiter: HttpLimiter, request: unknown): Promise<HttpOutcome> {
  return limiter.handle(new NestHttpRequest(request as never, false));
}
