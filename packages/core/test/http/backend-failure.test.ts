import { Redis } from 'ioredis';
import { afterAll, describe, expect, test, vi } from 'vitest';
import {
  type Backend,
  BackendError,
  BackendTimeoutError,
  type HttpLimitOptions,
  RedisBackend,
} from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { freePort } from '../../../testkit/src/index.js';
import { req } from './helpers.js';

// Hand-written backends that fail the way real ones do: a rejected call, and a call that never answers.
// Shared by the tests, which therefore all use one rate (limiters with different rates on one backend and
// prefix are warned about).
const rejecting: Backend = {
  evaluate: () => Promise.reject(new Error('connection reset')),
  delete: () => undefined,
  close: async () => undefined,
};
const hanging: Backend = {
  evaluate: () => new Promise(() => undefined),
  delete: () => undefined,
  close: async () => undefined,
};

// A real Redis client aimed at a port nobody listens on, failing fast instead of queueing.
const deadPort = await freePort();
const deadClient = new Redis(`redis://127.0.0.1:${deadPort}`, {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
});
// The connection attempt fails by design; without a listener ioredis would log it as unhandled.
deadClient.on('error', () => undefined);
afterAll(() => {
  deadClient.disconnect();
});

const failures: [string, () => HttpLimitOptions][] = [
  ['a rejecting backend', () => ({ backend: rejecting })],
  ['a backend that never answers (timeoutMs)', () => ({ backend: hanging, timeoutMs: 25 })],
  ['Redis on a closed port', () => ({ backend: new RedisBackend({ client: deadClient }) })],
];

describe.each(failures)('%s', (_, make) => {
  test('"allow" (default) lets the request through with no rate headers, and reports it', async () => {
    const onError = vi.fn();
    const event = vi.fn();
    const l = createHttpLimiter({ rate: '5/minute', ...make(), onError });
    l.on('backendError', event);
    const r = req();
    const outcome = await l.handle(r);
    expect(outcome).toMatchObject({ allowed: true, status: 200, decision: undefined, skipped: false });
    expect(outcome.headers).toEqual({});
    expect(outcome.error).toBeInstanceOf(BackendError);
    expect(onError).toHaveBeenCalledWith(outcome.error, r);
    expect(event).toHaveBeenCalledWith(outcome.error, r);
  });

  test('"deny" answers 503 Service Unavailable with Retry-After: 1', async () => {
    const l = createHttpLimiter({ rate: '5/minute', ...make(), onBackendError: 'deny' });
    const outcome = await l.handle(req());
    expect(outcome).toMatchObject({ allowed: false, status: 503, decision: undefined });
    expect(outcome.headers).toEqual({ 'Retry-After': '1' });
    expect(outcome.body).toEqual({ error: 'Service Unavailable' });
  });
});

describe('failure reporting', () => {
  test('a timeout is reported as BackendTimeoutError', async () => {
    const onError = vi.fn();
    const l = createHttpLimiter({ rate: '5/minute', backend: hanging, timeoutMs: 10, onError });
    await l.handle(req());
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(BackendTimeoutError);
  });

  test('with no onError and no listener, a failure is silent and never throws', async () => {
    const l = createHttpLimiter({ rate: '5/minute', backend: rejecting });
    await expect(l.handle(req())).resolves.toMatchObject({ allowed: true });
  });

  test('a throwing onError or listener cannot break the response', async () => {
    const l = createHttpLimiter({
      rate: '5/minute',
      backend: rejecting,
      onBackendError: 'deny',
      onError: () => {
        throw new Error('logger down');
      },
    });
    l.on('backendError', () => {
      throw new Error('listener down');
    });
    await expect(l.handle(req())).resolves.toMatchObject({ allowed: false, status: 503 });
  });

  test('a synchronously throwing backend is handled like a rejecting one', async () => {
    const l = createHttpLimiter({
      backend: {
        evaluate: () => {
          throw new Error('sync failure');
        },
        delete: () => undefined,
        close: async () => undefined,
      },
      onBackendError: 'deny',
    });
    await expect(l.handle(req())).resolves.toMatchObject({ status: 503 });
  });

  test('events of a derived limiter reach the limiter it came from', async () => {
    const parentEvent = vi.fn();
    const childEvent = vi.fn();
    const l = createHttpLimiter({ rate: '5/minute', backend: rejecting });
    l.on('backendError', parentEvent);
    const child = l.derive('3/minute', 'POST /login');
    child.on('backendError', childEvent);
    await child.handle(req());
    expect(childEvent).toHaveBeenCalledTimes(1);
    expect(parentEvent).toHaveBeenCalledTimes(1);
  });
});
