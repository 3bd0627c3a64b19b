import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { MemoryControlStore } from '../../src/control/memory-store.js';
import { STATS_TTL_MS, Statistics, type StatsSample, storedIdentity } from '../../src/control/stats.js';
import type { ControlStore } from '../../src/control/store.js';
import { reportFigure } from '../../../testkit/src/index.js';

// Statistics on the memory store with an injected clock: exact windows, no waiting. Flushes are explicit
// (the background timer is set far away), so nothing depends on time passing.

const MINUTE = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE) + 5_000;

function setup(options: { topKeys?: number } = {}) {
  const time = { now: T0 };
  const clock = () => time.now;
  const memory = new MemoryControlStore(clock);
  const flaky = new FlakyStore(memory);
  const stats = new Statistics({
    store: flaky.asStore(),
    prefix: 'st',
    clock,
    flushMs: 3_600_000,
    topKeys: options.topKeys,
  });
  return { time, memory, flaky, stats, minute: () => Math.floor(time.now / MINUTE) };
}

const allowed = (tier: string, ...rules: string[]): StatsSample => ({ tier, rules, allowed: true });
const refused = (tier: string, limitedBy: string, identity: string, ...rules: string[]): StatsSample => ({
  tier,
  rules,
  allowed: false,
  limitedBy,
  identity,
});
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A store whose writes fail while `failing` is set (reads still work, as after a partial outage). */
class FlakyStore {
  failing = { hashAdd: false, scoresAdd: false };
  writes = 0;
  constructor(private readonly inner: ControlStore) {}
  asStore(): ControlStore {
    return new Proxy(this.inner, {
      get: (target, name, receiver) => {
        if (name === 'hashAdd' || name === 'scoresAdd') {
          return (...args: unknown[]) => {
            this.writes++;
            if (this.failing[name]) return Promise.reject(new Error(`${name} failed`));
            return (target[name] as (...a: unknown[]) => Promise<void>).apply(target, args);
          };
        }
        return Reflect.get(target, name, receiver);
      },
    });
  }
}

