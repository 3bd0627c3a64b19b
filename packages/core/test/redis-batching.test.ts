import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedWindow, RateLimiter, RedisBackend } from '../src/index.js';
import { type RedisInstance, startRedis } from './support/testkit.js';

// How decisions meet in script calls on a standalone server: every decision asked for in one turn of the
// event loop joins one batch, and a batch that reaches 40 decisions goes out at once, as one call.
let server: RedisInstance;
let client: Redis;

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  client.disconnect();
  await server.stop();
});

async function evalshaCalls(): Promise<number> {
  const m = /cmdstat_evalsha:calls=(\d+)/.exec(await client.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

async function limiterWithScript(prefix: string): Promise<RateLimiter> {
  const limiter = new RateLimiter({
    algorithm: fixedWindow('1000/minute'),
    backend: new RedisBackend({ client, denyCache: false }),
    prefix,
  });
  // Loads the script (a first call is refused NOSCRIPT and sent again as EVAL).
  await limiter.peek('warm');
  return limiter;
}

describe('batches on a standalone server', () => {
  it('puts decisions asked for in separate callbacks of one turn in one script call', async () => {
    const limiter = await limiterWithScript('turn');
    const before = await evalshaCalls();
    // Three immediates run in one check phase, as socket reads of one poll phase do: separate callbacks
    // (each followed by its own nextTick queue), one turn.
    const decisions = await Promise.all(
      ['a', 'b', 'c'].map((key) => new Promise((resolve) => setImmediate(() => resolve(limiter.limit(key))))),
    );
    expect(await evalshaCalls()).toBe(before + 1);
    expect(decisions).toMatchObject([{ remaining: 999 }, { remaining: 999 }, { remaining: 999 }]);
  });

  // Every 40 decisions go out as one call as soon as they are asked for, the last 20 at the turn's end:
  // 3 calls, run in the order asked.
  it('sends 100 decisions of one turn as they come, in order, each seeing the ones before it', async () => {
    const limiter = await limiterWithScript('parts');
    const before = await evalshaCalls();
    const decisions = await Promise.all(Array.from({ length: 100 }, () => limiter.limit('one')));
    expect(await evalshaCalls()).toBe(before + 3);
    expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 100 }, (_, i) => 999 - i));
  });

  // A peek answers what a request of cost 1 would get, spending nothing: the last request still gets 995.
  it('answers costs above 1 and peeks among costs of 1 in one call, each as if alone', async () => {
    const limiter = await limiterWithScript('mixed');
    const before = await evalshaCalls();
    const decisions = await Promise.all([
      limiter.limit('m'),
      limiter.limit('m', { cost: 3 }),
      limiter.peek('m'),
      limiter.limit('n'),
      limiter.limit('m'),
    ]);
    expect(await evalshaCalls()).toBe(before + 1);
    expect(decisions.map((d) => d.remaining)).toEqual([999, 996, 995, 999, 995]);
  });

  it('keeps a batch under 40 decisions in one call', async () => {
    const limiter = await limiterWithScript('small');
    const before = await evalshaCalls();
    await Promise.all(Array.from({ length: 39 }, (_, i) => limiter.limit(`k${i}`)));
    expect(await evalshaCalls()).toBe(before + 1);
  });
});
