import { InvalidRateError } from '../errors.js';
import { unitMs } from './duration.js';

/** A parsed rate: `limit` units per `windowMs` milliseconds. */
export interface Rate {
  readonly limit: number;
  readonly windowMs: number;
}

/** "100/minute", "10/s", "20/30s", "1000/day": a count, a slash, an optional multiplier and a unit. */
const RATE = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+)\s*$/i;

/** Parses a rate string, throwing InvalidRateError that quotes it and shows valid examples. */
export function parseRate(value: unknown, field = 'rate'): Rate {
  if (typeof value !== 'string') throw new InvalidRateError(field, value);
  const match = RATE.exec(value);
  if (!match) throw new InvalidRateError(field, value);
  const limit = Number(match[1]);
  const multiplier = match[2] ? Number(match[2]) : 1;
  const unit = unitMs((match[3] ?? '').toLowerCase());
  if (unit === undefined || !Number.isSafeInteger(limit) || limit <= 0 || multiplier <= 0) {
    throw new InvalidRateError(field, value);
  }
  const windowMs = multiplier * unit;
  if (!Number.isSafeInteger(windowMs)) throw new InvalidRateError(field, value);
  return { limit, windowMs };
}
