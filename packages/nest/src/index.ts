export { RateLimit, SkipRateLimit, type RateLimitOverride } from './decorators.js';
export { RateLimitGuard, RateLimitException } from './guard.js';
export { DistLimiterModule, type DistLimiterModuleAsyncOptions } from './module.js';
export { HTTP_LIMITER, RATE_LIMIT_OPTIONS } from './tokens.js';
export {
  DistLimiterAdminModule,
  type DistLimiterAdminModuleAsyncOptions,
  type DistLimiterAdminModuleOptions,
  type NestAdminOptions,
} from './admin.js';
export { ADMIN_HANDLER, ADMIN_OPTIONS } from './tokens.js';
