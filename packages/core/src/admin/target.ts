import type { BackendHealth } from '../backends/types.js';
import type { ConfigSourceLike } from '../http/types.js';
import type { RateLimiter } from '../limiter.js';
import type { ConfigOverlayChange } from '../policy/source/overlay.js';
import type { ConfigInForce, ConfigSourceStatus, PublishOptions } from '../policy/source/config-source.js';
import type { ConfigSnapshot } from '../policy/snapshot.js';

// What the admin API steers. An HttpLimiter is one; so is anything with these members (a test double, or
// an app that assembles its own). Everything the API does goes through these, core's public API.

/** One limit on a client, read without spending anything (HttpLimiter.peekIdentity). */
export interface AdminLimitReading {
  /** The tier's name or the rule's id. */
  readonly owner: string;
  /** Whether the limit is the tier's or a rule's. */
  readonly kind?: 'tier' | 'rule';
  /** The bucket's size (or the binding rate's count, for several rates). */
  readonly limit: number;
  /** What the client may still spend now. */
  readonly remaining: number;
  /** What the client has spent of `limit`. */
  readonly used?: number;
  /** Until the limit is whole again, in ms. */
  readonly resetAfterMs: number;
}

/** The configuration source as the admin API uses it: any source, and what a ConfigSource adds when present. */
export interface AdminConfigSource extends ConfigSourceLike {
  /** Changes the overlay (Redis for every instance, or this process's own); without it, writes answer 501. */
  publish?(change: ConfigOverlayChange, options?: PublishOptions): Promise<ConfigSnapshot>;
  /** What is in force and where it came from; without it, GET /rules shows names and origins only. */
  inForce?(): ConfigInForce;
  /** Ready, stale, last error (GET /health, GET /readyz). */
  status?(): ConfigSourceStatus;
  /** Resolves once the configuration is loaded (GET /readyz). */
  ready?(): Promise<void>;
  /** Listens to the source's events (stale and last error, for a source without status()). */
  on?(event: 'reloaded' | 'rejected', listener: (value: never) => void): unknown;
}

/** An IP block as listed (KeyProtection's IpBlock): the address or /64, until when, why and by whom. */
export interface AdminIpBlock {
  readonly ip: string;
  readonly untilMs: number;
  readonly reason?: string;
  readonly by?: string;
  readonly offence?: number;
  readonly sinceMs?: number;
}

/** IP blocks (KeyProtection): list, block an address or IPv6 /64, lift. */
export interface AdminProtection {
  /** The blocks in force. */
  list(): readonly AdminIpBlock[] | Promise<readonly AdminIpBlock[]>;
  /** Blocks `ip` (normalised: IPv4, or IPv6 "<network>/64") for `durationMs`; `by` names the admin token. */
  block(ip: string, durationMs: number, by: string): unknown;
  /** Lifts the block on `ip`; false (or a promise of it) when there was none. */
  unblock(ip: string, by: string): unknown;
}

/** The event the admin API records for every write. */
export interface AdminWriteEvent {
  readonly type: 'adminWrite';
  /** The token's name, never the token. */
  readonly token: string;
  readonly method: string;
  /**
   * The path below the mount; an API key in it as "sha256:<hex>", never raw, which the log reduces to a
   * hint before keeping or showing it (AuditLog does: `/keys/sha256:1a2b3c4d…`).
   */
  readonly path: string;
  readonly status: number;
}

/** The audit log (AuditLog): where writes are recorded, and what GET /audit reads. */
export interface AdminAudit {
  /** Records an event; must not throw or wait (AuditLog.record queues it), and keeps a key in a path as a hint only. */
  record(event: AdminWriteEvent, ip?: string): void;
  /** Records written at or after `sinceMs`, oldest first, at most `limit`. */
  read(sinceMs: number, limit: number): Promise<readonly unknown[]>;
}

/** Statistics: what GET /stats reports. */
export interface AdminStatistics {
  read(): Promise<unknown>;
}

/**
 * What the admin API steers: an HttpLimiter, or anything with these members. `source` is its configuration
 * (undefined: no `config`, and the configuration endpoints answer 501); the control plane's parts are
 * optional, and their endpoints answer 501 without them.
 */
export interface AdminTarget {
  /** The configuration source, when the limiter has a `config`. */
  readonly source: AdminConfigSource | undefined;
  /** Its RateLimiter: the backend (health, self-test, the admin API's own limit) and the prefix. */
  readonly limiter: Pick<RateLimiter, 'backend' | 'prefix'>;
  /** The tier and identity (`k#<sha256>`) of an API key given raw or as `sha256:<hex>`; undefined when unlisted. */
  tierOfKey(key: string): { tier: string; identity: string } | undefined;
  /** Every limit on `identity` as a client of `tier`, read without spending. */
  peekIdentity(identity: string, tier: string): Promise<readonly AdminLimitReading[]>;
  /** Forgets everything counted for `identity` under every tier and rule. */
  resetIdentity(identity: string): Promise<void>;
  /** The backend's health (breaker, latency), when it watches itself. */
  health(): BackendHealth | undefined;
  /** Allowed and limited counts (GET /stats). */
  readonly statistics?: AdminStatistics | undefined;
  /** IP blocks (GET/POST/DELETE /blocks). */
  readonly protection?: AdminProtection | undefined;
  /** The audit log (every write; GET /audit). */
  readonly audit?: AdminAudit | undefined;
  /** The load state, NORMAL or DEGRADED (GET, POST and DELETE /health). */
  readonly load?: AdminLoadState | undefined;
}

/** The part of a LoadState the admin API uses. */
export interface AdminLoadState {
  /** The state in force and how it came to be (operator, automatic, signals). */
  view(): unknown;
  /** Sets the fleet-wide state, with an optional expiry and reason, naming who set it. */
  set(
    status: 'NORMAL' | 'DEGRADED',
    options: { expiresInMs?: number; reason?: string; by?: string },
  ): Promise<unknown>;
  /** Clears the operator's setting, naming who cleared it. */
  clear(by?: string): Promise<unknown>;
}
