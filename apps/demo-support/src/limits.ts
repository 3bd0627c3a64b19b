import type { Backend } from '@distlimiter/core';

/**
 * The limits every demo enforces, written once so the five cannot drift apart: each demo expresses them in
 * its own framework's idiom, and one spec (packages/testkit/src/demo-spec.ts) checks all five.
 */
export const DEMO_LIMITS = Object.freeze({
  /** Key namespace of every demo, so the same client and route give the same key in all five. */
  prefix: 'demo',
  /** Per client IP, app-wide: every route without a limit of its own, and unknown paths. */
  appWide: '10/minute',
  /** POST /api/login, per client IP, its own count: guessing passwords needs a tighter cap. */
  login: '3/minute',
  /** GET /api/data, per x-api-key (per IP without one). */
  data: '5/minute',
  /**
   * Left out of the app-wide limit in Express, Koa and Hono, where route middleware stacks on an app-wide
   * `use`: in Fastify and Nest a route's own limit (or none) replaces the app-wide one, and the five
   * demos count alike.
   */
  exemptFromAppWide: Object.freeze(['/health', '/api/login', '/api/data']),
});

/** The body of a 404, the same in all five demos. */
export const NOT_FOUND_BODY = Object.freeze({ error: 'Not Found' });

/** What every demo app is built with. */
export interface DemoOptions {
  /** Where counts live (default: a new MemoryBackend); a RedisBackend shares them across processes. */
  backend?: Backend;
  /** Key namespace (default "demo"). */
  prefix?: string;
}
