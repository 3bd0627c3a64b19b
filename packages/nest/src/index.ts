export { RateLimit, SkipRateLimit, type RateLimitOverride } from './decorators.js';
export { RateLimitGuard, RateLimitException } from './guard.js';
export { DistLimiterModule, type DistLimiterModuleAsyncOptions } from './module.js';
export { HTTP_LIMITER, RATE_LIMIT_OPTIONS } from './tokens.js';
