import { randomUUID } from 'node:crypto';
import { fixedWindow } from '../algorithms/fixed-window.js';
import { innermostBackend } from '../backends/circuit-breaker.js';
import { MemoryBackend } from '../backends/memory.js';
import { RedisBackend } from '../backends/redis.js';
import type { Backend } from '../backends/types.js';
import { RateLimiter } from '../limiter.js';
import type { AdminContext } from './config-routes.js';
import { json } from './respond.js';
import type { Route } from './router.js';

// Health for operators (authenticated: backend, breaker, latency, configuration), a self-test that makes a
// real decision through the backend, and the two probes load balancers call without a token. Readiness
// is about the configuration only: a DEGRADED backend or an open breaker never takes an instance out.

/** What the backend is: its kind (under any CircuitBreaker) and where decisions run now. */
function backendKind(backend: Backend): 'redis' | 'memory' | 'other' {
  const b = innermostBackend(backend);
  return b instanceof RedisBackend ? 'redis' : b instanceof MemoryBackend ? 'memory' : 'other';
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The health routes: /health, /selftest, and the open probes /livez and /readyz. */
export function healthRoutes(ctx: AdminContext): Route[] {
  // The self-test's own limiter: a scratch key under its own scope, one request a minute, so its second
  // decision must be refused: proof that the first one's state was stored and read back.
  const selftest = new RateLimiter({
    algorithm: fixedWindow('1/minute'),
    backend: ctx.target.limiter.backend,
    prefix: ctx.target.limiter.prefix,
  });
  // A source without status() (one an app wrote) is ready once its ready() resolves, if it has one.
  const source = ctx.target.source;
  let loaded = source?.status !== undefined || source?.ready === undefined;
  if (!loaded) {
    source!.ready!().then(
      () => (loaded = true),
      () => (loaded = true),
    );
  }
  const isReady = () => source?.status?.().ready ?? loaded;
  return [
    { method: 'GET', path: '/health', run: async () => json(200, health(ctx)) },
    { method: 'POST', path: '/selftest', run: () => selfTest(selftest) },
    { method: 'GET', path: '/livez', open: true, run: async () => json(200, { status: 'live' }) },
    { method: 'GET', path: '/readyz', open: true, run: async () => readiness(ctx, isReady()) },
  ];
}

function health(ctx: AdminContext) {
  const backend = ctx.target.limiter.backend;
  const h = ctx.target.health() as
    | (ReturnType<AdminContext['target']['health']> & Record<string, unknown>)
    | undefined;
  const kind = backendKind(backend);
  const mode =
    typeof h?.mode === 'string'
      ? h.mode
      : kind === 'memory'
        ? 'memory'
        : h?.state === 'open'
          ? 'fallback'
          : kind;
  const source = ctx.target.source;
  const status = source?.status?.();
  const snapshot = source?.current();
  const inForce = source?.inForce?.();
  const breakerOk = h === undefined || h.state === 'closed';
  const stale = status?.stale ?? false;
  return {
    status: breakerOk && !stale ? 'ok' : 'degraded',
    backend: {
      kind,
      mode,
      breaker:
        h === undefined
          ? null
          : {
              state: h.state,
              since: iso(h.since),
              consecutiveFailures: h.consecutiveFailures,
              lastError: h.lastError ? { message: h.lastError.message, at: iso(h.lastError.at) } : null,
            },
      latencyMs: h?.latencyMs ?? null,
      ...(typeof h?.instances === 'number' ? { instances: h.instances } : {}),
      ...(typeof h?.connected === 'boolean' ? { connected: h.connected } : {}),
    },
    config:
      snapshot === undefined
        ? null
        : {
            version: snapshot.version,
            overlay: inForce?.overlay ?? null,
            overlayVersion: snapshot.origins.overlayVersion ?? null,
            ready: status?.ready ?? true,
            stale,
            lastError:
              status?.lastError === undefined
                ? null
                : {
                    message: status.lastError.message,
                    at: iso(status.lastError.at),
                    ...(status.lastError.problems ? { problems: status.lastError.problems } : {}),
                  },
          },
    // The load state: NORMAL or DEGRADED, since when, set by whom (an operator's token name, or the
    // automatic monitor with its signals).
    load: ctx.target.load?.view() ?? null,
  };
}

async function selfTest(limiter: RateLimiter): Promise<Response> {
  const key = `selftest:${randomUUID()}`;
  const options = { scope: 'admin-selftest' };
  const started = performance.now();
  try {
    const first = await limiter.limit(key, options);
    const second = await limiter.limit(key, options);
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    await limiter.reset(key, options);
    const ok = first.allowed && !second.allowed;
    const decision = (d: typeof first) => ({
      allowed: d.allowed,
      limit: d.limit,
      remaining: d.remaining,
      resetAfterMs: d.resetAfterMs,
      retryAfterMs: d.retryAfterMs,
    });
    return json(ok ? 200 : 503, {
      ok,
      latencyMs,
      decision: decision(first),
      ...(ok
        ? {}
        : {
            message: 'The second decision on the scratch key was not refused: the first one was not stored.',
          }),
      readBack: decision(second),
    });
  } catch (error) {
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    return json(503, { ok: false, latencyMs, message: `The backend failed: ${(error as Error).message}` });
  }
}

// Ready once a configuration is loaded; without one, as soon as the handler exists.
function readiness(ctx: AdminContext, ready: boolean): Response {
  const version = ctx.target.source?.current().version;
  return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...(version ? { version } : {}) });
}
