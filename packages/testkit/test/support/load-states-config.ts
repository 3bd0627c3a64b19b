import type { ConfigInput } from '@distlimiter/core';

// What the load-state two-process test and its app processes share: the tiers, the keys, and the
// probe whose X-RateLimit-Limit tells which state an app answers in.

/** A key in the tier "free": 10/minute in a bucket of 20, 2/minute while DEGRADED. */
export const LOAD_FREE_KEY = 'load_fleet_free_key_1';
/** A key in the tier "pro": 100/minute in a bucket of 150, 100/minute while DEGRADED. */
export const LOAD_PRO_KEY = 'load_fleet_pro_key_2';
/** A key in the tier "probe", which only the waits use: its Limit is PROBE_LIMIT of the state in force. */
export const LOAD_PROBE_KEY = 'load_fleet_probe_key_3';
/** The probe's Limit per state: its burst in NORMAL, its base rate in DEGRADED. */
export const PROBE_LIMIT = { NORMAL: 2_000_000, DEGRADED: 1_000_000 } as const;

/** The app-wide limiter's configuration: anonymous shed while DEGRADED; free, pro and the probe's tier. */
export function loadFleetConfig(): ConfigInput {
  return {
    version: 1,
    defaultTier: 'anonymous',
    tiers: {
      anonymous: { rate: '20/minute', shed: true },
      free: { rate: '10/minute', burst: 20, degraded: '2/minute' },
      pro: { rate: '100/minute', burst: 150 },
      probe: { rate: `${PROBE_LIMIT.DEGRADED}/minute`, burst: PROBE_LIMIT.NORMAL },
    },
    keys: { [LOAD_FREE_KEY]: 'free', [LOAD_PRO_KEY]: 'pro', [LOAD_PROBE_KEY]: 'probe' },
    rules: [],
  };
}
