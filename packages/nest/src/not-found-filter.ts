import type { HttpLimiter } from '@distlimiter/core';
import { type ArgumentsHost, Catch, Inject, NotFoundException } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { RateLimitException } from './guard.js';
import { NestHttpRequest, setHeaders } from './http-request.js';
import { GUARDED, HTTP_LIMITER } from './tokens.js';

/**
 * Counts requests for unknown paths against the app-wide limit. Nest answers them without running any
 * guard, so without this a client probing paths would never be limited. A NotFoundException thrown by a
 * handler the guard already counted passes through untouched. Registered by DistLimiterModule; a global
 * filter of the app's own that catches NotFoundException first takes precedence over it.
 */
export class RateLimitNotFoundFilter extends BaseExceptionFilter {
  constructor(
    private readonly limiter: HttpLimiter,
    adapterHost: HttpAdapterHost,
  ) {
    super(adapterHost.httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Record<symbol, unknown>>();
    if (host.getType() !== 'http' || request[GUARDED] === true) {
      super.catch(exception, host);
      return;
    }
    const response = http.getResponse();
    // handle() never rejects: a backend failure follows onBackendError like any other request.
    void this.limiter.handle(new NestHttpRequest(request as never, false)).then((outcome) => {
      setHeaders(response, outcome.headers);
      super.catch(outcome.allowed ? exception : new RateLimitException(outcome), host);
    });
  }
}

// Applied as calls rather than @-syntax for the reason given in guard.ts.
Catch(NotFoundException)(RateLimitNotFoundFilter);
Inject(HTTP_LIMITER)(RateLimitNotFoundFilter, undefined, 0);
Inject(HttpAdapterHost)(RateLimitNotFoundFilter, undefined, 1);
