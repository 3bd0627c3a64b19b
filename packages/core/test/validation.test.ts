import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  DistLimiterError,
  fixedWindow,
  gcra,
  hybrid,
  InvalidCostError,
  InvalidDurationError,
  InvalidKeyError,
  InvalidOptionError,
  InvalidRateError,
  leakyBucket,
  MemoryBackend,
  RateLimiter,
  RedisBackend,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { parseDuration } from '../src/policy/duration.js';
import { parseRate } from '../src/policy/rate.js';
import { SLIDING_LOG_MAX_LIMIT } from '../src/algorithms/sliding-log.js';

type ErrorClass = new (...args: never[]) => InvalidOptionError;

/** Runs `fn` and returns what it threw (or a marker when it threw nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return 'nothing thrown';
}

/** Asserts the exact error class (not just a base class), its field, code and a message naming the field. */
function expectRejection(error: unknown, cls: ErrorClass, field: string): void {
  expect(error).toBeInstanceOf(DistLimiterError);
  expect((error as object).constructor).toBe(cls);
  const e = error as InvalidOptionError;
  expect(e.field).toBe(field);
  expect(e.message).toContain(field);
  expect(e.code).toMatch(/^ERR_DL_/);
}

// Everything a positive-integer option must refuse.
const notPositiveIntegers: unknown[] = [
  0,
  -1,
  -0.5,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '5',
  null,
  2 ** 53,
];
const loose = (o: unknown) => o as never;

describe('limits and capacities', () => {
  const factories: [string, (v: unknown) => unknown][] = [
    ['fixedWindow.limit', (v) => fixedWindow(loose({ limit: v, window: 1000 }))],
    ['slidingWindow.limit', (v) => slidingWindow(loose({ limit: v, window: 1000 }))],
    ['slidingLog.limit', (v) => slidingLog(loose({ limit: v, window: 1000 }))],
    ['tokenBucket.capacity', (v) => tokenBucket(loose({ capacity: v, refillRate: '1/s' }))],
    ['leakyBucket.capacity', (v) => leakyBucket(loose({ capacity: v, leakRate: '1/s' }))],
    ['gcra.limit', (v) => gcra(loose({ limit: v, period: 1000 }))],
    ['gcra.burst', (v) => gcra(loose({ limit: 5, period: 1000, burst: v }))],
  ];
  for (const [field, make] of factories) {
    it.each(notPositiveIntegers.map((v) => [String(v), v]))(`${field} refuses %s`, (_, value) => {
      expectRejection(
        thrown(() => make(value)),
        InvalidOptionError,
        field,
      );
    });
    if (field !== 'gcra.burst') {
      it(`${field} refuses a missing value`, () => {
        expectRejection(
          thrown(() => make(undefined)),
          InvalidOptionError,
          field,
        );
      });
    }
  }

  it('gcra.burst may be left out (it defaults to the limit)', () => {
    expect(gcra({ limit: 5, period: 1000 }).limit).toBe(5);
  });

  it(`slidingLog refuses a limit over ${SLIDING_LOG_MAX_LIMIT}, in either form`, () => {
    expect(slidingLog({ limit: SLIDING_LOG_MAX_LIMIT, window: 1000 }).limit).toBe(10_000);
    expectRejection(
      thrown(() => slidingLog({ limit: SLIDING_LOG_MAX_LIMIT + 1, window: 1000 })),
      InvalidOptionError,
      'slidingLog.limit',
    );
    const error = thrown(() => slidingLog('10001/minute'));
    expectRejection(error, InvalidOptionError, 'slidingLog.limit');
    expect((error as Error).message).toContain('slidingWindow');
  });

  it('refuses options that are not an object', () => {
    expectRejection(
      thrown(() => fixedWindow(loose([]))),
      InvalidOptionError,
      'fixedWindow',
    );
    expectRejection(
      thrown(() => tokenBucket(loose(null))),
      InvalidOptionError,
      'tokenBucket',
    );
    expectRejection(
      thrown(() => gcra(5 as never)),
      InvalidOptionError,
      'gcra',
    );
  });

  it('refuses a bucket without its rate', () => {
    expectRejection(
      thrown(() => tokenBucket(loose({ capacity: 5 }))),
      InvalidOptionError,
      'tokenBucket.refillRate',
    );
    expectRejection(
      thrown(() => leakyBucket(loose({ capacity: 5 }))),
      InvalidOptionError,
      'leakyBucket.leakRate',
    );
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expectRejection(
        thrown(() => tokenBucket({ capacity: 5, refillRate: bad })),
        InvalidOptionError,
        'tokenBucket.refillRate',
      );
    }
  });
});

