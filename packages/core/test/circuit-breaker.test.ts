import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../src/algorithms/types.js';
import {
  type Backend,
  BackendError,
  BackendTimeoutError,
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  ClosedError,
  fixedWindow,
  InvalidOptionError,
  type Keyspace,
  MemoryBackend,
  RateLimiter,
} from '../src/index.js';
import { createHttpLimiter } from '../src/http/index.js';
import { req } from './http/helpers.js';

/**
 * A hand-written backend in front of a MemoryBackend that counts calls and fails on demand: 'fail' rejects,
 * 'hang' never answers, 'held' answers only when the test settles the call.
 */
class Switchable implements Backend {
  mode: 'ok' | 'fail' | 'hang' | 'held' = 'ok';
  calls = 0;
  closed = false;
  readonly inner = new MemoryBackend();
  readonly held: { resolve: () => void; reject: (e: Error) => void }[] = [];

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): Promise<readonly StepOutcome[]> {
    this.calls++;
    if (this.mode === 'fail') return Promise.reject(new Error(`down #${this.calls}`));
    if (this.mode === 'hang') return new Promise(() => undefined);
    const answer = () => this.inner.evaluate(space, key, cost, peek);
    if (this.mode === 'ok') return Promise.resolve(answer());
    return new Promise((resolve, reject) => {
      this.held.push({ resolve: () => resolve(answer()), reject });
    });
  }

  delete(space: Keyspace, key: string): Promise<void> {
    this.calls++;
    if (this.mode === 'fail') return Promise.reject(new Error('down'));
    return Promise.resolve(this.inner.delete(space, key));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A breaker over a Switchable on a hand-moved clock, with a limiter using it and a log of its events. */
function setup(options: Omit<CircuitBreakerOptions, 'backend' | 'clock'> = {}) {
  let now = 1_000_000;
  const inner = new Switchable();
  const breaker = new CircuitBreaker({ backend: inner, clock: () => now, failureThreshold: 3, ...options });
  const limiter = new RateLimiter({ algorithm: fixedWindow('100/minute'), backend: breaker });
  const events: string[] = [];
  const payloads: unknown[][] = [];
  for (const name of ['open', 'halfOpen', 'close'] as const) {
    breaker.on(name, (...args: unknown[]) => {
      events.push(name);
      payloads.push(args);
    });
  }
  const fail = async (n: number) => {
    for (let i = 0; i < n; i++) await limiter.limit('k').catch(() => undefined);
  };
  return {
    inner,
    breaker,
    limiter,
    events,
    payloads,
    fail,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('CircuitBreaker options', () => {
  it('has documented defaults', () => {
    const b = new CircuitBreaker({ backend: new MemoryBackend() });
    expect(b).toMatchObject({
      failureThreshold: 5,
      openMs: 5000,
      halfOpenProbes: 1,
      successThreshold: 1,
      timeoutMs: undefined,
      failureRatio: undefined,
      windowMs: 10_000,
      minimumCalls: 20,
    });
    expect(b.health().state).toBe('closed');
  });

  it('refuses bad options, naming the field and the value', () => {
    const backend = new MemoryBackend();
    const cases: [Record<string, unknown>, string, unknown][] = [
      [{ backend, failureTreshold: 3 }, 'failureTreshold', 3],
      [{ backend: {} }, 'backend', {}],
      [{ backend, failureThreshold: 0 }, 'failureThreshold', 0],
      [{ backend, openMs: 1.5 }, 'openMs', 1.5],
      [{ backend, halfOpenProbes: '2' }, 'halfOpenProbes', '2'],
      [{ backend, successThreshold: -1 }, 'successThreshold', -1],
      [{ backend, timeoutMs: 0 }, 'timeoutMs', 0],
      [{ backend, clock: 5 }, 'clock', 5],
      [{ backend, failureRatio: 0 }, 'failureRatio', 0],
      [{ backend, failureRatio: 1.5 }, 'failureRatio', 1.5],
      [{ backend, failureRatio: '0.5' }, 'failureRatio', '0.5'],
      [{ backend, failureRatio: Number.NaN }, 'failureRatio', Number.NaN],
      [{ backend, windowMs: 0 }, 'windowMs', 0],
      [{ backend, minimumCalls: 2.5 }, 'minimumCalls', 2.5],
    ];
    for (const [options, field, value] of cases) {
      let caught: unknown;
      try {
        new CircuitBreaker(options as unknown as CircuitBreakerOptions);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidOptionError);
      expect(caught).toMatchObject({ field, value });
    }
  });
});

describe('CircuitBreaker states', () => {
  it('opens after failureThreshold failures in a row; a success resets the count', async () => {
    const t = setup();
    t.inner.mode = 'fail';
    await t.fail(2);
    expect(t.breaker.health()).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    t.inner.mode = 'ok';
    await t.limiter.limit('k');
    expect(t.breaker.health().consecutiveFailures).toBe(0);
    t.inner.mode = 'fail';
    await t.fail(2);
    expect(t.breaker.health().state).toBe('closed');
    await t.fail(1);
    expect(t.breaker.health()).toMatchObject({ state: 'open', since: t.now(), consecutiveFailures: 3 });
    expect(t.events).toEqual(['open']);
    expect((t.payloads[0]![0] as Error).message).toBe('down #6');
  });

  it('while open refuses every call at once, without calling the wrapped backend', async () => {
    const t = setup();
    t.inner.mode = 'fail';
    await t.fail(3);
    const calls = t.inner.calls;
    t.inner.mode = 'ok';
    // decide() throws synchronously: the refusal does not even wait for a microtask.
    let thrown: unknown;
    try {
      t.limiter.decide('k');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CircuitOpenError);
    const error = await errorOf(t.limiter.limit('k'));
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: 'ERR_DL_CIRCUIT_OPEN' });
    expect(((error as Error).cause as Error).message).toBe('down #3');
    expect(await errorOf(t.limiter.reset('k'))).toBeInstanceOf(CircuitOpenError);
    expect(await errorOf(t.limiter.peek('k'))).toBeInstanceOf(CircuitOpenError);
    expect(t.inner.calls).toBe(calls);
  });

  it('half-opens after openMs; a successful probe closes it and calls go through again', async () => {
    const t = setup({ openMs: 1000 });
    t.inner.mode = 'fail';
    await t.fail(3);
    t.inner.mode = 'held';
    t.advance(999);
    expect(await errorOf(t.limiter.limit('k'))).toBeInstanceOf(CircuitOpenError);
    t.advance(1);
    const calls = t.inner.calls;
    const probe = t.limiter.limit('k');
    expect(t.breaker.health().state).toBe('halfOpen');
    // One probe at a time (halfOpenProbes 1): the next call is refused while the probe is out.
    expect(await errorOf(t.limiter.limit('k'))).toBeInstanceOf(CircuitOpenError);
    expect(t.inner.calls).toBe(calls + 1);
    t.inner.held.shift()!.resolve();
    expect(await probe).toMatchObject({ allowed: true, remaining: 99 });
    expect(t.breaker.health()).toMatchObject({ state: 'closed', consecutiveFailures: 0, since: t.now() });
    t.inner.mode = 'ok';
    expect(await t.limiter.limit('k')).toMatchObject({ allowed: true, remaining: 98 });
    expect(t.events).toEqual(['open', 'halfOpen', 'close']);
  });

  it('a failed probe opens it again for another openMs', async () => {
    const t = setup({ openMs: 1000 });
    t.inner.mode = 'fail';
    await t.fail(3);
    t.advance(1000);
    await t.fail(1);
    expect(t.breaker.health()).toMatchObject({ state: 'open', since: t.now(), consecutiveFailures: 4 });
    t.inner.mode = 'ok';
    t.advance(999);
    expect(await errorOf(t.limiter.limit('k'))).toBeInstanceOf(CircuitOpenError);
    t.advance(1);
    expect(await t.limiter.limit('k')).toMatchObject({ allowed: true });
    expect(t.events).toEqual(['open', 'halfOpen', 'open', 'halfOpen', 'close']);
    // open carries the failure that opened it, halfOpen the last failure, close nothing.
    expect(t.payloads.map((p) => p.map((e) => (e as Error).message))).toEqual([
      ['down #3'],
      ['down #3'],
      ['down #4'],
      ['down #4'],
      [],
    ]);
  });

  it('with successThreshold 2 and halfOpenProbes 2, closes only after two successful probes', async () => {
    const t = setup({ openMs: 10, successThreshold: 2, halfOpenProbes: 2 });
    t.inner.mode = 'fail';
    await t.fail(3);
    t.advance(10);
    t.inner.mode = 'held';
    const probes = [t.limiter.limit('a'), t.limiter.limit('b')];
    expect(await errorOf(t.limiter.limit('c'))).toBeInstanceOf(CircuitOpenError);
    t.inner.held.shift()!.resolve();
    await probes[0];
    expect(t.breaker.health().state).toBe('halfOpen');
    t.inner.held.shift()!.resolve();
    await probes[1];
    expect(t.breaker.health().state).toBe('closed');
  });

  it('a call begun before the breaker opened does not move it when it fails later', async () => {
    const t = setup({ openMs: 10 });
    t.inner.mode = 'held';
    const late = t.limiter.limit('k');
    t.inner.mode = 'fail';
    await t.fail(3);
    t.advance(10);
    t.inner.mode = 'held';
    const probe = t.limiter.limit('k');
    t.inner.held.shift()!.reject(new Error('late'));
    await errorOf(late);
    expect(t.breaker.health().state).toBe('halfOpen');
    t.inner.held.shift()!.resolve();
    await probe;
    expect(t.events).toEqual(['open', 'halfOpen', 'close']);
  });

  it('counts a call not answered within timeoutMs as a failure', async () => {
    const t = setup({ timeoutMs: 5, failureThreshold: 2 });
    t.inner.mode = 'hang';
    const error = await errorOf(t.limiter.limit('k'));
    expect(error).toBeInstanceOf(BackendTimeoutError);
    await t.fail(1);
    expect(t.breaker.health()).toMatchObject({ state: 'open', consecutiveFailures: 2 });
    expect(t.breaker.health().lastError!.message).toContain('5 ms');
  });

  it('does not count bugs (a DistLimiterError other than BackendError) as outages', async () => {
    const t = setup({ failureThreshold: 1 });
    t.inner.evaluate = () => Promise.reject(new ClosedError('Inner'));
    expect(await errorOf(t.limiter.limit('k'))).toBeInstanceOf(ClosedError);
    expect(t.breaker.health()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
});

describe('CircuitBreaker health, sync backends and close', () => {
  it('health() reports state, since, failures, the last error and latency', async () => {
    const t = setup();
    const start = t.now();
    expect(t.breaker.health()).toEqual({
      state: 'closed',
      since: start,
      consecutiveFailures: 0,
      latencyMs: { p50: 0, p99: 0, samples: 0 },
    });
    await t.limiter.limit('k');
    t.advance(7);
    t.inner.mode = 'fail';
    await t.fail(1);
    const h = t.breaker.health();
    expect(h).toMatchObject({
      state: 'closed',
      since: start,
      consecutiveFailures: 1,
      lastError: { message: 'down #2', at: start + 7 },
    });
    expect(h.latencyMs.samples).toBe(2);
    expect(h.latencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(h.latencyMs.p99).toBeGreaterThanOrEqual(h.latencyMs.p50);
    // Refused calls are not latency samples of the backend, and the ring holds the most recent 128.
    await t.fail(2);
    await t.fail(5);
    expect(t.breaker.health().latencyMs.samples).toBe(4);
    t.advance(5000);
    t.inner.mode = 'ok';
    for (let i = 0; i < 200; i++) await t.limiter.limit(`k${i}`);
    expect(t.breaker.health().latencyMs.samples).toBe(128);
  });

  it('keeps a synchronous backend synchronous while closed', () => {
    const breaker = new CircuitBreaker({ backend: new MemoryBackend() });
    const limiter = new RateLimiter({ algorithm: fixedWindow('2/minute'), backend: breaker });
    const d = limiter.decide('k');
    expect(d).not.toBeInstanceOf(Promise);
    expect(d).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('counts a synchronous throw as a failure and rethrows it synchronously', () => {
    const boom = new Error('sync boom');
    const throwing: Backend = {
      evaluate: () => {
        throw boom;
      },
      delete: () => undefined,
      close: async () => undefined,
    };
    const breaker = new CircuitBreaker({ backend: throwing, failureThreshold: 1 });
    const limiter = new RateLimiter({ algorithm: fixedWindow('2/minute'), backend: breaker });
    expect(() => limiter.decide('k')).toThrow(boom);
    expect(() => limiter.decide('k')).toThrow(CircuitOpenError);
  });

  it('close() closes the wrapped backend; later calls throw ClosedError', async () => {
    const t = setup();
    await t.breaker.close();
    expect(t.inner.closed).toBe(true);
    expect(await errorOf(t.limiter.limit('k'))).toBeInstanceOf(ClosedError);
  });
});

describe('CircuitBreaker under HttpLimiter while open', () => {
  async function opened() {
    const t = setup();
    t.inner.mode = 'fail';
    await t.fail(3);
    t.inner.mode = 'ok';
    return t;
  }

  it('"allow" lets the request through (200) and reports CircuitOpenError', async () => {
    const t = await opened();
    const calls = t.inner.calls;
    const l = createHttpLimiter({ rate: '5/minute', backend: t.breaker, onBackendError: 'allow' });
    const outcome = await l.handle(req());
    expect(outcome).toMatchObject({ allowed: true, status: 200, decision: undefined });
    expect(outcome.headers).toEqual({});
    expect(outcome.error).toBeInstanceOf(CircuitOpenError);
    expect(t.inner.calls).toBe(calls);
  });

  it('"deny" answers 503 with Retry-After', async () => {
    const t = await opened();
    const l = createHttpLimiter({ rate: '5/minute', backend: t.breaker, onBackendError: 'deny' });
    const outcome = await l.handle(req());
    expect(outcome).toMatchObject({ allowed: false, status: 503, decision: undefined });
    expect(outcome.headers).toEqual({ 'Retry-After': '1' });
    expect(outcome.error).toBeInstanceOf(CircuitOpenError);
  });

  it('applies with keyBy callbacks too (the limit() path)', async () => {
    const t = await opened();
    const l = createHttpLimiter({
      rate: '5/minute',
      backend: t.breaker,
      onBackendError: 'deny',
      keyBy: () => 'user',
    });
    expect(await l.handle(req())).toMatchObject({ status: 503 });
  });
});

/** A hand-written backend in front of a MemoryBackend that fails exactly the calls `fails` picks (1-based). */
class Flaky implements Backend {
  calls = 0;
  readonly inner = new MemoryBackend();
  constructor(public fails: (call: number) => boolean) {}

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): Promise<readonly StepOutcome[]> {
    this.calls++;
    if (this.fails(this.calls)) return Promise.reject(new Error(`flaky #${this.calls}`));
    return Promise.resolve(this.inner.evaluate(space, key, cost, peek));
  }

  delete(space: Keyspace, key: string): Promise<void> {
    return Promise.resolve(this.inner.delete(space, key));
  }

  async close(): Promise<void> {}
}

describe('CircuitBreaker failure ratio over a window', () => {
  // failureThreshold is set out of reach, so only the ratio can open the breaker.
  function ratioSetup(
    fails: (call: number) => boolean,
    options: Omit<CircuitBreakerOptions, 'backend' | 'clock'>,
  ) {
    let now = 1_000_000;
    const inner = new Flaky(fails);
    const breaker = new CircuitBreaker({
      backend: inner,
      clock: () => now,
      failureThreshold: 1000,
      ...options,
    });
    const limiter = new RateLimiter({ algorithm: fixedWindow('1000/minute'), backend: breaker });
    const events: string[] = [];
    breaker.on('open', (e) => events.push(`open ${e.message}`));
    breaker.on('close', () => events.push('close'));
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) await limiter.limit('k').catch(() => undefined);
    };
    return { inner, breaker, events, run, advance: (ms: number) => (now += ms) };
  }

  it('opens when the failed share reaches the ratio, not below it', async () => {
    // 5 successes, then failures: 4/9 is below 0.5, the 10th call makes it 5/10.
    const t = ratioSetup((n) => n > 5, { failureRatio: 0.5, minimumCalls: 10 });
    await t.run(9);
    expect(t.breaker.health().state).toBe('closed');
    await t.run(1);
    expect(t.breaker.health().state).toBe('open');
    expect(t.events).toEqual(['open flaky #10']);
    expect(t.inner.calls).toBe(10);
  });

  it('compares the share exactly: 3 of 10 reaches 0.3', async () => {
    const t = ratioSetup((n) => n > 7, { failureRatio: 0.3, minimumCalls: 10 });
    await t.run(9);
    expect(t.breaker.health().state).toBe('closed');
    await t.run(1);
    expect(t.breaker.health().state).toBe('open');
  });

  it('stays closed while the share stays below the ratio', async () => {
    // Every third call fails: a third of 60 calls, below 0.4, and never 5 in a row.
    const t = ratioSetup((n) => n % 3 === 0, { failureRatio: 0.4, minimumCalls: 10 });
    await t.run(60);
    expect(t.breaker.health()).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    expect(t.events).toEqual([]);
  });

  it('does not open before minimumCalls completed, and only on a failure', async () => {
    // 19 failures, a success, then failures: 19/19 is too few calls, 19/20 is reached on a success.
    const t = ratioSetup((n) => n !== 20, { failureRatio: 0.5, minimumCalls: 20 });
    await t.run(19);
    expect(t.breaker.health()).toMatchObject({ state: 'closed', consecutiveFailures: 19 });
    await t.run(1);
    expect(t.breaker.health().state).toBe('closed');
    await t.run(1);
    expect(t.breaker.health().state).toBe('open');
    expect(t.events).toEqual(['open flaky #21']);
  });

  it('counts failures still in the window', async () => {
    const t = ratioSetup(() => true, { failureRatio: 0.5, minimumCalls: 10, windowMs: 10_000 });
    await t.run(9);
    // 8 s later (under nine tenths of the window) the first nine still count: 10 of 10.
    t.advance(8000);
    await t.run(1);
    expect(t.breaker.health().state).toBe('open');
  });

  it('lets failures older than windowMs age out', async () => {
    const t = ratioSetup(() => true, { failureRatio: 0.5, minimumCalls: 10, windowMs: 10_000 });
    await t.run(9);
    t.advance(10_000);
    await t.run(1);
    // Only the newest failure is in the window: 1 call, too few.
    expect(t.breaker.health().state).toBe('closed');
    await t.run(8);
    expect(t.breaker.health().state).toBe('closed');
    await t.run(1);
    expect(t.breaker.health().state).toBe('open');
    expect(t.events).toEqual(['open flaky #19']);
  });

  it('starts a fresh window when it closes again', async () => {
    let failing = true;
    const t = ratioSetup(() => failing, { failureRatio: 0.5, minimumCalls: 4, openMs: 100 });
    await t.run(4);
    expect(t.breaker.health().state).toBe('open');
    t.advance(100);
    failing = false;
    await t.run(1);
    expect(t.breaker.health().state).toBe('closed');
    // The four failures that opened it are gone: one failure in two calls is too few calls.
    failing = true;
    await t.run(1);
    expect(t.breaker.health().state).toBe('closed');
    expect(t.events).toEqual(['open flaky #4', 'close']);
  });

  it('is off by default: only consecutive failures open the breaker', async () => {
    // Every other call fails: half of them, but never 5 in a row.
    const t = ratioSetup((n) => n % 2 === 0, { failureThreshold: 5 });
    await t.run(100);
    expect(t.breaker.health().state).toBe('closed');
  });
});

describe('health() from the limiters', () => {
  it("RateLimiter.health() is the CircuitBreaker's health, undefined over a MemoryBackend", async () => {
    const t = setup();
    t.inner.mode = 'fail';
    await t.fail(3);
    expect(t.limiter.health()).toEqual(t.breaker.health());
    expect(t.limiter.health()).toMatchObject({ state: 'open', consecutiveFailures: 3 });
    const memory = new RateLimiter({ algorithm: fixedWindow('2/minute'), backend: new MemoryBackend() });
    expect(memory.health()).toBeUndefined();
    expect(new RateLimiter({ algorithm: fixedWindow('2/minute') }).health()).toBeUndefined();
  });

  it('HttpLimiter.health() delegates to its RateLimiter', async () => {
    const t = setup();
    const l = createHttpLimiter({ rate: '5/minute', backend: t.breaker, onBackendError: 'allow' });
    expect(l.health()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    t.inner.mode = 'fail';
    await t.fail(3);
    expect(l.health()).toEqual(t.breaker.health());
    expect(l.health()!.state).toBe('open');
    expect(l.derive('1/second').health()!.state).toBe('open');
    expect(createHttpLimiter({ rate: '5/minute', backend: new MemoryBackend() }).health()).toBeUndefined();
    expect(createHttpLimiter({ rate: '5/minute' }).health()).toBeUndefined();
  });
});
