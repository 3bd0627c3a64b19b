import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConfigInput,
  type HttpLimitOptions,
  type HttpRequest,
  MemoryBackend,
  RateLimiter,
  type RuleInput,
  slidingWindow,
} from '@distlimiter/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type HttpReply, headerFamilies, rateHeaders, send } from './http-client.js';
// A cycle (http-conformance.ts calls defineTierCases): its values are read only while tests run.
import { json, OTHER_CLIENT, type Running } from './http-conformance.js';
import type { HttpBackendKind } from './http-fixtures.js';
import { times } from './http-requests.js';

// Issue 11 at the HTTP layer, for every adapter and backend: the `config` option (tiers, API keys, rules,
// shadow mode) and a per-request `rate` function, each installed as the app-wide limiter of the standard
// conformance app. The clock only moves when a case moves it, so every count and Retry-After is exact.

/** Starts the standard app with exactly these options, adding only the run's fresh backend and prefix. */
export type StartExact = (global: HttpLimitOptions, strict: HttpLimitOptions) => Promise<Running>;

const FREE_A = 'demo_free_key_123';
const FREE_B = 'demo_free_key_456';
/** Listed only as `sha256:<hex>`, so the configuration holds no secret. */
const PRO_KEY = 'pro_key_listed_by_digest_789';

/** SHA-256 of a key in lowercase hex, computed here rather than by the engine under test. */
const sha256 = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * The configuration most cases start from: anonymous (no key) 3/minute; free 4/minute in a bucket of 6;
 * pro 10/minute. Two free keys listed raw, the pro key listed by digest. `overrides` replace whole fields.
 */
function tiersDoc(overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    version: 1,
    defaultTier: 'anonymous',
    tiers: {
      anonymous: { rate: '3/minute' },
      free: { rate: '4/minute', burst: 6 },
      pro: { rate: '10/minute' },
    },
    keys: { [FREE_A]: 'free', [FREE_B]: 'free', [`sha256:${sha256(PRO_KEY)}`]: 'pro' },
    ...overrides,
  };
}

/** The base document with `rules`, and the anonymous tier at `anonymous` requests per minute. */
function withRules(rules: RuleInput[], anonymous = 5): ConfigInput {
  const base = tiersDoc();
  return { ...base, tiers: { ...base.tiers, anonymous: { rate: `${anonymous}/minute` } }, rules };
}

/** One request: GET /hello from 127.0.0.1 without a key unless told otherwise. */
interface Call {
  path?: string;
  method?: string;
  /** Sent in x-api-key. */
  key?: string;
  /** Source address (OTHER_CLIENT plays a second client). */
  from?: string;
  headers?: Record<string, string>;
}

function call(app: Running, c: Call = {}): Promise<HttpReply> {
  const headers = { ...c.headers, ...(c.key === undefined ? {} : { 'x-api-key': c.key }) };
  return send(app.url, c.path ?? '/hello', { method: c.method, headers, localAddress: c.from });
}

/** `n` requests like `c`, one after another so the counts are exact. */
async function calls(app: Running, n: number, c: Call = {}): Promise<HttpReply[]> {
  const replies: HttpReply[] = [];
  for (let i = 0; i < n; i++) replies.push(await call(app, c));
  return replies;
}

const codes = (replies: HttpReply[]): number[] => replies.map((r) => r.status);
const remainings = (replies: HttpReply[]): (number | undefined)[] =>
  replies.map((r) => rateHeaders(r).remaining);

/** The rule ids X-RateLimit-Shadow lists, sorted; undefined when the header is absent. */
function shadowIds(reply: HttpReply): string[] | undefined {
  const value = reply.headers['x-ratelimit-shadow'];
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((id) => id.trim())
        .sort();
}

/** Asserts a refusal of an unlisted key: 401, an ApiKey challenge, JSON, no rate headers, not the route. */
function expectUnlistedKeyRefusal(reply: HttpReply, route = 'hello'): void {
  expect(reply.status).toBe(401);
  expect(reply.headers['www-authenticate']).toMatch(/^ApiKey/);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
  expect(reply.text).not.toBe(route);
}

/**
 * Describes the tier cases for one backend kind; http-conformance.ts calls it inside each backend's
 * describe, so its afterEach closes the apps and backends `start` creates.
 */