describe('products that would leave exact integer arithmetic (2^53)', () => {
  it.each([
    ['fixedWindow.limit', () => fixedWindow({ limit: 2 ** 44, window: 1000 })],
    ['slidingWindow.limit', () => slidingWindow({ limit: 2 ** 40, window: '1d' })],
    ['tokenBucket.capacity', () => tokenBucket({ capacity: 2 ** 40, refillRate: '1/d' })],
    ['leakyBucket.capacity', () => leakyBucket({ capacity: 2 ** 40, leakRate: '1/d' })],
    ['gcra.burst', () => gcra({ limit: 1, period: '1d', burst: 2 ** 40 })],
  ])('%s', (field, make) => {
    const error = thrown(make);
    expectRejection(error, InvalidOptionError, field);
    expect((error as Error).message).toMatch(/2\^53/);
  });

  it('accepts large limits that stay within the bound', () => {
    expect(fixedWindow({ limit: 2 ** 42, window: 1000 }).limit).toBe(2 ** 42);
    expect(slidingWindow({ limit: 2 ** 20, window: '1d' }).limit).toBe(2 ** 20);
    expect(tokenBucket({ capacity: 2 ** 20, refillRate: '1/d' }).limit).toBe(2 ** 20);
  });

  it('accepts realistic high-volume rates for every algorithm', () => {
    for (const rate of ['100000/hour', '1000000/day', '10000000/day']) {
      for (const make of [fixedWindow, slidingWindow, tokenBucket, leakyBucket, gcra]) {
        expect(make(rate).limit).toBe(Number(rate.split('/')[0]));
      }
    }
  });
});

describe('durations', () => {
  const bad: unknown[] = [
    0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    'abc',
    '10 fortnights',
    '1.5s',
  ];
  it.each(bad.map((v) => [JSON.stringify(v) ?? String(v), v]))('window %s is refused', (_, value) => {
    expectRejection(
      thrown(() => fixedWindow(loose({ limit: 5, window: value }))),
      InvalidDurationError,
      'fixedWindow.window',
    );
    expectRejection(
      thrown(() => gcra(loose({ limit: 5, period: value }))),
      InvalidDurationError,
      'gcra.period',
    );
  });

  it('refuses a missing window', () => {
    expectRejection(
      thrown(() => slidingLog(loose({ limit: 5 }))),
      InvalidDurationError,
      'slidingLog.window',
    );
  });

  it.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 5 minutes ', 300_000],
    [250, 250],
  ])('parses %j', (input, ms) => {
    expect(parseDuration(input, 'window')).toBe(ms);
  });
});

describe('rate strings', () => {
  const malformed = [
    '100/fortnight',
    '100/minutes?',
    '100',
    '/minute',
    '100/',
    'abc',
    '100//minute',
    '100 per minute',
    '0/minute',
    '-5/minute',
    '1.5/minute',
    '100/0s',
    '100/1.5s',
    '',
    '   ',
    '99999999999999999999/s',
  ];

  it.each(malformed)('%j is refused, quoted, with a valid example', (rate) => {
    for (const [field, make] of [
      ['rate', () => parseRate(rate)],
      ['fixedWindow.rate', () => fixedWindow(rate)],
      ['slidingWindow.rate', () => slidingWindow(rate)],
      ['slidingLog.rate', () => slidingLog(rate)],
      ['tokenBucket.rate', () => tokenBucket(rate)],
      ['leakyBucket.rate', () => leakyBucket(rate)],
      ['gcra.rate', () => gcra(rate)],
      ['tokenBucket.refillRate', () => tokenBucket({ capacity: 5, refillRate: rate })],
      ['leakyBucket.leakRate', () => leakyBucket({ capacity: 5, leakRate: rate })],
    ] as const) {
      const error = thrown(make);
      expectRejection(error, InvalidRateError, field);
      const message = (error as Error).message;
      expect(message).toContain(JSON.stringify(rate));
      expect(message).toContain('"100/minute"');
      expect((error as InvalidRateError).code).toBe('ERR_DL_RATE');
      expect((error as InvalidRateError).value).toBe(rate);
    }
  });

  it('refuses a rate that is not a string', () => {
    expectRejection(
      thrown(() => parseRate(100)),
      InvalidRateError,
      'rate',
    );
  });

  it.each([
    ['100/minute', 100, 60_000],
    ['10/s', 10, 1000],
    ['20/30s', 20, 30_000],
    ['5000/hour', 5000, 3_600_000],
    ['1000/day', 1000, 86_400_000],
    ['3/250ms', 3, 250],
    [' 7 / 2 m ', 7, 120_000],
    ['100/MINUTE', 100, 60_000],
  ])('parses %j', (rate, limit, windowMs) => {
    expect(parseRate(rate)).toEqual({ limit, windowMs });
  });
});

