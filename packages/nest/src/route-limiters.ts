import type { HttpLimiter } from '@distlimiter/core';
import type { Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { Reflector } from '@nestjs/core';
import type { RateLimitOverride } from './decorators.js';
import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './tokens.js';

// "/" for @Controller(), the path for @Controller('users'), paths joined for @Controller(['a', 'b']).
function controllerPath(reflector: Reflector, controller: Type<unknown>): string {
  const path = reflector.get<string | string[] | undefined>(PATH_METADATA, controller);
  if (Array.isArray(path)) return path.map(normalise).join(',');
  return normalise(path);
}

function normalise(path: string | undefined): string {
  if (path === undefined || path === '' || path === '/') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

// Per app-wide limiter and controller, the limiters derived for its decorated handlers (keyed by handler)
// and for the controller itself (keyed by the class). Shared by every guard instance (Nest makes one per
// module using @UseGuards) and by the start-up check, so each is built once. Keyed by controller first
// because an inherited handler is one function serving several controllers, each counted on its own.
const derived = new WeakMap<HttpLimiter, WeakMap<Type<unknown>, Map<object, HttpLimiter>>>();

function derive(
  base: HttpLimiter,
  controller: Type<unknown>,
  target: object,
  override: RateLimitOverride,
  scope: string | undefined,
): HttpLimiter {
  let byController = derived.get(base);
  if (!byController) {
    byController = new WeakMap();
    derived.set(base, byController);
  }
  let byTarget = byController.get(controller);
  if (!byTarget) {
    byTarget = new Map();
    byController.set(controller, byTarget);
  }
  let limiter = byTarget.get(target);
  if (!limiter) {
    limiter = base.derive(override, scope);
    byTarget.set(target, limiter);
  }
  return limiter;
}

// Per app-wide limiter, controller and handler, what limiterFor answered (null: not limited). Decorators
// are fixed once the classes are defined, and reading them back (several metadata lookups and the
// controller's name built as a string) cost more than the rest of the guard on every request.
const resolved = new WeakMap<HttpLimiter, WeakMap<Type<unknown>, Map<Function, HttpLimiter | null>>>();

/**
 * The limiter for one handler, or undefined when it is not limited. The handler's own decorators win over
 * its controller's; on one level, `@SkipRateLimit()` wins over `@RateLimit()`.
 */
export function limiterFor(
  base: HttpLimiter,
  reflector: Reflector,
  controller: Type<unknown>,
  handler: Function,
): HttpLimiter | undefined {
  let byController = resolved.get(base);
  if (!byController) {
    byController = new WeakMap();
    resolved.set(base, byController);
  }
  let byHandler = byController.get(controller);
  if (!byHandler) {
    byHandler = new Map();
    byController.set(controller, byHandler);
  }
  let limiter = byHandler.get(handler);
  if (limiter === undefined) {
    limiter = resolve(base, reflector, controller, handler) ?? null;
    byHandler.set(handler, limiter);
  }
  return limiter ?? undefined;
}

function resolve(
  base: HttpLimiter,
  reflector: Reflector,
  controller: Type<unknown>,
  handler: Function,
): HttpLimiter | undefined {
  if (reflector.get<boolean | undefined>(SKIP_RATE_LIMIT_METADATA, handler)) return undefined;
  const own = reflector.get<RateLimitOverride | undefined>(RATE_LIMIT_METADATA, handler);
  // A handler's own limit counts per route (method and path, as in every other adapter), which the guard
  // reads from the request; a controller's counts once for all its handlers, under a name rather than an
  // identity, so every instance of the app uses one key, with the controller's path in the name so two
  // controllers of one class name never share a count.
  if (own !== undefined) return derive(base, controller, handler, own, undefined);
  const name = `${controllerPath(reflector, controller)} ${controller.name}`;
  if (reflector.get<boolean | undefined>(SKIP_RATE_LIMIT_METADATA, controller)) return undefined;
  const shared = reflector.get<RateLimitOverride | undefined>(RATE_LIMIT_METADATA, controller);
  if (shared !== undefined) return derive(base, controller, controller, shared, name);
  return base;
}