export function defineTierCases(kind: HttpBackendKind, start: StartExact): void {
  describe('tiers, API keys and rules from `config` (issue 11)', () => {
    /** The standard app with `config` as its app-wide limiter, plus any other options. */
    function startTiers(config: ConfigInput | string = tiersDoc(), options: HttpLimitOptions = {}) {
      return start({ config, ...options }, { rate: '3/minute' });
    }

    it('a listed key is in its tier: Limit is the burst, then 429 with Retry-After of the refill', async () => {
      const app = await startTiers();
      const replies = await calls(app, 7, { key: FREE_A });
      expect(codes(replies)).toEqual([...times(6, 200), 429]);
      expect(replies[0]!.text).toBe('hello');
      expect(rateHeaders(replies[0]!).limit).toBe(6);
      expect(remainings(replies.slice(0, 6))).toEqual([5, 4, 3, 2, 1, 0]);
      const refused = replies[6]!;
      expect(rateHeaders(refused)).toMatchObject({ limit: 6, remaining: 0 });
      expect(json(refused)).toMatchObject({ error: 'Too Many Requests' });
      // 4/minute refills one request every 15 s: the bucket's size is the burst, its refill the rate.
      expect(refused.headers['retry-after']).toBe('15');
      app.fixture.advance(15_000);
      expect(codes(await calls(app, 2, { key: FREE_A }))).toEqual([200, 429]);
    });

    it('two keys of one tier count apart', async () => {
      const app = await startTiers();
      expect(codes(await calls(app, 7, { key: FREE_A }))).toEqual([...times(6, 200), 429]);
      const other = await call(app, { key: FREE_B });
      expect(other.status).toBe(200);
      expect(rateHeaders(other)).toMatchObject({ limit: 6, remaining: 5 });
    });

    it('a key listed as sha256:<hex> is matched by the raw key; presenting the digest is no key', async () => {
      const app = await startTiers();
      const pro = await call(app, { key: PRO_KEY });
      expect(pro.status).toBe(200);
      expect(rateHeaders(pro)).toMatchObject({ limit: 10, remaining: 9 });
      expectUnlistedKeyRefusal(await call(app, { key: `sha256:${sha256(PRO_KEY)}` }));
      expectUnlistedKeyRefusal(await call(app, { key: sha256(PRO_KEY) }));
    });

    it('one key sent from two IPs is one count', async () => {
      const app = await startTiers();
      expect(remainings(await calls(app, 3, { key: FREE_A }))).toEqual([5, 4, 3]);
      const fromOther = await calls(app, 4, { key: FREE_A, from: OTHER_CLIENT });
      expect(codes(fromOther)).toEqual([200, 200, 200, 429]);
      expect(remainings(fromOther.slice(0, 3))).toEqual([2, 1, 0]);
      expect((await call(app, { key: FREE_A })).status).toBe(429);
    });

    it('a key is counted app-wide: across routes, methods and unknown paths', async () => {
      const app = await startTiers();
      const hello = await call(app, { key: FREE_A });
      const health = await call(app, { key: FREE_A, path: '/health' });
      const missing = await call(app, { key: FREE_A, path: '/no/such/path' });
      const posted = await call(app, { key: FREE_A, method: 'POST' });
      expect([hello.text, health.text, posted.text]).toEqual(['hello', 'ok', 'posted']);
      expect(missing.status).toBe(404);
      expect(remainings([hello, health, missing, posted])).toEqual([5, 4, 3, 2]);
    });

    it('keyBy.header names the header the key is read from', async () => {
      const app = await startTiers(tiersDoc({ keyBy: { header: 'X-Client-Key' } }));
      const keyed = await call(app, { headers: { 'x-client-key': FREE_A } });
      expect(rateHeaders(keyed)).toMatchObject({ limit: 6, remaining: 5 });
      // x-api-key is now an ordinary header: the request has no key, so it is anonymous by IP.
      const other = await call(app, { key: FREE_A });
      expect(other.status).toBe(200);
      expect(rateHeaders(other)).toMatchObject({ limit: 3, remaining: 2 });
    });

    it('a tier of several rates: every rate must allow', async () => {
      const base = tiersDoc();
      const app = await startTiers({
        ...base,
        tiers: { ...base.tiers, free: { rate: ['3/minute', '5/hour'] } },
      });
      const first = await calls(app, 4, { key: FREE_A });
      expect(codes(first)).toEqual([200, 200, 200, 429]);
      // The minute's bucket refills one request every 20 s.
      expect(first[3]!.headers['retry-after']).toBe('20');
      app.fixture.advance(60_000);
      // The minute's bucket is full again; the hour's has 2 of 5 left.
      expect(codes(await calls(app, 3, { key: FREE_A }))).toEqual([200, 200, 429]);
    });

    it('a request without a key is in defaultTier, counted by client IP', async () => {
      const app = await startTiers();
      const replies = await calls(app, 4);
      expect(codes(replies)).toEqual([200, 200, 200, 429]);
      expect(rateHeaders(replies[0]!).limit).toBe(3);
      expect(remainings(replies.slice(0, 3))).toEqual([2, 1, 0]);
      const otherIp = await call(app, { from: OTHER_CLIENT });
      expect(otherIp.status).toBe(200);
      expect(rateHeaders(otherIp)).toMatchObject({ limit: 3, remaining: 2 });
      // The same IP with a listed key is counted by the key, in the key's tier.
      expect(rateHeaders(await call(app, { key: FREE_A }))).toMatchObject({ limit: 6, remaining: 5 });
    });

    it("an unlisted key (unknownKey 'reject', the default) gets 401: ApiKey challenge, one body for any key", async () => {
      const app = await startTiers();
      const first = await call(app, { key: 'not-a-listed-key' });
      const second = await call(app, { key: 'another_unlisted_key_0000000000' });
      const posted = await call(app, { key: 'not-a-listed-key', method: 'POST' });
      expectUnlistedKeyRefusal(first);
      expectUnlistedKeyRefusal(second);
      expectUnlistedKeyRefusal(posted, 'posted');
      // Nothing in the body tells one wrong key from another, nor echoes it.
      expect(second.text).toBe(first.text);
      expect(first.text).not.toContain('not-a-listed-key');
    });

    it("unknownKey 'default': an unlisted key is counted as no key, by IP, and buys nothing", async () => {
      const app = await startTiers(tiersDoc({ unknownKey: 'default' }));
      const replies = [
        await call(app),
        await call(app, { key: 'random-1' }),
        await call(app, { key: 'random-2' }),
        await call(app, { key: 'random-3' }),
      ];
      expect(codes(replies)).toEqual([200, 200, 200, 429]);
      expect(replies[1]!.text).toBe('hello');
      expect(rateHeaders(replies[1]!).limit).toBe(3);
      expect(remainings(replies.slice(0, 3))).toEqual([2, 1, 0]);
      const otherIp = await call(app, { key: 'random-1', from: OTHER_CLIENT });
      expect(rateHeaders(otherIp)).toMatchObject({ limit: 3, remaining: 2 });
    });

    it('a rule is charged on top of the tier: it refuses while the tier still allows', async () => {
      const rule: RuleInput = {
        id: 'post-hello',
        match: { methods: ['POST'], path: '/hello' },
        rate: '2/minute',
      };
      const app = await startTiers(withRules([rule], 5));
      const posts = await calls(app, 2, { method: 'POST' });
      expect(codes(posts)).toEqual([200, 200]);
      expect(posts[0]!.text).toBe('posted');
      // The two POSTs were charged to the tier as well.
      expect(rateHeaders(await call(app))).toMatchObject({ limit: 5, remaining: 2 });
      const refused = await call(app, { method: 'POST' });
      expect(refused.status).toBe(429);
      expect(json(refused)).toMatchObject({ error: 'Too Many Requests' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The refused POST was not charged to the tier: it still has 1 after this GET.
      expect(rateHeaders(await call(app))).toMatchObject({ limit: 5, remaining: 1 });
    });

    it('a rule cannot be bypassed by spelling its path another way the framework still routes', async () => {
      const rule: RuleInput = {
        id: 'post-hello',
        match: { methods: ['POST'], path: '/hello' },
        rate: '1/minute',
      };
      const app = await startTiers(withRules([rule], 20));
      expect((await call(app, { method: 'POST' })).text).toBe('posted');
      // Each spelling either misses the route (the framework's 404) or is the rule's: never the route again.
      for (const path of ['/hello/', '/hello?x=1', '//hello', '/%68ello', '/HELLO', '/Hello/']) {
        const reply = await call(app, { method: 'POST', path });
        expect(reply.text, `POST ${path} ran the route the rule limits`).not.toBe('posted');
      }
    });

    it('a request a rule allows is refused when its tier is spent', async () => {
      const rule: RuleInput = {
        id: 'post-hello',
        match: { methods: ['POST'], path: '/hello' },
        rate: '10/minute',
      };
      const app = await startTiers(withRules([rule], 3));
      expect(codes(await calls(app, 4, { method: 'POST' }))).toEqual([200, 200, 200, 429]);
    });

    it("a rule's cost is charged to the rule and to the tier", async () => {
      const rule: RuleInput = { id: 'reports', match: { path: '/reports/*' }, rate: '6/minute', cost: 3 };
      const app = await startTiers(withRules([rule], 10));
      expect((await call(app, { path: '/reports/1' })).status).toBe(404);
      expect(rateHeaders(await call(app))).toMatchObject({ limit: 10, remaining: 6 });
      expect((await call(app, { path: '/reports/2' })).status).toBe(404);
      // The rule has spent 6 of 6 while the tier still has 3 left, enough for a cost of 3.
      expect((await call(app, { path: '/reports/3' })).status).toBe(429);
      expect((await call(app)).status).toBe(200);
    });

    it('a rule counts each key apart by default', async () => {
      const rule: RuleInput = {
        id: 'post-hello',
        match: { methods: ['POST'], path: '/hello' },
        rate: '2/minute',
      };
      const app = await startTiers(withRules([rule]));
      expect(codes(await calls(app, 3, { method: 'POST', key: FREE_A }))).toEqual([200, 200, 429]);
      expect((await call(app, { method: 'POST', key: FREE_B })).status).toBe(200);
    });

    it("a rule with keyBy 'ip' counts by IP across keys", async () => {
      const rule: RuleInput = {
        id: 'login',
        match: { methods: ['POST'], path: '/hello' },
        rate: '2/minute',
        keyBy: 'ip',
      };
      const app = await startTiers(withRules([rule]));
      expect((await call(app, { method: 'POST', key: FREE_A })).status).toBe(200);
      expect((await call(app, { method: 'POST', key: FREE_B })).status).toBe(200);
      expect((await call(app, { method: 'POST', key: PRO_KEY })).status).toBe(429);
      expect((await call(app, { method: 'POST' })).status).toBe(429);
      expect((await call(app, { method: 'POST', key: FREE_A, from: OTHER_CLIENT })).status).toBe(200);
    });

    it("a rule's tiers override gives that tier its own rate for the rule", async () => {
      const rule: RuleInput = {
        id: 'posts',
        match: { methods: ['POST'], path: '/hello' },
        rate: '1/minute',
        tiers: { free: { rate: '3/minute' } },
      };
      const app = await startTiers(withRules([rule]));
      expect(codes(await calls(app, 4, { method: 'POST', key: FREE_A }))).toEqual([200, 200, 200, 429]);
      expect(codes(await calls(app, 2, { method: 'POST' }))).toEqual([200, 429]);
      expect(codes(await calls(app, 2, { method: 'POST', key: PRO_KEY }))).toEqual([200, 429]);
    });

    it('rule paths: * is one segment, ** any number (zero included); unknown paths count', async () => {
      const app = await startTiers(
        withRules(
          [
            { id: 'one', match: { path: '/nope/*' }, rate: '1/minute' },
            { id: 'any', match: { path: '/deep/**' }, rate: '1/minute' },
          ],
          20,
        ),
      );
      const status = async (path: string) => (await call(app, { path })).status;
      expect(await status('/nope/a')).toBe(404);
      expect(await status('/nope/b')).toBe(429);
      expect(await status('/nope/a/b')).toBe(404);
      expect(await status('/nope')).toBe(404);
      expect(await status('/deep/x/y/z')).toBe(404);
      expect(await status('/deep/q')).toBe(429);
      expect(await status('/deep')).toBe(429);
    });

    it('a rule listing GET also counts HEAD, and no other method', async () => {
      const rule: RuleInput = { id: 'reads', match: { methods: ['GET'], path: '/hello' }, rate: '1/minute' };
      const app = await startTiers(withRules([rule]));
      expect((await call(app)).status).toBe(200);
      expect((await call(app, { method: 'HEAD' })).status).toBe(429);
      const posted = await call(app, { method: 'POST' });
      expect(posted.status).toBe(200);
      expect(posted.text).toBe('posted');
    });

    it('a shadow rule never refuses; X-RateLimit-Shadow lists the rules that would have', async () => {
      const app = await startTiers(
        withRules(
          [
            { id: 'watch-a', match: { methods: ['GET'], path: '/hello' }, rate: '2/minute', mode: 'shadow' },
            { id: 'watch-b', match: { path: '/hello' }, rate: '3/minute', mode: 'shadow' },
          ],
          10,
        ),
      );
      const gets = await calls(app, 4);
      expect(codes(gets)).toEqual(times(4, 200));
      expect(gets.map((r) => r.text)).toEqual(Array(4).fill('hello'));
      expect(gets.map(shadowIds)).toEqual([undefined, undefined, ['watch-a'], ['watch-a', 'watch-b']]);
      const posted = await call(app, { method: 'POST' });
      expect(posted.status).toBe(200);
      expect(shadowIds(posted)).toEqual(['watch-b']);
      const unmatched = await call(app, { path: '/no/such/path' });
      expect(unmatched.status).toBe(404);
      expect(shadowIds(unmatched)).toBeUndefined();
      // Every request was charged to the tier: 4 GETs, a POST and the 404.
      expect(rateHeaders(await call(app, { path: '/health' }))).toMatchObject({ limit: 10, remaining: 3 });
    });

    it('config as a JSON file path works like the object', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'distlimiter-tiers-'));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      const file = join(dir, 'limits.json');
      await writeFile(file, JSON.stringify(tiersDoc(), null, 2));
      const app = await startTiers(file);
      const replies = await calls(app, 7, { key: FREE_A });
      expect(codes(replies)).toEqual([...times(6, 200), 429]);
      expect(rateHeaders(replies[0]!)).toMatchObject({ limit: 6, remaining: 5 });
      expect(rateHeaders(await call(app))).toMatchObject({ limit: 3, remaining: 2 });
      expectUnlistedKeyRefusal(await call(app, { key: 'not-a-listed-key' }));
    });

    it('statusCode and message shape a tier refusal', async () => {
      const app = await startTiers(tiersDoc(), { statusCode: 420, message: 'Slow down' });
      const replies = await calls(app, 4);
      expect(codes(replies)).toEqual([200, 200, 200, 420]);
      expect(replies[3]!.headers['content-type']).toMatch(/^application\/json/);
      expect(json(replies[3]!)).toMatchObject({ error: 'Slow down' });
    });

    it('exemptPaths pass uncounted under a configuration', async () => {
      const app = await startTiers(tiersDoc(), { exemptPaths: ['/health'] });
      for (const reply of await calls(app, 4, { path: '/health', key: FREE_A })) {
        expect(reply.text).toBe('ok');
        expect(headerFamilies(reply)).toEqual({ legacy: false, ietf: false });
      }
      expect(rateHeaders(await call(app, { key: FREE_A }))).toMatchObject({ limit: 6, remaining: 5 });
    });

    it('config with rate, algorithm, keyBy, cost or limiter is refused at startup with InvalidOptionError', async () => {
      const conflicting: [string, HttpLimitOptions][] = [
        ['rate', { rate: '5/minute' }],
        ['algorithm', { algorithm: slidingWindow('5/minute') }],
        ['keyBy', { keyBy: (r: HttpRequest) => r.header('x-client') }],
        ['cost', { cost: 2 }],
        [
          'limiter',
          {
            limiter: new RateLimiter({ algorithm: slidingWindow('5/minute'), backend: new MemoryBackend() }),
          },
        ],
      ];
      for (const [option, extra] of conflicting) {
        await expect(startTiers(tiersDoc(), extra), option).rejects.toMatchObject({
          name: 'InvalidOptionError',
          message: expect.stringContaining(option),
        });
      }
    });

    if (kind === 'redis') {
      it('key names carry a key by its digest (k#<sha256>), never the raw key', async () => {
        const app = await startTiers();
        await call(app, { key: FREE_A });
        const names = await app.fixture.keyNames();
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          expect(name.startsWith(`${app.fixture.prefix}:{k#${sha256(FREE_A)}}:`)).toBe(true);
          expect(name).not.toContain(FREE_A);
        }
      });
    }
  });

  describe('rate as a function of the request', () => {
    const plans = {
      'a sync': (r: HttpRequest) => (r.header('x-plan') === 'gold' ? '4/minute' : '2/minute'),
      'an async': async (r: HttpRequest) => (r.header('x-plan') === 'gold' ? '4/minute' : '2/minute'),
    };
    const gold = { headers: { 'x-plan': 'gold' } };

    for (const [name, rate] of Object.entries(plans)) {
      it(`${name} function: each request gets the rate it returns`, async () => {
        const app = await start({ rate }, { rate: '3/minute' });
        const golden = await calls(app, 5, gold);
        expect(codes(golden)).toEqual([...times(4, 200), 429]);
        expect(rateHeaders(golden[0]!)).toMatchObject({ limit: 4, remaining: 3 });
        const plain = await calls(app, 3, { from: OTHER_CLIENT });
        expect(codes(plain)).toEqual([200, 200, 429]);
        expect(rateHeaders(plain[0]!)).toMatchObject({ limit: 2, remaining: 1 });
      });
    }

    it('a change of the rate a client gets acts on its existing count', async () => {
      const app = await start({ rate: plans['a sync'] }, { rate: '3/minute' });
      expect(remainings(await calls(app, 2))).toEqual([1, 0]);
      const upgraded = await call(app, gold);
      expect(upgraded.status).toBe(200);
      expect(rateHeaders(upgraded)).toMatchObject({ limit: 4, remaining: 1 });
      expect(codes(await calls(app, 2, gold))).toEqual([200, 429]);
      expect((await call(app)).status).toBe(429);
    });
  });
}