describe('counts', () => {
  test('per tier and rule, in the 1, 15 and 60 minute windows as minutes roll out', async () => {
    const { time, stats } = setup();
    // Minute 0: 3 allowed of tier free (two matched rule "search"), 1 refused by "search".
    stats.record(allowed('free', 'search'));
    stats.record(allowed('free', 'search'));
    stats.record(allowed('free'));
    stats.record(refused('free', 'search', 'ip:10.0.0.1', 'search'));
    await stats.flush();
    time.now += 10 * MINUTE;
    // Minute 10: 2 allowed of tier pro.
    stats.record(allowed('pro'));
    stats.record(allowed('pro'));
    await stats.flush();

    let r = await stats.read();
    expect(r.generatedAt).toBe(time.now);
    expect(r.windows['1m']).toEqual({
      tiers: { pro: { allowed: 2, limited: 0 } },
      rules: {},
      total: { allowed: 2, limited: 0 },
      since: Math.floor(time.now / MINUTE) * MINUTE,
    });
    const all = {
      tiers: { free: { allowed: 3, limited: 1 }, pro: { allowed: 2, limited: 0 } },
      rules: { search: { allowed: 2, limited: 1 } },
      total: { allowed: 5, limited: 1 },
    };
    expect(r.windows['15m']).toMatchObject(all);
    expect(r.windows['60m']).toMatchObject(all);
    expect(r.windows['60m'].since).toBe((Math.floor(time.now / MINUTE) - 59) * MINUTE);

    // Minute 15: minute 0 has left the 15-minute window (the current minute and the 14 before it).
    time.now += 5 * MINUTE;
    r = await stats.read();
    expect(r.windows['1m'].total).toEqual({ allowed: 0, limited: 0 });
    expect(r.windows['15m']).toMatchObject({ tiers: { pro: { allowed: 2, limited: 0 } }, rules: {} });
    expect(r.windows['60m']).toMatchObject(all);

    // Minute 60: minute 0 has left every window; minute 10 is still in the 60-minute one.
    time.now += 45 * MINUTE;
    r = await stats.read();
    expect(r.windows['15m'].total).toEqual({ allowed: 0, limited: 0 });
    expect(r.windows['60m'].total).toEqual({ allowed: 2, limited: 0 });
    expect(r.topLimited).toEqual([]);
    await stats.close();
  });

  test('a refusal counts for its tier and the limit that refused it, nothing for the other rules', async () => {
    const { stats } = setup();
    // Refused by rule "upload": limited for tier and "upload"; "api" (matched too) counts nothing.
    stats.record(refused('free', 'upload', 'ip:1.1.1.1', 'api', 'upload'));
    // Refused by the tier's own limit: limited for the tier only.
    stats.record(refused('free', 'free', 'ip:1.1.1.1', 'api'));
    // A rule that has the tier's name and refused: the rule counts it.
    stats.record(refused('free', 'free', 'ip:1.1.1.1', 'free'));
    // No tier (no configuration): the total only, and the refusing limit if named.
    stats.record({ allowed: true });
    stats.record({ allowed: false });
    stats.record(allowed('free', 'api', 'upload'));
    await stats.flush();
    const w = (await stats.read()).windows['1m'];
    expect(w.total).toEqual({ allowed: 2, limited: 4 });
    expect(w.tiers).toEqual({ free: { allowed: 1, limited: 3 } });
    expect(w.rules).toEqual({
      api: { allowed: 1, limited: 0 },
      upload: { allowed: 1, limited: 1 },
      free: { allowed: 0, limited: 1 },
    });
  });

  test('read adds this instance’s unflushed counts, and never counts them twice', async () => {
    const { stats } = setup();
    stats.record(allowed('free', 'r1'));
    stats.record(refused('free', 'r1', 'ip:9.9.9.9', 'r1'));
    const before = await stats.read();
    await stats.flush();
    const after = await stats.read();
    expect(before).toEqual(after);
    expect(after.windows['1m'].rules).toEqual({ r1: { allowed: 1, limited: 1 } });
    expect(after.topLimited).toEqual([{ identity: 'ip:9.9.9.9', limited: 1 }]);
  });

  test('the store holds one hash and one sorted set per minute, which expire after 62 minutes', async () => {
    const { time, memory, stats, minute } = setup();
    stats.record(allowed('free', 'r'));
    stats.record(refused('free', 'r', 'ip:2.2.2.2', 'r'));
    await stats.flush();
    const key = `st:stats:${minute()}`;
    expect(stats.keyOf(minute())).toBe(key);
    expect(await memory.hashesRead([key])).toEqual([
      { 'all:a': '1', 'all:l': '1', 't:free:a': '1', 't:free:l': '1', 'r:r:a': '1', 'r:r:l': '1' },
    ]);
    expect(await memory.scoresTop([`${key}:top`], 10)).toEqual([[['ip:2.2.2.2', 1]]]);
    expect(STATS_TTL_MS).toBe(62 * MINUTE);
    time.now += STATS_TTL_MS - 1;
    expect((await memory.hashesRead([key]))[0]).not.toEqual({});
    time.now += 1;
    expect(await memory.hashesRead([key])).toEqual([{}]);
    expect(await memory.scoresTop([`${key}:top`], 10)).toEqual([[]]);
  });

  test('names with separators or "__proto__" stay names', async () => {
    const { stats } = setup();
    stats.record(allowed('a:b:l', 'x:a', '__proto__'));
    await stats.flush();
    const w = (await stats.read()).windows['1m'];
    expect(Object.keys(w.tiers)).toEqual(['a:b:l']);
    expect(Object.keys(w.rules).sort()).toEqual(['__proto__', 'x:a']);
    expect(Object.getOwnPropertyDescriptor(w.rules, '__proto__')?.value).toEqual({ allowed: 1, limited: 0 });
  });
});

