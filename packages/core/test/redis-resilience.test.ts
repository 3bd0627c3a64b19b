import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeScript, paramArgs } from '../src/backends/lua.js';
import { fixedWindow, InvalidOptionError, RateLimiter, RedisBackend } from '../src/index.js';
import { pollUntil } from './support/redis.js';
import { type RedisInstance, startRedis, storedState } from './support/testkit.js';

let server: RedisInstance;
let admin: Redis;
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

async function redisNow(): Promise<number> {
  const [s, us] = await admin.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe('the decision script', () => {
  const { members } = fixedWindow('10/minute');
  const script = composeScript(members);
  const params = paramArgs(members);
  // use: 1 a first send (keeps its reply), 2 a re-send (answered from the kept reply, if any).
  const run = (keys: string[], deadline: number, use = 1) =>
    admin.eval(script.source, keys.length, ...keys, '', deadline, use, ...params, 1, 0) as Promise<number[]>;

  it('refuses a batch that reaches Redis past its deadline, and writes nothing', async () => {
    const reply = await run(['late:{a}:fw', 'late:{a}:fw~00000000.0'], (await redisNow()) - 1);
    expect(reply).toHaveLength(2);
    expect(reply[1]).toBe(-1);
    expect(await admin.exists('late:{a}:fw', 'late:{a}:fw~00000000.0')).toBe(0);
  });

  it('answers a re-sent batch from the reply it kept, without charging again', async () => {
    const keys = ['again:{a}:fw', 'again:{a}:fw~00000000.1'];
    const first = await run(keys, (await redisNow()) + 5000);
    const second = await run(keys, (await redisNow()) + 5000, 2);
    // [time, remaining, reset] (an admission): the same answer, and the count is still one.
    expect(second.slice(1)).toEqual(first.slice(1));
    expect(first).toHaveLength(3);
    expect(first[1]).toBe(9);
    expect((await storedState(admin, 'again:{a}:fw'))?.[1]).toBe(1);
    // The reply is kept only a little past the deadline.
    const ttl = await admin.pttl('again:{a}:fw~00000000.1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(6000);
    // A re-send past the deadline still gets the answer Redis gave (it ran before the deadline).
    const late = await run(keys, (await redisNow()) - 1, 2);
    expect(late.slice(1)).toEqual(first.slice(1));
    // A first send never looks: the same id sent as new runs again (the backend never does that).
    const fresh = await run(keys, (await redisNow()) + 5000, 1);
    expect(fresh[1]).toBe(8);
  });

  // An admission (retry 0) as {remaining, reset}; anything else as {-1, allowed, remaining, reset, retry}.
  it('replies two integers per admission and five per other outcome, and keeps the same', async () => {
    const key = 'forms:{a}:fw';
    const reply = `${key}~00000000.3`;
    // Costs 9 and 1 (admitted: 1 and 0 left), 5 (refused, retry at the reset) and 11 (above the limit: never,
    // retry -1).
    const deadline = (await redisNow()) + 5000;
    const costs = [9, 0, 1, 0, 5, 0, 11, 0];
    const out = (await admin.eval(
      script.source,
      5,
      key,
      key,
      key,
      key,
      reply,
      '',
      deadline,
      1,
      ...params,
      ...costs,
    )) as number[];
    const [, r1, , r2, , m, a3, left3, reset3, retry3, m4, a4, left4, , retry4] = out;
    expect(out).toHaveLength(15);
    expect([r1, r2]).toEqual([1, 0]);
    expect([m, a3, left3, retry3]).toEqual([-1, 0, 0, reset3]);
    expect([m4, a4, left4, retry4]).toEqual([-1, 0, 0, -1]);
    const kept = await admin.eval(`return cmsgpack.unpack(redis.call('GET', KEYS[1]))`, 1, reply);
    expect((kept as number[]).slice(1)).toEqual(out.slice(1));
  });

  it('keeps no reply for a batch that wrote nothing (peek, or refused)', async () => {
    const keys = ['peek:{a}:fw', 'peek:{a}:fw~00000000.2'];
    await admin.eval(script.source, 2, ...keys, '', (await redisNow()) + 5000, 1, ...params, 1, 1);
    expect(await admin.exists(keys[1]!)).toBe(0);
  });
});

describe('RedisBackend connections', () => {
  it("runs decisions on its own duplicate of a client passed in, and leaves the user's client open", async () => {
    const mine = new Redis(server.url);
    const backend = new RedisBackend({ client: mine, instances: 1 });
    expect(backend.client).toBe(mine);
    expect(backend.connection).not.toBe(mine);
    const limiter = new RateLimiter({ algorithm: fixedWindow('5/minute'), backend, prefix: 'own' });
    expect((await limiter.limit('k')).remaining).toBe(4);
    await backend.close();
    expect(mine.status).toBe('ready');
    expect(await mine.ping()).toBe('PONG');
    await pollUntil(async () => backend.connection.status === 'end', 2000);
    expect(backend.connection.status).toBe('end');
    mine.disconnect();
  });

  it("quitting the user's client closes the backend's own connection too, so nothing holds the process", async () => {
    const mine = new Redis(server.url);
    const backend = new RedisBackend({ client: mine, instances: 1 });
    await new RateLimiter({ algorithm: fixedWindow('5/minute'), backend, prefix: 'quit' }).limit('k');
    await mine.quit();
    await pollUntil(async () => backend.connection.status === 'end', 2000);
    expect(backend.connection.status).toBe('end');
  });

  it('ownConnection: false runs them on the client itself', async () => {
    const mine = new Redis(server.url);
    await mine.ping();
    const backend = new RedisBackend({ client: mine, ownConnection: false, instances: 1 });
    expect(backend.connection).toBe(mine);
    await backend.close();
    expect(mine.status).toBe('ready');
    mine.disconnect();
  });

  it("beats under the first local limiter's prefix by default", async () => {
    const backend = new RedisBackend({ client: server.url, heartbeatMs: 50 });
    new RateLimiter({ algorithm: fixedWindow('1/s'), backend, onBackendError: 'local', prefix: 'fleet7' });
    await pollUntil(async () => (await admin.zcard('fleet7:instances')) === 1, 5000);
    expect(await admin.zcard('fleet7:instances')).toBe(1);
    await backend.close();
  });

  it('learns the number of instances from heartbeats, and forgets one that closed', async () => {
    const heartbeatKey = `beats:${Date.now()}`;
    const a = new RedisBackend({ client: server.url, heartbeatMs: 50, heartbeatKey });
    const b = new RedisBackend({ client: server.url, heartbeatMs: 50, heartbeatKey });
    // Nothing beats until a limiter needs the count.
    await new Promise((r) => setTimeout(r, 100));
    expect(await admin.exists(heartbeatKey)).toBe(0);
    for (const backend of [a, b]) {
      new RateLimiter({ algorithm: fixedWindow('1/s'), backend, onBackendError: 'local' });
    }
    await pollUntil(async () => a.instanceCount() === 2 && b.instanceCount() === 2, 5000);
    expect([a.instanceCount(), b.instanceCount()]).toEqual([2, 2]);
    await b.close();
    await pollUntil(async () => a.instanceCount() === 1, 5000);
    expect(a.instanceCount()).toBe(1);
    expect(a.health()).toMatchObject({ instances: 1, mode: 'redis', state: 'closed', connected: true });
    await a.close();
    // The last one out leaves the set empty.
    expect(await admin.zcard(heartbeatKey)).toBe(0);
  });

  it('a configured instance count is used as is, and nothing beats', async () => {
    const heartbeatKey = `fixed:${Date.now()}`;
    const backend = new RedisBackend({ client: server.url, instances: 4, heartbeatMs: 20, heartbeatKey });
    new RateLimiter({ algorithm: fixedWindow('1/s'), backend, onBackendError: 'local' });
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.instanceCount()).toBe(4);
    expect(await admin.exists(heartbeatKey)).toBe(0);
    await backend.close();
  });
});

describe('RedisBackend options', () => {
  it.each([
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ timeoutMs: 1.5 }, /timeoutMs/],
    [{ breaker: 'on' }, /breaker/],
    [{ breaker: { openMs: -1 } }, /openMs/],
    [{ instances: 0 }, /instances/],
    [{ heartbeatMs: 'often' }, /heartbeatMs/],
    [{ heartbeatKey: '' }, /heartbeatKey/],
    [{ ownConnection: 'yes' }, /ownConnection/],
  ])('refuses %o naming the field', (extra, field) => {
    expect(() => new RedisBackend({ client: 'redis://127.0.0.1:1', ...(extra as object) })).toThrow(
      InvalidOptionError,
    );
    expect(() => new RedisBackend({ client: 'redis://127.0.0.1:1', ...(extra as object) })).toThrow(field);
  });

  it("a limiter takes the backend's deadline, and may not answer before it", async () => {
    const backend = new RedisBackend({ client: server.url, timeoutMs: 300, instances: 1 });
    const algorithm = fixedWindow('5/minute');
    expect(new RateLimiter({ algorithm, backend }).timeoutMs).toBe(300);
    expect(new RateLimiter({ algorithm, backend, timeoutMs: 500 }).timeoutMs).toBe(300);
    expect(() => new RateLimiter({ algorithm, backend, timeoutMs: 100 })).toThrow(/timeoutMs.*100.*300 ms/);
    await backend.close();
  });
});

