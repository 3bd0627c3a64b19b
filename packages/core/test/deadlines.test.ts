import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Bounded, Deadlines } from '../src/deadlines.js';
import { BackendError, BackendTimeoutError, CallbackTimeoutError } from '../src/errors.js';

// Fake timers make "given up at timeoutMs" checkable to the millisecond without wall-clock assertions.
// performance is faked too: Deadlines measures deadlines with performance.now().
const TIMEOUT = 100;

/** A promise that never settles, like a backend call to a hung Redis. */
const hung = <T>(): Promise<T> => new Promise<T>(() => {});

/** The settled state of a promise, observed without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown; count: number } = {
    settled: 'pending',
    count: 0,
  };
  promise.then(
    (value) => {
      state.settled = 'resolved';
      state.value = value;
      state.count += 1;
    },
    (error: unknown) => {
      state.settled = 'rejected';
      state.error = error;
      state.count += 1;
    },
  );
  return state;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

// Offsets (ms) after a first call that set the timer's phase: a shared timer ticking every timeoutMs/2 gave
// each of these up at the next tick after its deadline, up to 1.5 x timeoutMs after it started.
const OFFSETS = [1, 10, 25, 49, 50, 51, 75, 99, 130];

describe('Deadlines', () => {
  for (const offset of OFFSETS) {
    it(`bound gives a call started ${offset} ms after another up exactly at its own deadline`, async () => {
      const deadlines = new Deadlines(TIMEOUT);
      const first = track(deadlines.bound(hung()));
      await vi.advanceTimersByTimeAsync(offset);
      const call = track(deadlines.bound(hung()));

      await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
      expect(call.settled).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(call.settled).toBe('rejected');
      expect(call.error).toBeInstanceOf(BackendTimeoutError);
      expect(call.error).toBeInstanceOf(BackendError);
      expect(first.error).toBeInstanceOf(BackendTimeoutError);

      await vi.advanceTimersByTimeAsync(10 * TIMEOUT);
      expect(call.count).toBe(1);
      expect(first.count).toBe(1);
    });

    it(`race gives a callback started ${offset} ms after another up exactly at its own deadline`, async () => {
      const deadlines = new Deadlines(TIMEOUT);
      const late = (name: string) => () => new CallbackTimeoutError(name, TIMEOUT);
      const first = track(deadlines.race(hung(), late('keyBy')));
      await vi.advanceTimersByTimeAsync(offset);
      const call = track(deadlines.race(hung(), late('cost')));

      await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
      expect(call.settled).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(call.settled).toBe('rejected');
      expect(call.error).toBeInstanceOf(CallbackTimeoutError);
      expect((call.error as CallbackTimeoutError).callback).toBe('cost');
      expect((first.error as CallbackTimeoutError).callback).toBe('keyBy');

      await vi.advanceTimersByTimeAsync(10 * TIMEOUT);
      expect(call.count).toBe(1);
    });
  }

  it('gives up each of many staggered calls at its own deadline', async () => {
    const deadlines = new Deadlines(TIMEOUT);
    const calls = [];
    for (let i = 0; i < 40; i++) {
      calls.push(track(deadlines.bound(hung())));
      await vi.advanceTimersByTimeAsync(7);
    }
    // t = 280: the calls started at 0..175 (every 7 ms) have passed their deadlines, the others have not.
    calls.forEach((call, i) => {
      expect(call.settled).toBe(i * 7 + TIMEOUT <= 280 ? 'rejected' : 'pending');
    });
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    for (const call of calls) expect(call.settled).toBe('rejected');
  });

  it('never rejects a call that settled before its deadline, and stops its timer once nothing is pending', async () => {
    const deadlines = new Deadlines(TIMEOUT);
    let answer!: (value: string) => void;
    const call = track(deadlines.bound(new Promise<string>((resolve) => (answer = resolve))));
    const failing = track(deadlines.bound(Promise.reject(new Error('boom'))));
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
    answer('ok');
    await vi.advanceTimersByTimeAsync(10 * TIMEOUT);

    expect(call).toMatchObject({ settled: 'resolved', value: 'ok', count: 1 });
    expect(failing.settled).toBe('rejected');
    expect(failing.error).toBeInstanceOf(BackendError);
    expect(failing.error).not.toBeInstanceOf(BackendTimeoutError);
    // No settled entry keeps a timer re-armed.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores an answer that comes after the call was given up', async () => {
    const deadlines = new Deadlines(TIMEOUT);
    let answer!: (value: string) => void;
    const call = track(deadlines.bound(new Promise<string>((resolve) => (answer = resolve))));
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    answer('too late');
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    expect(call.settled).toBe('rejected');
    expect(call.count).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('passes a failed callback through race as is by default, or through `failed`', async () => {
    const deadlines = new Deadlines(TIMEOUT);
    const boom = new Error('boom');
    await expect(deadlines.race(Promise.reject(boom), () => new Error('late'))).rejects.toBe(boom);
    await expect(
      deadlines.race(
        Promise.reject(boom),
        () => new Error('late'),
        () => new Error('wrapped'),
      ),
    ).rejects.toThrow('wrapped');
  });
});

describe('Deadlines timers', () => {
  it('never keeps the process alive: every timer it arms is unreferenced', async () => {
    vi.useRealTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const deadlines = new Deadlines(5);
      const calls = [deadlines.bound(hung()), deadlines.race(hung(), () => new Error('late'))];
      await Promise.allSettled(calls);
      const timers = spy.mock.results.map((result) => result.value as NodeJS.Timeout);
      expect(timers.length).toBeGreaterThan(0);
      for (const timer of timers) expect(timer.hasRef()).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('Deadlines with a timeout longer than setTimeout allows', () => {
  it('waits out the whole timeout instead of firing after 1 ms', async () => {
    const long = 2 ** 32;
    const call = track(new Deadlines(long).bound(hung()));
    await vi.advanceTimersByTimeAsync(long - 1);
    expect(call.settled).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(call.error).toBeInstanceOf(BackendTimeoutError);
  });
});

// track/untrack keep the pending calls in a ring buffer that grows past 64 and whose head skips settled
// calls; this holds it to the plain rule: a tracked call expires once, at its deadline, unless untracked
// before it, in whatever order calls settle.
describe('Deadlines tracking many calls', () => {
  // Tracks come in bursts, so that more than the buffer's first 64 slots are pending at times.
  type Op =
    | { kind: 'track'; count: number }
    | { kind: 'untrack'; pick: number }
    | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.integer({ min: 1, max: 40 }).map((count) => ({ kind: 'track' as const, count })),
    },
    { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: 'untrack' as const, pick })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 30 }).map((ms) => ({ kind: 'advance' as const, ms })) },
  );

  it('expires exactly the calls still tracked at their deadline, each once, at it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 300 }), async (ops) => {
        const deadlines = new Deadlines(TIMEOUT);
        const calls: { entry: Bounded; expired: number[]; untrackedAt?: number }[] = [];
        for (const o of ops) {
          if (o.kind === 'track') {
            for (let i = 0; i < o.count; i++) {
              const call: (typeof calls)[number] = {
                expired: [],
                entry: {
                  deadline: performance.now() + TIMEOUT,
                  expire: () => call.expired.push(performance.now()),
                },
              };
              calls.push(call);
              deadlines.track(call.entry);
            }
          } else if (o.kind === 'untrack' && calls.length > 0) {
            // Any call, settled or not: untracking one already expired or untracked must do nothing.
            const call = calls[o.pick % calls.length]!;
            call.untrackedAt ??= performance.now();
            deadlines.untrack(call.entry);
          } else if (o.kind === 'advance') {
            await vi.advanceTimersByTimeAsync(o.ms);
          }
        }
        await vi.advanceTimersByTimeAsync(TIMEOUT + 1);
        for (const call of calls) {
          // Untracked at or after its deadline, it had expired by then (at its deadline).
          const before = call.untrackedAt !== undefined && call.untrackedAt < call.entry.deadline;
          expect(call.expired).toEqual(before ? [] : [call.entry.deadline]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