describe('most limited identities', () => {
  test('summed over 60 minutes, most first, at most topKeys', async () => {
    const { time, stats } = setup({ topKeys: 2 });
    const key = `k#${sha('customer-key')}`;
    for (let i = 0; i < 3; i++) stats.record(refused('free', 'free', key));
    stats.record(refused('free', 'free', 'ip:10.0.0.2'));
    await stats.flush();
    time.now += 30 * MINUTE;
    stats.record(refused('free', 'free', 'ip:10.0.0.2'));
    stats.record(refused('free', 'free', 'ip:10.0.0.2'));
    stats.record(refused('free', 'free', 'ip:10.0.0.3'));
    stats.record(allowed('free'));
    await stats.flush();
    expect((await stats.read()).topLimited).toEqual([
      { identity: 'ip:10.0.0.2', limited: 3 },
      { identity: key, limited: 3 },
    ]);
    time.now += 30 * MINUTE;
    expect((await stats.read()).topLimited).toEqual([
      { identity: 'ip:10.0.0.2', limited: 2 },
      { identity: 'ip:10.0.0.3', limited: 1 },
    ]);
  });

  test('a raw key never reaches the store or the report: it is hashed', async () => {
    const { memory, stats, minute } = setup();
    stats.record(refused('free', 'free', 'h:secret-api-key'));
    stats.record(refused('free', 'free', 'secret-without-source'));
    await stats.flush();
    const report = await stats.read();
    expect(report.topLimited.map((t) => t.identity).sort()).toEqual(
      [`h#${sha('secret-api-key')}`, `k#${sha('secret-without-source')}`].sort(),
    );
    const stored = JSON.stringify(await memory.scoresTop([`st:stats:${minute()}:top`], 100));
    expect(stored).not.toContain('secret');
    expect(storedIdentity('ip:2001:db8::/64')).toBe('ip:2001:db8::/64');
    expect(storedIdentity(`k#${sha('x')}`)).toBe(`k#${sha('x')}`);
  });

  test('identities are bounded in process and per flush; the heavy hitters survive', async () => {
    const { memory, stats, minute } = setup();
    for (let i = 0; i < 5; i++) stats.record(refused('free', 'free', 'ip:6.6.6.6'));
    for (let i = 0; i < 25_000; i++)
      stats.record(refused('free', 'free', `ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`));
    await stats.flush();
    const [top] = await memory.scoresTop([`st:stats:${minute()}:top`], 1_000_000);
    expect(top!.length).toBeLessThanOrEqual(100);
    expect(top![0]).toEqual(['ip:6.6.6.6', 5]);
    const report = await stats.read();
    expect(report.topLimited[0]).toEqual({ identity: 'ip:6.6.6.6', limited: 5 });
    expect(report.windows['1m'].total.limited).toBe(25_005);
  });
});

