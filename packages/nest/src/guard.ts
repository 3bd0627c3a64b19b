import type { HttpLimiter, HttpOutcome } from '@distlimiter/core';
import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NestHttpRequest, setHeaders } from './http-request.js';
import { limiterFor } from './route-limiters.js';
import { HTTP_LIMITER } from './tokens.js';

/**
 * Thrown by RateLimitGuard to refuse a request; Nest answers `outcome.status` with `outcome.body` as JSON.
 * Exception filters can read the decision from `outcome`.
 */
export class RateLimitException extends HttpException {
  /** What the limiter answered: status, headers (already set on the response), body and decision. */
  readonly outcome: HttpOutcome;

  constructor(outcome: HttpOutcome) {
    super(outcome.body as string | Record<string, unknown>, outcome.status);
    this.outcome = outcome;
  }
}

/**
 * Limits HTTP requests with the module's limiter, or the handler's/controller's own `@RateLimit()`.
 * Use it app-wide (`{ provide: APP_GUARD, useClass: RateLimitGuard }`) or with `@UseGuards(RateLimitGuard)`.
 */
export class RateLimitGuard implements CanActivate {
  // The handler last seen and its limiter (null: not limited): requests for one handler come in runs, and
  // this spares limiterFor's three map lookups on each of them.
  private lastController: Function | undefined;
  private lastHandler: Function | undefined;
  private lastLimiter: HttpLimiter | null = null;

  constructor(
    private readonly limiter: HttpLimiter,
    private readonly reflector: Reflector,
  ) {}

  // Not async: Nest takes a boolean without awaiting it, so on a synchronous backend (memory, default
  // options) the request is decided with no promise of ours. A refusal throws, which Nest's own async
  // guard runner turns into the same rejection either way.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Microservice and WebSocket handlers have no HTTP request to count or response to answer.
    if (context.getType() !== 'http') return true;
    const limiter = this.limiterOf(context.getClass(), context.getHandler());
    if (limiter === null) return true;
    // The arguments of an HTTP handler are (request, response, next): what switchToHttp() reads too, but
    // that builds three closures and adds them to the context on every call.
    const request = context.getArgByIndex(0);
    const response = context.getArgByIndex(1);
    const outcome = limiter.evaluate(new NestHttpRequest(request, limiter !== this.limiter));
    if (outcome instanceof Promise) return outcome.then((o) => admit(o, response));
    return admit(outcome, response);
  }

  private limiterOf(controller: Type<unknown>, handler: Function): HttpLimiter | null {
    if (handler === this.lastHandler && controller === this.lastController) return this.lastLimiter;
    const limiter = limiterFor(this.limiter, this.reflector, controller, handler) ?? null;
    this.lastController = controller;
    this.lastHandler = handler;
    this.lastLimiter = limiter;
    return limiter;
  }
}

function admit(outcome: HttpOutcome, response: unknown): boolean {
  // Set before throwing: both platforms' exception replies keep headers already on the response.
  setHeaders(response as Parameters<typeof setHeaders>[0], outcome.headers);
  if (outcome.allowed) return true;
  throw new RateLimitException(outcome);
}

// Decorators applied as calls, not @-syntax, so this source runs under any transformer: tsx (which applies a
// tsconfig only to the files it includes) and tools without experimentalDecorators would reject or
// mistranslate them. Explicit tokens, because esbuild-based builds (tsup, tsx) emit no design:paramtypes.
Injectable()(RateLimitGuard);
Inject(HTTP_LIMITER)(RateLimitGuard, undefined, 0);
Inject(Reflector)(RateLimitGuard, undefined, 1);
