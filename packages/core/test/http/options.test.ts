import { describe, expect, test } from 'vitest';
import {
  fixedWindow,
  HttpLimiter,
  type HttpLimitOptions,
  InvalidRateError,
  MemoryBackend,
  RateLimiter,
} from '../../src/index.js';
import { createHttpLimiter, HTTP_LIMIT_OPTION_KEYS } from '../../src/http/index.js';
import { optionError } from './helpers.js';

const bad = (options: unknown) => () => new HttpLimiter(options as HttpLimitOptions);

describe('construction', () => {
  test('defaults: 60/minute sliding window on a memory backend, legacy headers', () => {
    const l = createHttpLimiter();
    expect(l).toBeInstanceOf(HttpLimiter);
    expect(l.limiter.algorithm.name).toBe('sliding-window');
    expect(l.limiter.algorithm.members[0]).toMatchObject({ limit: 60, windowMs: 60_000 });
    expect(l.limiter.backend).toBeInstanceOf(MemoryBackend);
    expect(l.headerMode).toBe('legacy');
    expect(l.scope).toBeUndefined();
  });

  test('rate is a sliding window; a ready limiter is used as is', () => {
    expect(createHttpLimiter({ rate: '10/s' }).limiter.algorithm.members[0]).toMatchObject({
      id: 'sw',
      limit: 10,
      windowMs: 1000,
    });
    const ready = new RateLimiter({ algorithm: fixedWindow('1/s') });
    expect(createHttpLimiter({ limiter: ready }).limiter).toBe(ready);
  });

  test('explicit undefined means "use the default"', () => {
    expect(createHttpLimiter({ rate: undefined, headers: undefined, cost: undefined }).headerMode).toBe(
      'legacy',
    );
  });

  test('every option key the contract names is accepted', () => {
    expect([...HTTP_LIMIT_OPTION_KEYS].sort()).toEqual(
      [
        'limiter',
        'rate',
        'algorithm',
        'backend',
        'prefix',
        'timeoutMs',
        'keyBy',
        'skip',
        'exemptPaths',
        'exemptMethods',
        'cost',
        'scope',
        'headers',
        'policyName',
        'statusCode',
        'message',
        'onBackendError',
        'onError',
        'onLimited',
        'config',
        'keyStore',
        'audit',
        'statistics',
        'protection',
        'load',
      ].sort(),
    );
  });
});

describe('validation errors name the field', () => {
  const ready = new RateLimiter({ algorithm: fixedWindow('1/s') });

  test.each<[string, unknown, string]>([
    ['options not an object', 'fast', 'options'],
    ['options an array', [], 'options'],
    ['unknown header mode', { headers: 'foo' }, 'headers'],
    ['headers: true', { headers: true }, 'headers'],
    ['unparseable rate', { rate: 'lots' }, 'rate'],
    ['rate of zero', { rate: '0/minute' }, 'rate'],
    ['rate not a string', { rate: 100 }, 'rate'],
    ['rate with algorithm', { rate: '1/s', algorithm: fixedWindow('1/s') }, 'algorithm'],
    ['limiter with rate', { limiter: ready, rate: '1/s' }, 'rate'],
    ['limiter with algorithm', { limiter: ready, algorithm: fixedWindow('1/s') }, 'algorithm'],
    ['limiter with backend', { limiter: ready, backend: new MemoryBackend() }, 'backend'],
    ['limiter with prefix', { limiter: ready, prefix: 'x' }, 'prefix'],
    ['limiter with timeoutMs', { limiter: ready, timeoutMs: 10 }, 'timeoutMs'],
    ['limiter not a RateLimiter', { limiter: {} }, 'limiter'],
    ['algorithm not an algorithm', { algorithm: 'sliding' }, 'algorithm'],
    ['backend not a backend', { backend: {} }, 'backend'],
    ['bad prefix', { prefix: 'has space' }, 'prefix'],
    ['bad timeoutMs', { timeoutMs: 0 }, 'timeoutMs'],
    ['keyBy not a function', { keyBy: 'x-api-key' }, 'keyBy'],
    ['skip not a function', { skip: true }, 'skip'],
    ['cost zero', { cost: 0 }, 'cost'],
    ['cost fractional', { cost: 1.5 }, 'cost'],
    ['cost a string', { cost: '2' }, 'cost'],
    ['statusCode 200', { statusCode: 200 }, 'statusCode'],
    ['statusCode 600', { statusCode: 600 }, 'statusCode'],
    ['statusCode 429.5', { statusCode: 429.5 }, 'statusCode'],
    ['statusCode a string', { statusCode: '429' }, 'statusCode'],
    ['onBackendError unknown', { onBackendError: 'retry' }, 'onBackendError'],
    ['exemptPaths not an array', { exemptPaths: '/health' }, 'exemptPaths'],
    ['exemptPaths item', { exemptPaths: ['/ok', 42] }, 'exemptPaths[1]'],
    ['exemptMethods not an array', { exemptMethods: 'OPTIONS' }, 'exemptMethods'],
    ['exemptMethods item', { exemptMethods: [''] }, 'exemptMethods[0]'],
    ['policyName with upper case', { policyName: 'Default' }, 'policyName'],
    ['policyName with a quote', { policyName: 'a"b' }, 'policyName'],
    ['policyName starting with a digit', { policyName: '1st' }, 'policyName'],
    ['policyName empty', { policyName: '' }, 'policyName'],
    ['message a number', { message: 42 }, 'message'],
    ['message an array', { message: ['x'] }, 'message'],
    ['onError not a function', { onError: 'log' }, 'onError'],
    ['onLimited not a function', { onLimited: {} }, 'onLimited'],
    ['unknown key', { rates: '10/s' }, 'rates'],
  ])('%s', (_, options, field) => {
    optionError(bad(options), field);
  });

  test('an unparseable rate is an InvalidRateError quoting the value', () => {
    const error = optionError(bad({ rate: 'lots' }), 'rate');
    expect(error).toBeInstanceOf(InvalidRateError);
    expect(error.message).toContain('"lots"');
  });

  test('a typo suggests the option it resembles', () => {
    expect(optionError(bad({ rates: '10/s' }), 'rates').message).toContain('did you mean "rate"');
    expect(optionError(bad({ statuscode: 500 }), 'statuscode').message).toContain(
      'did you mean "statusCode"',
    );
    expect(optionError(bad({ zzzzzzzz: 1 }), 'zzzzzzzz').message).not.toContain('did you mean');
  });

  test('valid edge values are accepted', () => {
    expect(() =>
      createHttpLimiter({
        policyName: 'tier-1.api_*',
        statusCode: 599,
        cost: Number.MAX_SAFE_INTEGER,
        message: { error: 'no' },
        headers: false,
        exemptPaths: [],
        exemptMethods: ['options'],
        onBackendError: 'deny',
      }),
    ).not.toThrow();
  });
});