describe('limiter options', () => {
  const algorithm = fixedWindow('5/s');

  it('refuses a missing or malformed algorithm', () => {
    for (const bad of [undefined, {}, 'fixedWindow', { members: [] }, fixedWindow]) {
      expectRejection(
        thrown(() => new RateLimiter(loose({ algorithm: bad }))),
        InvalidOptionError,
        'algorithm',
      );
    }
    expectRejection(
      thrown(() => new RateLimiter(null as never)),
      InvalidOptionError,
      'RateLimiter options',
    );
  });

  it('refuses a backend of the wrong type', () => {
    const notConnected = new Redis({ lazyConnect: true });
    try {
      // An ioredis client is not a backend: it must be wrapped in RedisBackend.
      for (const bad of [{}, 'redis://localhost', notConnected, new Map(), 5]) {
        expectRejection(
          thrown(() => new RateLimiter(loose({ algorithm, backend: bad }))),
          InvalidOptionError,
          'backend',
        );
      }
    } finally {
      notConnected.disconnect();
    }
  });

  it.each([[''], ['a b'], ['x'.repeat(65)], ['a{b'], ['a}b'], ['a!b'], [5], [false]])(
    'refuses prefix %j',
    (prefix) => {
      expectRejection(
        thrown(() => new RateLimiter(loose({ algorithm, prefix }))),
        InvalidOptionError,
        'prefix',
      );
    },
  );

  it('accepts ordinary prefixes', () => {
    for (const prefix of ['x'.repeat(64), 'api:v1', 'a.b-c_d']) {
      expect(new RateLimiter({ algorithm, prefix }).prefix).toBe(prefix);
    }
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], ['100'], [false]])(
    'refuses timeoutMs %j',
    (timeoutMs) => {
      expectRejection(
        thrown(() => new RateLimiter(loose({ algorithm, timeoutMs }))),
        InvalidOptionError,
        'timeoutMs',
      );
    },
  );

  it('refuses a hybrid of nothing, or of something that is not an algorithm', () => {
    expectRejection(
      thrown(() => hybrid()),
      InvalidOptionError,
      'hybrid',
    );
    expectRejection(
      thrown(() => hybrid(loose({}))),
      InvalidOptionError,
      'hybrid[0]',
    );
    expectRejection(
      thrown(() => hybrid(algorithm, loose('10/s'))),
      InvalidOptionError,
      'hybrid[1]',
    );
  });
});

describe('backend options', () => {
  it('RedisBackend refuses a client of the wrong type, naming "client"', () => {
    for (const client of [42, {}, null, undefined, 'http://localhost:6379', 'localhost:6379', new Map()]) {
      expectRejection(
        thrown(() => new RedisBackend(loose({ client }))),
        InvalidOptionError,
        'client',
      );
    }
    expectRejection(
      thrown(() => new RedisBackend(undefined as never)),
      InvalidOptionError,
      'RedisBackend options',
    );
  });

  it('RedisBackend refuses a clock that is not a function', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      expectRejection(
        thrown(() => new RedisBackend(loose({ client, clock: 5 }))),
        InvalidOptionError,
        'clock',
      );
    } finally {
      client.disconnect();
    }
  });

  it('MemoryBackend refuses bad maxKeys and clock', () => {
    for (const maxKeys of [0, -1, 1.5, Number.NaN, '10']) {
      expectRejection(
        thrown(() => new MemoryBackend(loose({ maxKeys }))),
        InvalidOptionError,
        'maxKeys',
      );
    }
    expectRejection(
      thrown(() => new MemoryBackend(loose({ clock: 'now' }))),
      InvalidOptionError,
      'clock',
    );
  });
});

describe('per-call input', () => {
  const limiter = new RateLimiter({ algorithm: fixedWindow('5/s'), backend: new MemoryBackend() });

  it.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], ['2'], [null], [2 ** 53]])(
    'cost %j is refused by a rejected promise',
    async (cost) => {
      for (const call of [
        () => limiter.limit('k', loose({ cost })),
        () => limiter.consume('k', loose({ cost })),
      ]) {
        // A promise-returning call reports bad input through the promise, never by throwing on the spot.
        let result: Promise<unknown> | undefined;
        expect(() => {
          result = call();
        }).not.toThrow();
        const error = await result!.catch((e: unknown) => e);
        expectRejection(error, InvalidCostError, 'cost');
        expect((error as InvalidCostError).code).toBe('ERR_DL_COST');
      }
    },
  );

  const badKeys: [string, unknown][] = [
    ['empty', ''],
    ['1025 ASCII bytes', 'a'.repeat(1025)],
    ['342 euro signs (1026 bytes)', '€'.repeat(342)],
    ['257 emoji (1028 bytes)', '😀'.repeat(257)],
    ['a number', 123],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: 1 }],
  ];

  it.each(badKeys)('a key that is %s is refused', async (_, key) => {
    for (const call of [
      () => limiter.limit(key as string),
      () => limiter.consume(key as string),
      () => limiter.peek(key as string),
      () => limiter.reset(key as string),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expectRejection(error, InvalidKeyError, 'key');
      expect((error as InvalidKeyError).code).toBe('ERR_DL_KEY');
    }
    expectRejection(
      thrown(() => limiter.keysFor(key as string)),
      InvalidKeyError,
      'key',
    );
  });

  it('accepts keys of exactly 1024 bytes, counting bytes rather than characters', async () => {
    for (const key of ['a'.repeat(1024), '€'.repeat(341), '😀'.repeat(256), 'ключ']) {
      expect((await limiter.limit(key)).allowed).toBe(true);
    }
  });
});
