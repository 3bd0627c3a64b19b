import { afterEach, describe, expect, it } from 'vitest';
import {
  type Algorithm,
  type Backend,
  ClosedError,
  type Clock,
  type Decision,
  fixedWindow,
  gcra,
  hybrid,
  InvalidKeyError,
  InvalidOptionError,
  RateLimitExceeded,
  RateLimiter,
  slidingLog,
  tokenBucket,
} from '../../src/index.js';
import { algorithmCases, no, ok } from './cases.js';
import { FakeClock } from './clock.js';
import { describeRateChanges } from './rate-change.js';

/** A backend under test plus the views into its storage that the suite needs. */
export interface BackendUnderTest {
  backend: Backend;
  /** How many keys the storage holds: `size` for memory, DBSIZE (over every master) for Redis. */
  size(): Promise<number>;
  /** Remaining TTL of a stored key in ms, for storages that expire keys themselves (Redis PTTL). */
  pttl?(key: string): Promise<number>;
  /**
   * Called after the test clock passed the point where every state stopped mattering, `ms` after it was
   * written. Memory needs nothing (its expiry follows the injected clock); Redis expires keys in real time,
   * so its harness waits, boundedly, until DBSIZE reaches 0.
   */
  awaitExpiry(ms: number): Promise<void>;
  cleanup?(): Promise<void>;
}

/** Builds a fresh, empty backend reading time from `clock`. */
export type MakeBackend = (clock: Clock) => Promise<BackendUnderTest> | BackendUnderTest;

/** Window of the one test that waits for real expiry; short, because it is real time. */
const REAL_WINDOW_MS = 200;

/** What a burst of six gets from every case's limit of 5: five admitted, the sixth refused. */
const FIVE_THEN_REFUSED = [true, true, true, true, true, false];

/**
 * The behaviour every backend must show, written once: the exact decisions of every algorithm over
 * injected time, peek, reset, cost, hybrids' all-or-nothing charging, key isolation and expiry.
 */
