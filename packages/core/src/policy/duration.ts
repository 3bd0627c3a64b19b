import { InvalidDurationError } from '../errors.js';

/** A duration: milliseconds as a number, or a string like "1500ms", "30s", "1m", "2h", "1d". */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** Milliseconds in one named unit, or undefined when the unit is unknown. */
export function unitMs(unit: string): number | undefined {
  return Object.hasOwn(UNIT_MS, unit) ? UNIT_MS[unit] : undefined;
}

const DURATION = /^\s*(\d+)\s*([a-z]+)\s*$/i;

/** Parses a duration into whole milliseconds (> 0), throwing InvalidDurationError naming `field`. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw new InvalidDurationError(field, value);
  }
  if (typeof value !== 'string') throw new InvalidDurationError(field, value);
  const match = DURATION.exec(value);
  const unit = match?.[2] ? unitMs(match[2].toLowerCase()) : undefined;
  if (!match?.[1] || unit === undefined) throw new InvalidDurationError(field, value);
  const ms = Number(match[1]) * unit;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidDurationError(field, value);
  return ms;
}
