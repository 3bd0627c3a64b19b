import type { Decision } from '../decision.js';
import { retryAfterSeconds } from './headers.js';

/** The default refusal text, used as the `error` field of the 429 body. */
export const TOO_MANY_REQUESTS = 'Too Many Requests';

/** Body sent when a backend failure is configured to deny. */
export const SERVICE_UNAVAILABLE_BODY: Readonly<{ error: string }> = Object.freeze({
  error: 'Service Unavailable',
});

/** The shape of the default refusal body. */
export interface RefusalBody {
  /** Human-readable reason (the `message` option when it is a string). */
  error: string;
  /** Whole seconds until the same request could pass; null when it never can (its cost exceeds the limit). */
  retryAfter: number | null;
}

/** The default 429 body: `{ error, retryAfter }`, with retryAfter in whole seconds rounded up. */
export function refusalBody(decision: Decision, error: string = TOO_MANY_REQUESTS): RefusalBody {
  return { error, retryAfter: retryAfterSeconds(decision.retryAfterMs) ?? null };
}