export function describeBackendBehaviour(name: string, makeBackend: MakeBackend): void {
  describe(`${name} backend behaviour`, () => {
    const open: BackendUnderTest[] = [];
    afterEach(async () => {
      for (const h of open.splice(0)) {
        await h.cleanup?.();
      }
    });

    async function setup(start?: number) {
      const clock = new FakeClock(start);
      const h = await makeBackend(clock.read);
      open.push(h);
      const limiter = (algorithm: Algorithm, prefix = 'dl') =>
        new RateLimiter({ algorithm, backend: h.backend, prefix, timeoutMs: 5000 });
      return { clock, h, limiter };
    }

    /** Sends `n` requests for `key` at the current instant and returns the decisions. */
    async function burst(limiter: RateLimiter, key: string, n: number, cost = 1): Promise<Decision[]> {
      const out: Decision[] = [];
      for (let i = 0; i < n; i++) out.push(await limiter.limit(key, { cost }));
      return out;
    }

    for (const c of algorithmCases) {
      describe(c.name, () => {
        it('allows a burst up to the limit, then refuses with the exact retry time', async () => {
          const { limiter } = await setup();
          const l = limiter(c.make());
          const decisions = await burst(l, 'k', 6);
          expect(decisions.slice(0, 5).map((d) => [d.allowed, d.remaining, d.retryAfterMs])).toEqual([
            [true, 4, 0],
            [true, 3, 0],
            [true, 2, 0],
            [true, 1, 0],
            [true, 0, 0],
          ]);
          expect(decisions[5]).toEqual(c.burstRefusal);
        });

        it('lets a refused request through exactly retryAfterMs later, not a millisecond sooner', async () => {
          const { clock, limiter } = await setup();
          const l = limiter(c.make());
          await burst(l, 'k', 5);
          const refused = await l.limit('k');
          expect(refused.allowed).toBe(false);
          clock.advance(refused.retryAfterMs - 1);
          expect(await l.limit('k')).toMatchObject({ allowed: false, retryAfterMs: 1 });
          clock.advance(1);
          expect((await l.limit('k')).allowed).toBe(true);
        });

        it('has the whole limit again once it has recovered', async () => {
          const { clock, limiter } = await setup();
          const l = limiter(c.make());
          await burst(l, 'k', 5);
          clock.advance(c.recoverMs - 1);
          const early = await l.limit('k', { cost: 5 });
          expect(early.allowed).toBe(false);
          clock.advance(1);
          const again = await burst(l, 'k', 6);
          expect(again.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
          expect(again[5]).toEqual(c.burstRefusal);
        });

        it('follows its exact script of refills, leaks and window edges', async () => {
          const { clock, limiter } = await setup();
          const l = limiter(c.make());
          for (const [i, step] of c.script.entries()) {
            clock.at(step.at);
            const d = step.peek ? await l.peek('k') : await l.limit('k', { cost: step.cost ?? 1 });
            expect({ step: i, at: step.at, ...d }).toEqual({ step: i, at: step.at, ...step.expect });
          }
        });

        it('charges a cost above 1 in full and refuses what no longer fits', async () => {
          const { clock, limiter } = await setup();
          const l = limiter(c.make());
          expect(await l.limit('k', { cost: 3 })).toMatchObject({ allowed: true, remaining: 2 });
          const refused = await l.limit('k', { cost: 3 });
          expect(refused).toEqual(c.cost3Refusal);
          // The refused cost-3 request charged nothing: 2 still fit now.
          expect(await l.peek('k')).toMatchObject({ allowed: true, remaining: 1 });
          clock.advance(refused.retryAfterMs - 1);
          expect(await l.limit('k', { cost: 3 })).toMatchObject({ allowed: false, retryAfterMs: 1 });
          clock.advance(1);
          expect((await l.limit('k', { cost: 3 })).allowed).toBe(true);
        });

        it('uses up exactly the limit with cost 2 + 3', async () => {
          const { limiter } = await setup();
          const l = limiter(c.make());
          expect(await l.limit('k', { cost: 2 })).toMatchObject({ allowed: true, remaining: 3 });
          expect(await l.limit('k', { cost: 3 })).toMatchObject({ allowed: true, remaining: 0 });
          expect((await l.limit('k')).allowed).toBe(false);
        });

        it('refuses a cost over the limit with retryAfterMs Infinity and charges nothing', async () => {
          const { h, limiter } = await setup();
          const l = limiter(c.make());
          expect(await l.limit('k', { cost: 6 })).toEqual(c.tooCostly);
          expect(await h.size()).toBe(0);
          const error = await l.consume('k', { cost: 6 }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(RateLimitExceeded);
          expect((error as RateLimitExceeded).decision.retryAfterMs).toBe(Number.POSITIVE_INFINITY);
          expect(await l.limit('k', { cost: 5 })).toMatchObject({ allowed: true, remaining: 0 });
          // Even with the key exhausted, an impossible cost says "never", not "later".
          expect((await l.limit('k', { cost: 6 })).retryAfterMs).toBe(Number.POSITIVE_INFINITY);
        });

        it('peeks without spending', async () => {
          const { limiter } = await setup();
          const l = limiter(c.make());
          for (let i = 0; i < 10; i++) expect(await l.peek('k')).toEqual(c.freshPeek(1000));
          expect((await burst(l, 'k', 6)).map((d) => d.allowed)).toEqual(FIVE_THEN_REFUSED);
          // A peek at an exhausted key answers what a request would get.
          expect(await l.peek('k')).toEqual(c.burstRefusal);
          expect(await l.peek('k')).toEqual(c.burstRefusal);
        });

        it('reset() forgets the key', async () => {
          const { h, limiter } = await setup();
          const l = limiter(c.make());
          await burst(l, 'k', 5);
          await l.reset('k');
          expect(await h.size()).toBe(0);
          expect(await l.peek('k')).toEqual(c.freshPeek(1000));
          expect((await burst(l, 'k', 6)).map((d) => d.allowed)).toEqual(FIVE_THEN_REFUSED);
          // Resetting a key that holds nothing is fine.
          await l.reset('never-seen');
        });

        it('keeps keys apart', async () => {
          const { limiter } = await setup();
          const l = limiter(c.make());
          await burst(l, 'alice', 5);
          expect((await l.limit('alice')).allowed).toBe(false);
          expect(await l.limit('bob')).toMatchObject({ allowed: true, remaining: 4 });
          // Keys that differ only in case, in a brace or in a separator are different keys.
          for (const other of ['Alice', 'alice:', '{alice}', 'alice}', 'ali', '}alice']) {
            expect(await l.limit(other)).toMatchObject({ allowed: true, remaining: 4 });
          }
          await l.reset('bob');
          expect((await l.limit('alice')).allowed).toBe(false);
        });

        it('stores every key with a TTL no longer than its state matters', async () => {
          const { h, clock, limiter } = await setup();
          const l = limiter(c.make());
          await l.limit('k');
          const keys = l.keysFor('k');
          const ttls = c.firstTtlMs(1000);
          expect(await h.size()).toBe(keys.length);
          if (h.pttl) {
            for (const [i, key] of keys.entries()) {
              const pttl = await h.pttl(key);
              expect(pttl).toBeGreaterThan(0);
              expect(pttl).toBeLessThanOrEqual(ttls[i]!);
            }
          }
          // Once the longest TTL has passed, the key answers as if it had never been seen.
          clock.advance(Math.max(...ttls));
          expect(await l.peek('k')).toEqual(c.freshPeek(1000));
        });

        it('drops a key from storage once its state stops mattering', async () => {
          const { h, clock, limiter } = await setup();
          const l = limiter(c.make(REAL_WINDOW_MS));
          await l.limit('k');
          expect(await h.size()).toBe(l.keysFor('k').length);
          const relevance = Math.max(...c.firstTtlMs(REAL_WINDOW_MS));
          clock.advance(relevance);
          await h.awaitExpiry(relevance);
          // Memory drops the entry when it meets it; Redis has already dropped it.
          expect(await l.peek('k')).toEqual(c.freshPeek(REAL_WINDOW_MS));
          expect(await h.size()).toBe(0);
        });

        it('treats time zero as an ordinary instant', async () => {
          const { clock, limiter } = await setup(0);
          const l = limiter(c.make());
          const decisions = await burst(l, 'k', 6);
          expect(decisions[5]).toEqual(c.burstRefusal);
          clock.advance(c.recoverMs);
          expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 4 });
        });
      });
    }

    describe('hybrid', () => {
      it('charges no member when the bucket refuses', async () => {
        const { limiter } = await setup();
        const bucket = tokenBucket({ capacity: 3, refillRate: '1/s' });
        const window = fixedWindow({ limit: 10, window: 60_000 });
        const both = limiter(hybrid(bucket, window));
        expect((await burst(both, 'k', 3)).every((d) => d.allowed)).toBe(true);
        for (let i = 0; i < 5; i++) expect(await both.limit('k')).toEqual(no(0, 3000, 1000, 3));
        // Each member's own limiter on the same backend and prefix reads the hybrid's state.
        expect(await limiter(window).peek('k')).toEqual(ok(6, 60_000, 10));
        expect(await limiter(bucket).peek('k')).toEqual(no(0, 3000, 1000, 3));
      });

      it('charges no member when the window refuses', async () => {
        const { limiter } = await setup();
        const bucket = tokenBucket({ capacity: 10, refillRate: '1/s' });
        const window = fixedWindow({ limit: 3, window: 60_000 });
        const both = limiter(hybrid(bucket, window));
        expect((await burst(both, 'k', 3)).every((d) => d.allowed)).toBe(true);
        for (let i = 0; i < 5; i++) {
          expect(await both.limit('k', { cost: 1 + (i % 2) })).toEqual(no(0, 60_000, 60_000, 3, 1));
        }
        expect(await limiter(bucket).peek('k')).toEqual(ok(6, 4000, 10));
        expect(await limiter(window).peek('k')).toEqual(no(0, 60_000, 60_000, 3));
      });

      it('charges no member when one member can never allow the cost', async () => {
        const { h, limiter } = await setup();
        const members = [fixedWindow('5/s'), slidingLog({ limit: 3, window: 1000 }), gcra('10/s')];
        const all = limiter(hybrid(...members));
        const d = await all.limit('k', { cost: 4 });
        expect(d).toEqual(no(3, 0, Number.POSITIVE_INFINITY, 3, 1));
        expect(await h.size()).toBe(0);
        expect((await limiter(members[0]!).peek('k')).remaining).toBe(4);
        expect((await limiter(members[1]!).peek('k')).remaining).toBe(2);
        expect((await limiter(members[2]!).peek('k')).remaining).toBe(9);
        // Within every member's limit, all are charged together.
        expect(await all.limit('k', { cost: 3 })).toMatchObject({ allowed: true, limit: 3, remaining: 0 });
        expect((await limiter(members[0]!).peek('k')).remaining).toBe(1);
        expect((await limiter(members[2]!).peek('k')).remaining).toBe(6);
      });

      it('a reset forgets every member', async () => {
        const { h, limiter } = await setup();
        const both = limiter(hybrid(tokenBucket('3/s'), fixedWindow('10/minute')));
        await burst(both, 'k', 3);
        expect(await h.size()).toBe(2);
        await both.reset('k');
        expect(await h.size()).toBe(0);
        expect(await both.peek('k')).toEqual(ok(2, 334, 3));
      });
    });

    describe('limiters sharing one backend', () => {
      it('a change of rate acts on the counts already stored, not on a fresh allowance', async () => {
        const { limiter } = await setup();
        const strict = limiter(fixedWindow('3/s'));
        const loose = limiter(fixedWindow('5/s'));
        await burst(strict, 'k', 3);
        expect((await strict.limit('k')).allowed).toBe(false);
        // The same window and count, read under a limit of 5: two left, not five.
        expect(await loose.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
      });

      it('never share counts between algorithms, or between scopes, on one prefix', async () => {
        const { limiter } = await setup();
        const window = limiter(fixedWindow('3/s'));
        const log = limiter(slidingLog('3/s'));
        await burst(window, 'k', 3);
        expect((await window.limit('k')).allowed).toBe(false);
        expect(await log.limit('k')).toMatchObject({ allowed: true, remaining: 2 });
        expect(await window.limit('k', { scope: 'GET /a' })).toMatchObject({ allowed: true, remaining: 2 });
        expect(await window.limit('k', { scope: 'GET /b' })).toMatchObject({ allowed: true, remaining: 2 });
        expect(await window.peek('k', { scope: 'GET /a' })).toMatchObject({ remaining: 1 });
        await window.reset('k', { scope: 'GET /a' });
        expect(await window.peek('k', { scope: 'GET /a' })).toMatchObject({ remaining: 2 });
        expect((await window.peek('k')).allowed).toBe(false);
      });

      it('share counts for the same rule and prefix, not across prefixes', async () => {
        const { limiter } = await setup();
        const a = limiter(fixedWindow('5/s'));
        const b = limiter(fixedWindow('5/s'));
        const other = limiter(fixedWindow('5/s'), 'other');
        await burst(a, 'k', 3);
        expect(await b.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
        expect(await other.limit('k')).toMatchObject({ allowed: true, remaining: 4 });
      });
    });

    describe('keys that are not well-formed UTF-16', () => {
      // Redis stores bytes: a lone surrogate has no UTF-8 encoding, so ioredis writes U+FFFD for each one
      // and all these keys would land in one bucket. Distinct keys must never share a count.
      const malformed = ['\uD800', '\uDFFF', '\uD800x', 'user-\uDC00-1', 'a\uDBFF'];

      it('never share a count: each is refused or counted on its own', async () => {
        const { limiter } = await setup();
        const l = limiter(fixedWindow('3/s'));
        for (const key of malformed) {
          const first = await l.limit(key).catch((error: unknown) => error);
          if (first instanceof InvalidKeyError) continue;
          expect(first, JSON.stringify(key)).toMatchObject({ allowed: true, remaining: 2 });
          await burst(l, key, 2);
        }
      });

      it('are refused with InvalidKeyError by limit, decide, consume, peek, reset and keysFor', async () => {
        const { h, limiter } = await setup();
        const l = limiter(fixedWindow('3/s'));
        for (const key of malformed) {
          await expect(l.limit(key)).rejects.toThrow(InvalidKeyError);
          await expect(l.limit(key)).rejects.toThrow(/well-formed UTF-16 \(no unpaired surrogates\)/);
          expect(() => l.decide(key)).toThrow(InvalidKeyError);
          await expect(l.consume(key)).rejects.toThrow(InvalidKeyError);
          await expect(l.peek(key)).rejects.toThrow(InvalidKeyError);
          await expect(l.reset(key)).rejects.toThrow(InvalidKeyError);
          expect(() => l.keysFor(key)).toThrow(InvalidKeyError);
        }
        expect(await h.size()).toBe(0);
        // Paired surrogates (any character outside the BMP) are well-formed and stay distinct keys.
        expect(await l.limit('\uD83D\uDE00')).toMatchObject({ allowed: true, remaining: 2 });
        expect(await l.limit('\uD83D\uDE01')).toMatchObject({ allowed: true, remaining: 2 });
      });

      it('are refused as scopes with InvalidOptionError', async () => {
        const { h, limiter } = await setup();
        const l = limiter(fixedWindow('3/s'));
        for (const scope of malformed) {
          await expect(l.limit('k', { scope })).rejects.toThrow(InvalidOptionError);
          await expect(l.peek('k', { scope })).rejects.toThrow(InvalidOptionError);
          await expect(l.reset('k', { scope })).rejects.toThrow(InvalidOptionError);
          expect(() => l.keysFor('k', { scope })).toThrow(InvalidOptionError);
        }
        expect(await h.size()).toBe(0);
      });
    });

    describeRateChanges(makeBackend);

    it('refuses to work after close() with ClosedError', async () => {
      const { h, limiter } = await setup();
      const l = limiter(fixedWindow('5/s'));
      await l.limit('k');
      await h.backend.close();
      await expect(l.limit('k')).rejects.toBeInstanceOf(ClosedError);
      await expect(l.peek('k')).rejects.toBeInstanceOf(ClosedError);
      await expect(l.reset('k')).rejects.toBeInstanceOf(ClosedError);
    });
  });
}
