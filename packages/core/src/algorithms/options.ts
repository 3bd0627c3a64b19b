import { InvalidOptionError } from '../errors.js';
import { parseDuration, type Duration } from '../policy/duration.js';
import { parseRate, type Rate } from '../policy/rate.js';
import { plainObject, positiveInteger } from '../policy/validate.js';

/** Options shared by the window algorithms: `limit` requests per `window`. */
export interface WindowOptions {
  /** Requests (cost units) allowed per window. */
  limit: number;
  /** Window length: ms, or "30s", "1m", ... */
  window: Duration;
}

/** Reads either a rate string or `{ limit, window }` into a Rate, naming fields under `name`. */
export function windowRate(name: string, input: string | WindowOptions): Rate {
  if (typeof input === 'string') return parseRate(input, `${name}.rate`);
  const o = plainObject(input, name);
  return {
    limit: positiveInteger(o.limit, `${name}.limit`),
    windowMs: parseDuration(o.window, `${name}.window`),
  };
}

/** Reads a refill/leak rate: a rate string, or a number of tokens per second. */
export function flowRate(value: unknown, field: string): Rate {
  if (typeof value === 'string') return parseRate(value, field);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0)
    return { limit: value, windowMs: 1000 };
  throw new InvalidOptionError(field, value, 'a positive integer (per second) or a rate string like "10/s"');
}
