import { InvalidOptionError } from '../errors.js';

/** Returns `value` if it is a positive safe integer, else throws InvalidOptionError naming `field`. */
export function positiveInteger(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new InvalidOptionError(field, value, 'a positive integer');
}

/** `positiveInteger(value, field)`, or `fallback` when the value is unset. */
export function positiveIntegerOr(value: unknown, field: string, fallback: number): number {
  return value === undefined ? fallback : positiveInteger(value, field);
}

/** Throws when a product of parameters would leave exact integer arithmetic, naming the fields involved. */
export function assertExactProduct(field: string, value: unknown, ...factors: number[]): void {
  const product = factors.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(product)) {
    throw new InvalidOptionError(
      field,
      value,
      `parameters whose product (${product}) stays below 2^53 so arithmetic stays exact; use a smaller limit or window`,
    );
  }
}

/** Returns `value` if it is a plain object, else throws InvalidOptionError naming `field`. */
export function plainObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw new InvalidOptionError(field, value, 'an options object');
}
