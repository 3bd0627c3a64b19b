import type { HttpLimitOptions } from '@distlimiter/core';
import { SetMetadata } from '@nestjs/common';
import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './tokens.js';

/** A route's own limit: a rate like "5/minute", or options that replace the app-wide ones for that route. */
export type RateLimitOverride = string | Partial<HttpLimitOptions>;

/**
 * Gives a handler (or every handler of a controller) a limit of its own, counted separately from the
 * app-wide limit and from every other handler/controller. The override is derived from the app-wide
 * limiter, so it shares its backend, key function and response options unless it replaces them.
 */
export const RateLimit = (override: RateLimitOverride): ClassDecorator & MethodDecorator =>
  SetMetadata(RATE_LIMIT_METADATA, override);

/** Lets a handler (or every handler of a controller) through without counting it. */
export const SkipRateLimit = (): ClassDecorator & MethodDecorator =>
  SetMetadata(SKIP_RATE_LIMIT_METADATA, true);
