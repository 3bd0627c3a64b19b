import { describe, expect, test, vi } from 'vitest';
import { CallbackTimeoutError, type HttpLimitOptions } from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { clocked, req } from './helpers.js';

// A callback result that never settles: a lookup against a service that hangs.
const never = () => new Promise<never>(() => undefined);

function limiter(options: HttpLimitOptions) {
  return createHttpLimiter({ rate: '10/minute', backend: clocked().backend, timeoutMs: 20, ...options });
}

async function timedOut(options: HttpLimitOptions, callback: string) {
  const l = limiter(options);
  const seen = vi.fn();
  l.on('configError', seen);
  const outcome = await l.handle(req());
  expect(seen).toHaveBeenCalledTimes(1);
  const error = seen.mock.calls[0]![0] as CallbackTimeoutError;
  expect(error).toBeInstanceOf(CallbackTimeoutError);
  expect(error).toMatchObject({ code: 'ERR_DL_CALLBACK_TIMEOUT', callback });
  expect(error.message).toBe(`The ${callback} option did not settle within 20 ms.`);
  return { l, outcome };
}

describe('async callbacks are bounded by timeoutMs', () => {
  test('a keyBy that never settles counts the request under its IP', async () => {
    const { l, outcome } = await timedOut({ keyBy: never }, 'keyBy');
    expect(outcome).toMatchObject({ allowed: true, skipped: false });
    expect(outcome.decision?.remaining).toBe(9);
    // Same bucket as a request keyed by IP outright.
    const byIp = createHttpLimiter({ limiter: l.limiter });
    expect((await byIp.handle(req())).decision?.remaining).toBe(8);
  });

  test('a skip that never settles counts the request', async () => {
    const { outcome } = await timedOut({ skip: never }, 'skip');
    expect(outcome).toMatchObject({ allowed: true, skipped: false });
    expect(outcome.decision?.remaining).toBe(9);
  });

  test('a cost that never settles charges 1', async () => {
    const { outcome } = await timedOut({ cost: never }, 'cost');
    expect(outcome.decision?.remaining).toBe(9);
  });

  test('a message that never settles refuses with the default body', async () => {
    const { outcome } = await timedOut({ rate: '1/minute', cost: 2, message: never }, 'message');
    expect(outcome).toMatchObject({ allowed: false, status: 429 });
    expect(outcome.body).toMatchObject({ error: 'Too Many Requests' });
  });

  test('a callback that settles in time is used as given', async () => {
    const l = limiter({ keyBy: async () => 'user-1', cost: async () => 3, skip: async () => false });
    const seen = vi.fn();
    l.on('configError', seen);
    const outcome = await l.handle(req());
    expect(outcome.decision?.remaining).toBe(7);
    expect(seen).not.toHaveBeenCalled();
  });
});
