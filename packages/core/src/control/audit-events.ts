import { digestInName } from '../policy/api-keys.js';
import { createHash } from 'node:crypto';

// The audit events' types, and the one gate every event passes before anyone sees it: fields are copied
// by name per type (so a stray field holding a secret never travels), strings are bounded, and the places
// an API key could hide (an invalid key's hint, an admin path naming a key) are reduced to a hint.

/** A problem of a rejected configuration, as ConfigProblem: its dotted path and what is wrong. */
export interface AuditProblem {
  path: string;
  message: string;
}

/** What happened; AuditLog.record stamps it into an AuditRecord. */
export type AuditEvent =
  /** A request presented an API key that is malformed or unknown: only `keyHint(rawKey)` is kept. */
  | { type: 'invalidKey'; ip?: string; keyHint: string }
  /** An IP (or IPv6 /64) was blocked: after too many invalid keys (`offence`: the how-many-th), or by an admin. */
  | {
      type: 'ipBlocked';
      ip: string;
      untilMs: number;
      offence: number;
      reason: 'invalid-keys' | 'admin';
      by?: string;
    }
  /** A block was lifted, by an admin (`by`: the token's name) or by expiry. */
  | { type: 'ipUnblocked'; ip: string; by?: string }
  /** The admin API answered a write: the token's name (never the token), the request and the status. */
  | { type: 'adminWrite'; token: string; method: string; path: string; status: number; ip?: string }
  /** A new configuration snapshot is in force. */
  | { type: 'configReloaded'; version: string }
  /** A configuration change was refused; the last good snapshot stays. */
  | { type: 'configRejected'; problems: AuditProblem[] }
  /** The backend's circuit breaker opened: limiters follow their onBackendError. */
  | { type: 'breakerOpened'; error?: string }
  /** The backend's circuit breaker closed: decisions run on the backend again. */
  | { type: 'breakerClosed' }
  /** The load state changed (e.g. normal, degraded), by an admin or by itself. */
  | { type: 'loadState'; state: string; by?: string; reason?: string };

/** Every audit event type, by name. */
export type AuditEventType = AuditEvent['type'];

/** An event as recorded: when (ms, the log's clock), on which instance, the client IP when known, its stream id when read back. */
export type AuditRecord = AuditEvent & {
  /** When it was recorded, in ms since the epoch (the AuditLog's clock). */
  at: number;
  /** The instance that recorded it (default `<hostname>:<pid>`). */
  instance: string;
  /** The client IP the event concerns, when there is one. */
  ip?: string;
  /** Its stream entry id (`<ms>-<seq>`), when read back. */
  id?: string;
};

// Bounds on what one record may carry, so a stream entry and a log line stay small whatever the input.
const SHORT = 256;
const LONG = 2048;
const MAX_PROBLEMS = 50;

/**
 * A hint of an API key, safe to log: at most its first 4 characters (fewer for a key under 16 characters,
 * never more than a quarter of it), "…", and the first 8 hex digits of its SHA-256, enough to match it
 * against a key one holds, never enough to use it.
 */
