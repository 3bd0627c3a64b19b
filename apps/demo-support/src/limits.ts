import { fileURLToPath } from 'node:url';
import type { HttpLimitOptions } from '@distlimiter/core';
import type { AdminTokens } from '@distlimiter/core/admin';

/**
 * The configuration file every demo follows unless DISTLIMITER_CONFIG names another: tiers chosen by the
 * x-api-key header (anonymous 5/minute by IP; free, pro and enterprise by key), a login rule and a rule in
 * shadow mode. The demos' limits live there and only there, so the five cannot drift apart; one spec
 * (packages/testkit/src/demo-spec.ts) checks all five.
 */
export const DEMO_CONFIG_FILE: string = fileURLToPath(new URL('../distlimiter.demo.json', import.meta.url));

/** The API keys listed in the demo configuration, by tier. Samples for trying the demos, not secrets. */
export const DEMO_KEYS = Object.freeze({
  free: 'demo_free_key_123',
  pro: 'demo_pro_key_456',
  enterprise: 'demo_enterprise_key_789',
});

/** Key namespace of every demo (DISTLIMITER_PREFIX changes it), so one client gets the same keys in all five. */
export const DEMO_PREFIX = 'demo';

/** Paths no demo ever limits: load balancers must see the app alive however busy a client is. */
export const DEMO_EXEMPT_PATHS: readonly string[] = Object.freeze(['/health']);

/** The body of a 404, the same in all five demos. */
export const NOT_FOUND_BODY = Object.freeze({ error: 'Not Found' });

/**
 * What every demo app is built with: the options of its one app-wide limiter, and the admin API's tokens.
 * `main.ts` passes what the environment gives (see demoEnv and demoAdmin); tests pass a backend, prefix and
 * tokens of their own.
 */
export interface DemoOptions extends HttpLimitOptions {
  /** The admin API's tokens; with them the admin API is mounted at /admin, without it is not. */
  adminTokens?: AdminTokens;
}

/**
 * The app-wide limiter's options of every demo: the configuration (default: the demo file, watched and
 * reloaded when it changes) and /health left out, on top of `options`.
 */
export function demoLimitOptions({ adminTokens: _, ...options }: DemoOptions = {}): HttpLimitOptions {
  return {
    exemptPaths: DEMO_EXEMPT_PATHS,
    prefix: DEMO_PREFIX,
    ...withoutUndefined(options),
    ...(options.config === undefined ? { config: DEMO_CONFIG_FILE } : {}),
  };
}

// { prefix: undefined } must not hide the default.
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