describe('the built-in breaker', () => {
  it('opens during an outage, answers at once while open, and probes as soon as Redis accepts connections', async () => {
    const own = await startRedis();
    // openMs far longer than the test: only the connection coming back can close the breaker in time.
    const backend = new RedisBackend({
      client: own.url,
      instances: 1,
      timeoutMs: 300,
      breaker: { failureThreshold: 2, openMs: 600_000 },
    });
    const events: string[] = [];
    backend.on('open', () => events.push('open'));
    backend.on('halfOpen', () => events.push('halfOpen'));
    backend.on('close', () => events.push('close'));
    backend.on('connectionError', () => events.push('connectionError'));
    const limiter = new RateLimiter({
      algorithm: fixedWindow('100/minute'),
      backend,
      onBackendError: 'local',
      prefix: 'probe',
    });
    expect((await limiter.limit('k')).fallback).toBeUndefined();
    await own.stop();
    const during = [];
    for (let i = 0; i < 5; i++) during.push((await limiter.limit('k')).fallback);
    expect(during).toEqual(Array(5).fill('local'));
    expect(backend.health()).toMatchObject({ state: 'open', mode: 'local', connected: false });
    await own.restart();
    await pollUntil(async () => (await limiter.limit('k')).fallback === undefined, 10_000);
    expect((await limiter.limit('k')).fallback).toBeUndefined();
    expect(backend.health()).toMatchObject({ state: 'closed', mode: 'redis', connected: true });
    // The breaker's transitions, in order; the connection's error is reported at most once per outage (not
    // at all when the server is back before a reconnect attempt failed).
    expect(events.filter((e) => e !== 'connectionError')).toEqual(['open', 'halfOpen', 'close']);
    expect(events.filter((e) => e === 'connectionError').length).toBeLessThanOrEqual(1);
    await backend.close();
    await own.stop();
  });

  it('breaker: false leaves every failure to the deadline and the limiter', async () => {
    const backend = new RedisBackend({ client: 'redis://127.0.0.1:1', breaker: false, timeoutMs: 100 });
    backend.on('connectionError', () => {});
    expect(backend.breaker).toBeUndefined();
    const limiter = new RateLimiter({ algorithm: fixedWindow('1/s'), backend, onBackendError: 'deny' });
    for (let i = 0; i < 8; i++) expect((await limiter.limit('k')).fallback).toBe('deny');
    expect(backend.health().state).toBe('closed');
    await backend.close();
  });
});
