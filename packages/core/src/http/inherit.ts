import { LIMITER_OPTION_KEYS } from './options.js';
import type { HttpLimitOptions } from './types.js';

// What a configured limiter builds once and its derived limiters share as it is (see HttpLimiter).
const SHARED = ['config', 'keyStore', 'audit', 'statistics', 'protection', 'load'] as const;

/**
 * The options a derived limiter starts from: its parent's (except what builds the RateLimiter, which the
 * parent's limiter already embodies, and the parent's `scope`, which names the parent's own count: a route
 * limit derived from an app-wide limiter must not count in it), with its own on top. An explicit
 * undefined was dropped earlier, so it means "inherit".
 */
export function inheritOptions(
  parent: HttpLimitOptions | undefined,
  own: HttpLimitOptions,
): HttpLimitOptions {
  const out: Record<string, unknown> = parent ? { ...parent } : {};
  delete out.scope;
  // The parent's configuration and key store are shared as they are (see HttpLimiter), never built again.
  delete out.config;
  delete out.keyStore;
  delete out.audit;
  delete out.statistics;
  delete out.protection;
  delete out.load;
  for (const [k, v] of Object.entries(own)) {
    if (k === 'limiter' || (SHARED as readonly string[]).includes(k)) continue;
    if (!(LIMITER_OPTION_KEYS as readonly string[]).includes(k)) out[k] = v;
  }
  return out as HttpLimitOptions;
}
