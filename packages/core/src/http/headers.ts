import type { AlgorithmStep } from '../algorithms/types.js';
import type { Decision } from '../decision.js';
import type { HeaderMode } from './types.js';

// IETF fields follow draft-ietf-httpapi-ratelimit-headers-11 (May 2026), sections 3 and 4: both fields are
// Structured Field Lists whose items are Strings naming a policy, with Integer parameters
//   RateLimit-Policy: "default";q=100;w=60     (q = quota, w = window in seconds)
//   RateLimit: "default";r=57;t=23             (r = available quota, t = seconds of the effective window)
// Legacy fields are the de facto X-RateLimit-* trio, with Reset as a Unix time in seconds.

/** Lower-cased names of every header the limiter may send, e.g. for an adapter spotting an app's own. */
export const RATE_LIMIT_HEADER_NAMES: ReadonlySet<string> = new Set([
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit-policy',
  'ratelimit',
  'retry-after',
]);

// Derived from the set, so a name added there is never ruled out: the shortest length, and which first
// letters occur (lower-case ASCII, by code).
const SHORTEST_NAME = Math.min(...[...RATE_LIMIT_HEADER_NAMES].map((n) => n.length));
const FIRST_LETTERS = new Uint8Array(128);
for (const n of RATE_LIMIT_HEADER_NAMES) FIRST_LETTERS[n.charCodeAt(0)] = 1;

/**
 * Whether `name` (any case) is one of RATE_LIMIT_HEADER_NAMES. Most names are ruled out by length and first
 * letter without being lower-cased, which matters to adapters checking every header of every response.
 */
export function isRateLimitHeaderName(name: string): boolean {
  // `| 0x20` lower-cases an ASCII letter; every name in the set starts with one.
  return (
    name.length >= SHORTEST_NAME &&
    FIRST_LETTERS[(name.charCodeAt(0) | 0x20) & 0x7f] === 1 &&
    RATE_LIMIT_HEADER_NAMES.has(name.toLowerCase())
  );
}

/** Whole seconds, rounded up and never negative: what delay-seconds style fields carry. */
export function ceilSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/** The Retry-After value for a refusal: whole seconds, rounded up, at least 1; undefined when never. */
export function retryAfterSeconds(retryAfterMs: number): number | undefined {
  if (!Number.isFinite(retryAfterMs)) return undefined;
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

/** Policy item names: the policy name for a single rule, `<name>-<i>` for each member of a hybrid. */
export function policyNames(policyName: string, members: readonly AlgorithmStep[]): string[] {
  return members.length === 1 ? [policyName] : members.map((_, i) => `${policyName}-${i}`);
}

/**
 * The RateLimit-Policy field value: one item per rule, `"name";q=<limit>;w=<window seconds>`; `names`
 * overrides the items' names (one per member).
 */
export function formatRateLimitPolicy(
  policyName: string,
  members: readonly AlgorithmStep[],
  names: readonly string[] = policyNames(policyName, members),
): string {
  return members
    .map((m, i) => `"${names[i]}";q=${m.limit};w=${Math.max(1, ceilSeconds(m.windowMs))}`)
    .join(', ');
}

/**
 * Builds the rate-limit headers of each decision for one header mode. Everything that does not depend on
 * the decision (the policy field, the quoted names, the limit as text) is rendered once, at construction,
 * since this runs on every request.
 */
export class RateHeaders {
  /** The header mode in use. */
  readonly mode: HeaderMode;
  /** The RateLimit-Policy value, constant for the limiter's lifetime. */
  readonly policy: string;
  private readonly legacy: boolean;
  private readonly ietf: boolean;
  private readonly limits: readonly number[];
  private readonly limitTexts: readonly string[];
  private readonly prefixes: readonly string[];
  // The last X-RateLimit-Reset value and its text: under load, consecutive requests share the same second.
  private lastReset = -1;
  private lastResetText = '';

  /** `names` names the policy items, one per member (default: `policyName`, numbered for a hybrid). */
  constructor(
    mode: HeaderMode,
    policyName: string,
    members: readonly AlgorithmStep[],
    names: readonly string[] = policyNames(policyName, members),
  ) {
    this.mode = mode;
    this.legacy = mode === 'legacy' || mode === 'both';
    this.ietf = mode === 'ietf' || mode === 'both';
    this.policy = formatRateLimitPolicy(policyName, members, names);
    this.limits = members.map((m) => m.limit);
    this.limitTexts = this.limits.map(String);
    this.prefixes = names.map((n) => `"${n}";r=`);
  }

  /** Headers for `decision`, with Retry-After added when it refuses; `nowMs` anchors X-RateLimit-Reset. */
  build(decision: Decision, nowMs?: number): Record<string, string> {
    const remaining = Math.max(decision.remaining, 0);
    const resetAfterMs = resetOf(decision);
    let headers: Record<string, string>;
    if (this.legacy) {
      const limit =
        this.limits.length === 1 && decision.limit === this.limits[0]!
          ? this.limitTexts[0]!
          : String(decision.limit);
      const reset = this.resetText(Math.ceil(((nowMs ?? Date.now()) + resetAfterMs) / 1000));
      // Object literals of one fixed shape: V8 builds them from a template, far cheaper than adding keys.
      headers = this.ietf
        ? {
            'X-RateLimit-Limit': limit,
            'X-RateLimit-Remaining': `${remaining}`,
            'X-RateLimit-Reset': reset,
            'RateLimit-Policy': this.policy,
            RateLimit: `${this.prefixes[decision.binding] ?? this.prefixes[0]}${remaining};t=${ceilSeconds(resetAfterMs)}`,
          }
        : {
            'X-RateLimit-Limit': limit,
            'X-RateLimit-Remaining': `${remaining}`,
            'X-RateLimit-Reset': reset,
          };
    } else if (this.ietf) {
      headers = {
        'RateLimit-Policy': this.policy,
        RateLimit: `${this.prefixes[decision.binding] ?? this.prefixes[0]}${remaining};t=${ceilSeconds(resetAfterMs)}`,
      };
    } else {
      headers = {};
    }
    if (!decision.allowed) {
      const retry = retryAfterSeconds(decision.retryAfterMs);
      if (retry !== undefined) headers['Retry-After'] = String(retry);
    }
    return headers;
  }

  private resetText(seconds: number): string {
    if (seconds !== this.lastReset) {
      this.lastReset = seconds;
      this.lastResetText = `${seconds}`;
    }
    return this.lastResetText;
  }
}

/**
 * When the binding member resets, as the headers say it: never earlier than a refusal's retry, so a client
 * that waits for the reset is not refused again (a sliding window's current window may end before enough
 * of the previous one has slid out). A retry that never comes leaves the reset as it is.
 */
export function resetOf(decision: Decision): number {
  const reset = Math.max(0, decision.resetAfterMs);
  const retry = decision.retryAfterMs;
  return !decision.allowed && retry > reset && Number.isFinite(retry) ? retry : reset;
}
