import { InvalidOptionError } from '../errors.js';
import { jsonObject } from './json-object.js';
import type { LoadStatus } from './load-signals.js';

// The operator's load setting as stored under `<prefix>:load` and announced on the channel of that name:
// one small JSON document, written whole and never edited, so a reader either has it or has not.

/** An operator's fleet-wide load setting. */
export interface OperatorLoadSetting {
  readonly status: LoadStatus;
  /** When it was set (ms since the epoch, on the clock of the instance that set it). */
  readonly since: number;
  /** Who set it (an admin token's name), when known. */
  readonly by?: string;
  /** Why, in the operator's words. */
  readonly reason?: string;
  /** When it lapses (same clock as `since`); absent: until cleared. */
  readonly expiresAt?: number;
}

const MAX_TEXT = 256;

/** Whether `value` is a load status; anything else throws InvalidOptionError naming `field`. */
export function loadStatus(value: unknown, field = 'status'): LoadStatus {
  if (value === 'NORMAL' || value === 'DEGRADED') return value;
  throw new InvalidOptionError(field, value, '"NORMAL" or "DEGRADED"');
}

/** A short text an operator gave (`by`, `reason`), or undefined; anything but a string throws. */
export function operatorText(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidOptionError(field, value, 'a string');
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT - 1)}…` : value;
}

/** A setting as stored and announced. */
export function settingJson(setting: OperatorLoadSetting): string {
  return JSON.stringify(setting);
}

/** A setting read back from the store or a message, or undefined when it is none (or not one). */
export function parseSetting(value: unknown): OperatorLoadSetting | undefined {
  const s = jsonObject(value);
  if (s === undefined) return undefined;
  if ((s.status !== 'NORMAL' && s.status !== 'DEGRADED') || !Number.isFinite(s.since)) return undefined;
  const out: { -readonly [K in keyof OperatorLoadSetting]: OperatorLoadSetting[K] } = {
    status: s.status,
    since: s.since as number,
  };
  if (typeof s.by === 'string') out.by = s.by;
  if (typeof s.reason === 'string') out.reason = s.reason;
  if (Number.isFinite(s.expiresAt)) out.expiresAt = s.expiresAt as number;
  return out;
}

/** Whether two settings are the same one (or both absent). */
export function sameSetting(a: OperatorLoadSetting | undefined, b: OperatorLoadSetting | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.status === b.status &&
    a.since === b.since &&
    a.by === b.by &&
    a.reason === b.reason &&
    a.expiresAt === b.expiresAt
  );
}
