import { expect } from 'vitest';
import { type HttpRequest, InvalidOptionError, MemoryBackend } from '../../src/index.js';

/** Start of every test clock: a whole second, so second-rounded header values are easy to state. */
export const T0 = 1_700_000_000_000;

/** A minimal HttpRequest; `headers` keys must be lower-case, as adapters promise. */
export function req(
  init: {
    ip?: string | undefined;
    method?: string;
    path?: string;
    routeId?: string;
    headers?: Record<string, string>;
  } = {},
): HttpRequest {
  const headers = init.headers ?? {};
  return {
    ip: 'ip' in init ? init.ip : '203.0.113.7',
    method: init.method ?? 'GET',
    path: init.path ?? '/',
    routeId: init.routeId,
    header: (name: string) => headers[name],
  };
}

/** A memory backend on a clock the test moves by hand. */
export function clocked(start = T0): {
  backend: MemoryBackend;
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  const now = () => t;
  return {
    backend: new MemoryBackend({ clock: now }),
    now,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** Asserts that `fn` throws an InvalidOptionError naming `field`, and returns it for further checks. */
export function optionError(fn: () => unknown, field: string): InvalidOptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionError);
  expect((caught as InvalidOptionError).field).toBe(field);
  return caught as InvalidOptionError;
}