export function keyHint(rawKey: string): string {
  const key = typeof rawKey === 'string' ? rawKey : String(rawKey);
  const chars = Array.from(key);
  const shown = chars.slice(0, Math.min(4, Math.floor(chars.length / 4))).join('');
  return `${shown}…${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

// What keyHint gives: up to 4 characters, "…", 8 hex digits.
const HINT = /^[\s\S]{0,4}…[0-9a-f]{8}$/u;

/** A key as an admin path names it (raw or `sha256:<hex>`), reduced to a hint. */
function hintOfPathKey(segment: string): string {
  let key = segment;
  try {
    key = decodeURIComponent(segment);
  } catch {
    // Not valid percent-encoding: hinted as it came.
  }
  if (HINTED.test(key)) return key;
  const digest = digestInName(key);
  return digest === undefined ? keyHint(key) : `sha256:${digest.slice(0, 8)}…`;
}

// A segment that is a hint already (a record read back is checked again): left as it is, not hinted twice.
const HINTED = /^(?:sha256:[0-9a-f]{8}…|[^…]{0,4}…[0-9a-f]{8})$/;

/**
 * An admin request path fit for the audit: without its query, and with the segment after every `keys`
 * segment (`/keys/:key`, `/stats/...` has none) replaced by a hint, since that segment is an API key or its hash.
 */
export function auditPath(path: string): string {
  const bare = path.split(/[?#]/, 1)[0] ?? '';
  const segments = bare.split('/');
  for (let i = 1; i < segments.length; i++) {
    if (segments[i - 1] === 'keys' && segments[i] !== '') segments[i] = hintOfPathKey(segments[i]!);
  }
  return bounded(segments.join('/'), LONG);
}

function bounded(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const optional = (value: unknown, max = SHORT) => (value === undefined ? undefined : bounded(value, max));
const finite = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

// A copy without the undefined fields, so a record's JSON holds only what was given (a copy rather than
// `delete`, which would leave every record a slow dictionary-mode object).
function defined<T extends AuditEvent>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

function problemsOf(value: unknown): AuditProblem[] {
  const list = Array.isArray(value) ? value : [];
  const out = list.slice(0, MAX_PROBLEMS).map((p: Partial<AuditProblem> | undefined) => ({
    path: bounded(p?.path ?? '', SHORT),
    message: bounded(p?.message ?? '', LONG),
  }));
  if (list.length > MAX_PROBLEMS) {
    out.push({ path: '', message: `… and ${list.length - MAX_PROBLEMS} more problems` });
  }
  return out;
}

/**
 * A clean copy of an event: only its type's fields, strings bounded, keys reduced to hints (an invalid key's
 * `keyHint` that is not a hint is hinted itself, and an admin path naming a key is hinted). Undefined for
 * something that is not an event of a known type.
 */
export function cleanEvent(event: unknown): AuditEvent | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  const ip = optional(e.ip);
  switch (e.type) {
    case 'invalidKey': {
      const hint =
        typeof e.keyHint === 'string' && HINT.test(e.keyHint) ? e.keyHint : keyHint(String(e.keyHint));
      return defined({ type: 'invalidKey', ip, keyHint: hint });
    }
    case 'ipBlocked':
      return defined({
        type: 'ipBlocked',
        ip: bounded(e.ip ?? '', SHORT),
        untilMs: finite(e.untilMs),
        offence: finite(e.offence),
        reason: e.reason === 'admin' ? 'admin' : 'invalid-keys',
        by: optional(e.by),
      });
    case 'ipUnblocked':
      return defined({ type: 'ipUnblocked', ip: bounded(e.ip ?? '', SHORT), by: optional(e.by) });
    case 'adminWrite':
      return defined({
        type: 'adminWrite',
        token: bounded(e.token ?? '', SHORT),
        method: bounded(e.method ?? '', 16),
        path: auditPath(String(e.path ?? '')),
        status: finite(e.status),
        ip,
      });
    case 'configReloaded':
      return { type: 'configReloaded', version: bounded(e.version ?? '', SHORT) };
    case 'configRejected':
      return { type: 'configRejected', problems: problemsOf(e.problems) };
    case 'breakerOpened':
      return defined({ type: 'breakerOpened', error: optional(e.error, LONG) });
    case 'breakerClosed':
      return { type: 'breakerClosed' };
    case 'loadState':
      return defined({
        type: 'loadState',
        state: bounded(e.state ?? '', SHORT),
        by: optional(e.by),
        reason: optional(e.reason, LONG),
      });
    default:
      return undefined;
  }
}

/** A record read back from its JSON (a stream entry), or undefined when it is not one. */
export function parseRecord(json: string | undefined, id: string): AuditRecord | undefined {
  if (json === undefined) return undefined;
  try {
    const raw = JSON.parse(json) as Record<string, unknown>;
    const event = cleanEvent(raw);
    if (event === undefined) return undefined;
    const ip = (event as { ip?: string }).ip ?? optional(raw.ip);
    return defined({
      ...event,
      at: finite(raw.at),
      instance: bounded(raw.instance ?? '', SHORT),
      ip,
      id,
    } as AuditRecord);
  } catch {
    return undefined;
  }
}
