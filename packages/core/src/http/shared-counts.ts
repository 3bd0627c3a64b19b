import type { Backend } from '../backends/types.js';
import type { RateLimiter } from '../limiter.js';

// Key names carry no rate parameters (so a change of rate acts on existing counts), which means two
// limiters with the same algorithm, backend, prefix and scope count under the same keys. Meant when they
// have the same rate (instances of one app, a fleet); almost always a mistake when they do not: two
// app-wide middlewares with different rates on one prefix would eat each other's allowance. Each
// backend remembers which rate first counted under each app-wide namespace in this process.
const claims = new WeakMap<Backend, Map<string, string>>();
const warned = new Set<string>();

/**
 * Records that `limiter` counts app-wide under its prefix, and warns once (DL_SHARED_COUNT) when another
 * limiter with different parameters already does so on the same backend in this process.
 */
export function claimAppWide(limiter: RateLimiter): void {
  let byName = claims.get(limiter.backend);
  if (byName === undefined) {
    byName = new Map();
    claims.set(limiter.backend, byName);
  }
  const members = limiter.algorithm.members;
  const names = limiter.keyspace.names.join(' ');
  const params = members.map((m) => `${m.id}(${m.params.join(',')})`).join(' ');
  const earlier = byName.get(names);
  if (earlier === undefined) {
    byName.set(names, params);
    return;
  }
  if (earlier === params || warned.has(names)) return;
  warned.add(names);
  process.emitWarning(
    `Two limiters with different rates count app-wide under the same keys (${names}) on one backend, ` +
      "so each spends the other's allowance. Give one its own `prefix` or `scope`, or mount it on a route.",
    { type: 'DistLimiterWarning', code: 'DL_SHARED_COUNT' },
  );
}
