/** Injection token of the `HttpLimitOptions` given to `DistLimiterModule.forRoot` / `forRootAsync`. */
export const RATE_LIMIT_OPTIONS = Symbol.for('distlimiter:nest:options');

/** Injection token of the one app-wide `HttpLimiter` every guard and route limit derives from. */
export const HTTP_LIMITER = Symbol.for('distlimiter:nest:limiter');

// Symbol.for, so two copies of this package in one app (ESM and CJS builds) still read the same metadata.
/** Metadata key under which `@RateLimit()` stores its override. */
export const RATE_LIMIT_METADATA = Symbol.for('distlimiter:nest:rate-limit');
/** Metadata key under which `@SkipRateLimit()` marks a handler or controller. */
export const SKIP_RATE_LIMIT_METADATA = Symbol.for('distlimiter:nest:skip');

/** Injection token of the admin API's framework-neutral handler (`DistLimiterAdminModule`). */
export const ADMIN_HANDLER = Symbol.for('distlimiter:nest:admin-handler');

/** Injection token of the options given to `DistLimiterAdminModule.forRoot` / `forRootAsync`. */
export const ADMIN_OPTIONS = Symbol.for('distlimiter:nest:admin-options');
