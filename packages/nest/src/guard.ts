import type { HttpLimiter, HttpOutcome } from '@distlimiter/core';
import { type CanActivate, type ExecutionContext, HttpException, Inject, Injectable } from '@nestjs/common';
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
  constructor(
    private readonly limiter: HttpLimiter,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Microservice and WebSocket handlers have no HTTP request to count or response to answer.
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const limiter = limiterFor(this.limiter, this.reflector, context.getClass(), context.getHandler());
    if (!limiter) return true;
    const outcome = await limiter.handle(new NestHttpRequest(http.getRequest(), limiter !== this.limiter));
    // Set before throwing: both platforms' exception replies keep headers already on the response.
    setHeaders(http.getResponse(), outcome.headers);
    if (outcome.allowed) return true;
    throw new RateLimitException(outcome);
  }
}

// Decorators applied as calls, not @-syntax, so this source runs under any transformer: tsx (which applies a
// tsconfig only to the files it includes) and tools without experimentalDecorators would reject or
// mistranslate them. Explicit tokens, because esbuild-based builds (tsup, tsx) emit no design:paramtypes.
Injectable()(RateLimitGuard);
Inject(HTTP_LIMITER)(RateLimitGuard, undefined, 0);
Inject(Reflector)(RateLimitGuard, undefined, 1);
