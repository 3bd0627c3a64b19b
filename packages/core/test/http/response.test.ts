import { describe, expect, test, vi } from 'vitest';
import { type Decision, fixedWindow, type HttpLimitOptions } from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { clocked, req } from './helpers.js';

/** A limiter whose first request is allowed and every later one refused. */
async function refusedOutcome(options: HttpLimitOptions = {}) {
  const l = createHttpLimiter({ algorithm: fixedWindow('1/minute'), backend: clocked().backend, ...options });
  const r = req();
  await l.handle(r);
  return { l, r, outcome: await l.handle(r) };
}

describe('refusal body', () => {
  test('default: 429 with { error, retryAfter }', async () => {
    const { outcome } = await refusedOutcome();
    expect(outcome).toMatchObject({ allowed: false, status: 429, skipped: false });
    expect(outcome.body).toEqual({ error: 'Too Many Requests', retryAfter: 60 });
    expect(outcome.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 60_000 });
  });

  test('statusCode changes the status', async () => {
    const { outcome } = await refusedOutcome({ statusCode: 503 });
    expect(outcome.status).toBe(503);
  });

  test('a string message replaces the error text', async () => {
    const { outcome } = await refusedOutcome({ message: 'Slow down' });
    expect(outcome.body).toEqual({ error: 'Slow down', retryAfter: 60 });
  });

  test('an object message replaces the body', async () => {
    const body = { code: 'RATE_LIMITED', docs: 'https://example.com/limits' };
    const { outcome } = await refusedOutcome({ message: body });
    expect(outcome.body).toEqual(body);
  });

  test('a function message (sync or async) builds the body from request and decision', async () => {
    for (const message of [
      (r: { path: string }, d: Decision) => ({ path: r.path, wait: d.retryAfterMs }),
      async (r: { path: string }, d: Decision) => ({ path: r.path, wait: d.retryAfterMs }),
    ]) {
      const { outcome } = await refusedOutcome({ message });
      expect(outcome.body).toEqual({ path: '/', wait: 60_000 });
    }
  });

  test('a throwing message function falls back to the default body and is reported', async () => {
    const seen = vi.fn();
    const l = createHttpLimiter({
      algorithm: fixedWindow('1/minute'),
      backend: clocked().backend,
      message: () => {
        throw new Error('template missing');
      },
    });
    l.on('configError', seen);
    await l.handle(req());
    const outcome = await l.handle(req());
    expect(outcome.body).toEqual({ error: 'Too Many Requests', retryAfter: 60 });
    expect(seen).toHaveBeenCalledTimes(1);
  });
});

describe('limited notifications', () => {
  test('onLimited and the "limited" event get the request and decision, only on refusals', async () => {
    const onLimited = vi.fn();
    const event = vi.fn();
    const l = createHttpLimiter({
      algorithm: fixedWindow('1/minute'),
      backend: clocked().backend,
      onLimited,
    });
    l.on('limited', event);
    const r = req();
    await l.handle(r);
    expect(onLimited).not.toHaveBeenCalled();
    const outcome = await l.handle(r);
    expect(onLimited).toHaveBeenCalledWith(r, outcome.decision);
    expect(event).toHaveBeenCalledWith(r, outcome.decision);
  });

  test('a throwing onLimited or listener does not change the outcome', async () => {
    const l = createHttpLimiter({
      algorithm: fixedWindow('1/minute'),
      backend: clocked().backend,
      onLimited: () => {
        throw new Error('logger down');
      },
    });
    l.on('configError', () => undefined);
    l.on('limited', () => {
      throw new Error('listener down');
    });
    await l.handle(req());
    const outcome = await l.handle(req());
    expect(outcome).toMatchObject({ allowed: false, status: 429 });
    expect(outcome.body).toEqual({ error: 'Too Many Requests', retryAfter: 60 });
  });
});