describe('failures', () => {
  test('a failed flush is kept for the next one; nothing is lost or doubled', async () => {
    const { flaky, memory, stats, time } = setup();
    stats.record(allowed('free', 'r'));
    stats.record(refused('free', 'r', 'ip:3.3.3.3', 'r'));
    flaky.failing = { hashAdd: true, scoresAdd: true };
    await expect(stats.flush()).resolves.toBeUndefined();
    expect(stats.lastError?.message).toMatch(/failed/);
    time.now += MINUTE;
    stats.record(allowed('free'));
    await stats.flush();
    // The store is down but this instance still reports what it counted.
    let r = await stats.read();
    expect(r.windows['60m'].total).toEqual({ allowed: 2, limited: 1 });
    flaky.failing = { hashAdd: false, scoresAdd: false };
    await stats.flush();
    expect(stats.lastError).toBeUndefined();
    r = await stats.read();
    expect(r.windows['60m'].total).toEqual({ allowed: 2, limited: 1 });
    expect(r.windows['60m'].rules).toEqual({ r: { allowed: 1, limited: 1 } });
    expect(r.windows['1m'].total).toEqual({ allowed: 1, limited: 0 });
    expect(r.topLimited).toEqual([{ identity: 'ip:3.3.3.3', limited: 1 }]);
    // What the store holds alone (a fresh reader, nothing pending) is the same.
    const reader = new Statistics({ store: memory, prefix: 'st', clock: () => time.now, flushMs: 3_600_000 });
    expect(await reader.read()).toEqual(r);
    expect(stats.dropped).toBe(0);
    await reader.close();
  });

  test('when only the sorted set failed, the counts are not written twice', async () => {
    const { flaky, stats } = setup();
    stats.record(refused('free', 'free', 'ip:4.4.4.4'));
    flaky.failing.scoresAdd = true;
    await stats.flush();
    flaky.failing.scoresAdd = false;
    await stats.flush();
    const r = await stats.read();
    expect(r.windows['1m'].total).toEqual({ allowed: 0, limited: 1 });
    expect(r.topLimited).toEqual([{ identity: 'ip:4.4.4.4', limited: 1 }]);
  });

  test('counts kept past the 60-minute window are dropped and counted', async () => {
    const { flaky, stats, time } = setup();
    flaky.failing = { hashAdd: true, scoresAdd: true };
    for (let i = 0; i < 5; i++) stats.record(allowed('free'));
    await stats.flush();
    time.now += 30 * MINUTE;
    for (let i = 0; i < 3; i++) stats.record(refused('free', 'free', 'ip:5.5.5.5'));
    await stats.flush();
    time.now += 29 * MINUTE;
    await stats.flush();
    expect(stats.dropped).toBe(0);
    time.now += MINUTE;
    await stats.flush();
    expect(stats.dropped).toBe(5);
    flaky.failing = { hashAdd: false, scoresAdd: false };
    await stats.flush();
    const r = await stats.read();
    expect(r.windows['60m'].total).toEqual({ allowed: 0, limited: 3 });
    expect(stats.dropped).toBe(5);
  });

  test('record() never throws, whatever it is given or whatever fails', async () => {
    let broken = false;
    const store = new MemoryControlStore();
    const stats = new Statistics({
      store: new Proxy(store, {
        get: (t, name, r) =>
          name === 'hashAdd'
            ? () => {
                throw new Error('sync failure');
              }
            : Reflect.get(t, name, r),
      }),
      prefix: 'nt',
      flushMs: 3_600_000,
      clock: () => {
        if (broken) throw new Error('clock');
        return Date.now();
      },
    });
    const odd = [
      null,
      undefined,
      {},
      { allowed: false, rules: 5 },
      { allowed: true, rules: 'abc' },
      { allowed: false, identity: 42 },
      { allowed: false, limitedBy: {} as string, identity: 'x'.repeat(10_000) },
    ] as unknown as StatsSample[];
    for (const s of odd) expect(() => stats.record(s)).not.toThrow();
    broken = true;
    expect(() => stats.record(allowed('free'))).not.toThrow();
    broken = false;
    await expect(stats.flush()).resolves.toBeUndefined();
    expect(stats.lastError?.message).toBe('sync failure');
    await stats.close();
    expect(() => stats.record(allowed('free'))).not.toThrow();
    expect(stats.dropped).toBeGreaterThan(0);
  });

  test('bad options are refused at construction, naming the option', () => {
    const store = new MemoryControlStore();
    const bad: [string, object][] = [
      ['store', { store: {}, prefix: 'p' }],
      ['prefix', { store, prefix: '' }],
      ['flushMs', { store, prefix: 'p', flushMs: 0 }],
      ['flushMs', { store, prefix: 'p', flushMs: Number.NaN }],
      ['topKeys', { store, prefix: 'p', topKeys: 0 }],
      ['clock', { store, prefix: 'p', clock: 5 }],
    ];
    for (const [field, options] of bad) {
      const make = () => new Statistics(options as never);
      expect(make).toThrow(InvalidOptionError);
      try {
        make();
      } catch (e) {
        expect((e as InvalidOptionError).field).toBe(field);
      }
    }
  });
});

describe('cost', () => {
  test('record() per call (a figure, not asserted)', async () => {
    const stats = new Statistics({ store: new MemoryControlStore(), prefix: 'bench', flushMs: 3_600_000 });
    const samples: StatsSample[] = [
      allowed('free', 'api'),
      allowed('pro', 'api', 'search'),
      allowed('free'),
      refused('free', 'api', 'ip:203.0.113.7', 'api'),
    ];
    const run = (n: number) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) stats.record(samples[i & 3]!);
      return Number(process.hrtime.bigint() - start) / n;
    };
    run(200_000);
    const nsAllMixed = run(2_000_000);
    const allowedOnly = samples[1]!;
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2_000_000; i++) stats.record(allowedOnly);
    const nsAllowedTwoRules = Number(process.hrtime.bigint() - start) / 2_000_000;
    reportFigure('stats record', {
      nsPerCallMixed: Math.round(nsAllMixed),
      nsPerCallAllowedTwoRules: Math.round(nsAllowedTwoRules),
    });
    await stats.close();
  });
});
