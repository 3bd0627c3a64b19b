import type { Decision } from '../decision.js';
import type { Callbacks } from './callbacks.js';
import { isPromiseLike } from './callbacks.js';
import type { RateHeaders } from './headers.js';
import type { HttpSettings } from './options.js';
import { refusalBody, SERVICE_UNAVAILABLE_BODY } from './response.js';
import type { HttpOutcome, HttpRequest } from './types.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The outcome of an exempt or skipped request: let through, nothing counted, no headers. */
export const SKIPPED: HttpOutcome = Object.freeze({
  allowed: true,
  status: 200,
  headers: NO_HEADERS,
  body: undefined,
  decision: undefined,
  skipped: true,
});

// A backend failure configured to deny answers 503 with Retry-After: 1, because failures are usually
// brief (a failover, a reconnect) and clients that honour it come back soon without hammering.
const DENY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'Retry-After': '1' });

/** Turns decisions and backend failures into what the adapter sends: status, headers and body. */
export class Outcomes {
  constructor(
    private readonly settings: HttpSettings,
    private readonly headers: RateHeaders,
    private readonly callbacks: Callbacks,
  ) {}

  /** An allowed request: through, with the rate-limit headers (`headers`: a tier plan's, else the limiter's; `tier` with a config). */
  allowed(
    decision: Decision,
    headers: RateHeaders = this.headers,
    tier?: string,
    rules?: readonly string[],
  ): HttpOutcome {
    return {
      allowed: true,
      status: 200,
      headers: headers.build(decision),
      body: undefined,
      decision,
      skipped: false,
      tier,
      rules,
    };
  }

  /** A refusal: the configured status, headers with Retry-After, and the body (`message` may be async). */
  refused(
    request: HttpRequest,
    decision: Decision,
    rateHeaders: RateHeaders = this.headers,
  ): HttpOutcome | Promise<HttpOutcome> {
    const headers = rateHeaders.build(decision);
    const body = this.body(request, decision);
    if (!(body instanceof Promise)) return this.refusal(headers, body, decision);
    return body.then((b) => this.refusal(headers, b, decision));
  }

  /** A failed or slow backend, answered as `onBackendError` says: through without headers, or 503. */
  failed(error: Error): HttpOutcome {
    if (this.settings.onBackendError === 'deny') {
      return {
        allowed: false,
        status: 503,
        headers: DENY_HEADERS,
        body: SERVICE_UNAVAILABLE_BODY,
        decision: undefined,
        skipped: false,
        error,
      };
    }
    return {
      allowed: true,
      status: 200,
      headers: NO_HEADERS,
      body: undefined,
      decision: undefined,
      skipped: false,
      error,
    };
  }

  private refusal(headers: Record<string, string>, body: unknown, decision: Decision): HttpOutcome {
    return { allowed: false, status: this.settings.statusCode, headers, body, decision, skipped: false };
  }

  // A message callback that throws, rejects or times out gets the default body, and is reported.
  private body(request: HttpRequest, decision: Decision): unknown {
    const message = this.settings.message;
    if (message === undefined) return refusalBody(decision);
    if (typeof message === 'string') return refusalBody(decision, message);
    if (typeof message !== 'function') return message;
    const fallback = (error: unknown) => {
      this.callbacks.failed('message', error, request);
      return refusalBody(decision);
    };
    try {
      const body: unknown = message(request, decision);
      return isPromiseLike(body) ? this.callbacks.bounded('message', body).catch(fallback) : body;
    } catch (error) {
      return fallback(error);
    }
  }
}
