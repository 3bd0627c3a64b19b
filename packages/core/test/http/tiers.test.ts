import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/policy/config/validate.js';
import { compileConfig, type ConfigSnapshot } from '../../src/policy/snapshot.js';
import { createHttpLimiter } from '../../src/http/index.js';
import type { ConfigInput, Decision, HttpLimitOptions, HttpOutcome, HttpRequest } from '../../src/index.js';
import { type Doc, issueDocument, PRO_KEY } from '../support/config-document.js';
import { clocked, optionError, req } from './helpers.js';

// The tier engine on the memory backend with a hand-moved clock: every figure below is exact.

const FREE = 'demo_free_key_123';

function limiterOf(doc: Doc = issueDocument(), extra: Partial<HttpLimitOptions> = {}) {
  const clock = clocked();
  const limiter = createHttpLimiter({ config: doc as ConfigInput, backend: clock.backend, ...extra });
  const send = (init: Parameters<typeof req>[0] = {}) => limiter.handle(req(init));
  return { limiter, send, clock };
}

const withKey = (key: string, init: Parameters<typeof req>[0] = {}) => ({
  ...init,
  headers: { ...(init.headers ?? {}), 'x-api-key': key },
});

async function sendTimes(
  send: (i?: Parameters<typeof req>[0]) => Promise<HttpOutcome>,
  n: number,
  init = {},
) {
  const out: HttpOutcome[] = [];
  for (let i = 0; i < n; i++) out.push(await send(init));
  return out;
}

describe('tiers by API key', () => {
  test('a listed key is in its tier: a bucket of burst, X-RateLimit-Limit the bucket size', async () => {
    const { send } = limiterOf();
    const first = await send(withKey(FREE));
    expect(first.allowed).toBe(true);
    expect(first.tier).toBe('free');
    expect(first.headers['X-RateLimit-Limit']).toBe('20');
    expect(first.headers['X-RateLimit-Remaining']).toBe('19');
    const rest = await sendTimes(send, 19, withKey(FREE));
    expect(rest.every((o) => o.allowed)).toBe(true);
    const over = await send(withKey(FREE));
    expect(over.allowed).toBe(false);
    expect(over.status).toBe(429);
    expect(over.limitedBy).toBe('free');
    // 10 per minute refills one every 6 s.
    expect(over.headers['Retry-After']).toBe('6');
  });

  test('the key counts, not the IP: one key from two addresses shares its bucket', async () => {
    const { send } = limiterOf();
    await sendTimes(send, 10, withKey(FREE, { ip: '198.51.100.1' }));
    const other = await send(withKey(FREE, { ip: '198.51.100.2' }));
    expect(other.headers['X-RateLimit-Remaining']).toBe('9');
  });

  test('a key listed as sha256:<hex> is found from the raw key', async () => {
    const { send } = limiterOf();
    const o = await send(withKey(PRO_KEY));
    expect(o.tier).toBe('pro');
    expect(o.headers['X-RateLimit-Limit']).toBe('150');
  });

  test('a list of rates adds one limit per rate; all must allow', async () => {
    const doc = issueDocument();
    doc.tiers.enterprise = { rate: ['3/minute', '5/day'] };
    doc.rules = [];
    doc.keys.ent_key = 'enterprise';
    const { send, clock } = limiterOf(doc);
    expect((await sendTimes(send, 3, withKey('ent_key'))).every((o) => o.allowed)).toBe(true);
    expect((await send(withKey('ent_key'))).allowed).toBe(false);
    clock.advance(60_000);
    expect((await sendTimes(send, 2, withKey('ent_key'))).every((o) => o.allowed)).toBe(true);
    const daily = await send(withKey('ent_key'));
    expect(daily.allowed).toBe(false);
    expect(daily.headers['X-RateLimit-Limit']).toBe('5');
  });

  test('no key: the default tier, counted by client IP', async () => {
    const { send } = limiterOf();
    const a = await sendTimes(send, 6, { ip: '198.51.100.1' });
    expect(a.map((o) => o.allowed)).toEqual([true, true, true, true, true, false]);
    expect(a[0]!.tier).toBe('anonymous');
    expect((await send({ ip: '198.51.100.2' })).allowed).toBe(true);
  });

  test('an unlisted key: 401 with WWW-Authenticate and one body for every key, nothing counted', async () => {
    const { limiter, send } = limiterOf();
    const heard: HttpRequest[] = [];
    limiter.on('unknownKey', (r) => heard.push(r));
    const a = await send(withKey('guess-1'));
    const b = await send(withKey('another-guess'));
    expect(a.status).toBe(401);
    expect(a.allowed).toBe(false);
    expect(a.headers['WWW-Authenticate']).toBe('ApiKey header="x-api-key"');
    expect(a.headers['X-RateLimit-Limit']).toBeUndefined();
    expect(JSON.stringify(a.body)).toBe(JSON.stringify(b.body));
    expect(heard).toHaveLength(2);
    // The IP's anonymous allowance is untouched.
    expect((await send()).headers['X-RateLimit-Remaining']).toBe('4');
  });

  test('unknownKey "default": an unlisted key is served as no key, sharing the IP count', async () => {
    const doc = issueDocument();
    doc.unknownKey = 'default';
    const { send } = limiterOf(doc);
    await send(withKey('random-1'));
    await send(withKey('random-2'));
    const o = await send();
    expect(o.tier).toBe('anonymous');
    expect(o.headers['X-RateLimit-Remaining']).toBe('2');
  });

  test('a custom keyBy header is read', async () => {
    const doc = issueDocument();
    doc.keyBy = { header: 'Authorization-Key' };
    const { send } = limiterOf(doc);
    const o = await send({ headers: { 'authorization-key': FREE } });
    expect(o.tier).toBe('free');
  });
});

describe('rules stacked on tiers', () => {
  const ruleDoc = (rule: Doc) => {
    const doc = issueDocument();
    doc.rules = [rule];
    return doc;
  };

  test('a matching request is charged to the rule and the tier; both must allow', async () => {
    const { send } = limiterOf(
      ruleDoc({ id: 'post-hello', match: { methods: ['POST'], path: '/hello' }, rate: '2/minute' }),
    );
    const posts = await sendTimes(send, 3, withKey(FREE, { method: 'POST', path: '/hello' }));
    expect(posts.map((o) => o.allowed)).toEqual([true, true, false]);
    expect(posts[2]!.limitedBy).toBe('post-hello');
    const get = await send(withKey(FREE, { path: '/hello' }));
    expect(get.allowed).toBe(true);
    // Tier: 2 POSTs and this GET; the refused POST charged nothing.
    expect(get.headers['X-RateLimit-Remaining']).toBe('17');
  });

  test("a rule's cost is charged to the tier too", async () => {
    const { send } = limiterOf(
      ruleDoc({ id: 'report', match: { path: '/report' }, rate: '100/minute', cost: 3 }),
    );
    await send(withKey(FREE, { path: '/report' }));
    expect((await send(withKey(FREE, { path: '/x' }))).headers['X-RateLimit-Remaining']).toBe('16');
  });

  test('all-or-nothing on one key: a refusal by the tier leaves the rule uncharged', async () => {
    const doc = ruleDoc({ id: 'r', match: { path: '/r' }, rate: '100/minute' });
    doc.tiers.anonymous = { rate: '2/minute' };
    const { send } = limiterOf(doc, { headers: 'both' });
    await sendTimes(send, 2, { path: '/other' });
    const refused = await send({ path: '/r' });
    expect(refused.allowed).toBe(false);
    expect(refused.limitedBy).toBe('anonymous');
    // The rule's count is untouched: its first charge leaves 99.
    const clockless = await send({ path: '/r', ip: '198.51.100.9' });
    expect(clockless.headers.RateLimit).toContain('"anonymous";r=1');
    expect(clockless.headers['RateLimit-Policy']).toBe('"anonymous";q=2;w=60, "r";q=100;w=60');
  });

  test('keyBy "ip": the rule counts by client IP across keys', async () => {
    const doc = issueDocument();
    doc.keys.other_free = 'free';
    const { send } = limiterOf(doc);
    const login = { method: 'POST', path: '/api/login' };
    await send(withKey(FREE, login));
    await send(withKey('other_free', login));
    await send(login);
    const fourth = await send(withKey(FREE, login));
    expect(fourth.allowed).toBe(false);
    expect(fourth.limitedBy).toBe('login');
    expect((await send(withKey(FREE, { ...login, ip: '198.51.100.3' }))).allowed).toBe(true);
  });

  test('keyBy header: the rule counts by that header, else by IP', async () => {
    const { send } = limiterOf(
      ruleDoc({ id: 'h', match: { path: '/h' }, rate: '1/minute', keyBy: { header: 'X-Tenant' } }),
    );
    expect((await send({ path: '/h', headers: { 'x-tenant': 'a' } })).allowed).toBe(true);
    expect((await send({ path: '/h', headers: { 'x-tenant': 'a' }, ip: '198.51.100.4' })).allowed).toBe(
      false,
    );
    expect((await send({ path: '/h', headers: { 'x-tenant': 'b' } })).allowed).toBe(true);
    expect((await send({ path: '/h' })).allowed).toBe(true);
  });

  test("a rule's tiers override its rate per tier", async () => {
    const doc = issueDocument();
    doc.rules = [{ id: 's', match: { path: '/s/**' }, rate: '5/hour', tiers: { free: { rate: '2/hour' } } }];
    const { send } = limiterOf(doc);
    const free = await sendTimes(send, 3, withKey(FREE, { path: '/s/a/b' }));
    expect(free.map((o) => o.allowed)).toEqual([true, true, false]);
    const pro = await sendTimes(send, 3, withKey(PRO_KEY, { path: '/s/x' }));
    expect(pro.every((o) => o.allowed)).toBe(true);
  });

  test('shadow rules count and report (event and header) but never refuse', async () => {
    const doc = issueDocument();
    doc.rules = [{ id: 'quiet', match: { path: '/q' }, rate: '1/minute', mode: 'shadow' }];
    const { limiter, send } = limiterOf(doc);
    const heard: [string, Decision][] = [];
    limiter.on('shadowLimited', (_r, id, d) => heard.push([id, d]));
    const [a, b] = await sendTimes(send, 2, withKey(FREE, { path: '/q' }));
    expect(a!.headers['X-RateLimit-Shadow']).toBeUndefined();
    expect(b!.allowed).toBe(true);
    expect(b!.headers['X-RateLimit-Shadow']).toBe('quiet');
    expect(heard.map(([id, d]) => [id, d.allowed])).toEqual([['quiet', false]]);
  });
});

describe('configuration changes act on the counts', () => {
  // A source the test swaps by hand, as a reload would.
  function swappable(doc: Doc) {
    let snapshot: ConfigSnapshot = compileConfig(parseConfig(doc));
    return {
      current: () => snapshot,
      set(next: Doc) {
        snapshot = compileConfig(parseConfig(next));
      },
    };
  }

  test('lowering free from 10 to 5 stops a key that already made 7 requests', async () => {
    const doc = issueDocument();
    delete doc.tiers.free.burst;
    const source = swappable(doc);
    const clock = clocked();
    const limiter = createHttpLimiter({ config: source, backend: clock.backend });
    for (let i = 0; i < 7; i++) expect((await limiter.handle(req(withKey(FREE)))).allowed).toBe(true);
    doc.tiers.free.rate = '5/minute';
    source.set(doc);
    const after = await limiter.handle(req(withKey(FREE)));
    expect(after.allowed).toBe(false);
    expect(after.headers['X-RateLimit-Limit']).toBe('5');
  });

  test('a reload keeps the counts of tiers and rules whose names stay', async () => {
    const doc = issueDocument();
    doc.rules = [{ id: 'r', match: { path: '/r' }, rate: '3/minute' }];
    const source = swappable(doc);
    const clock = clocked();
    const limiter = createHttpLimiter({ config: source, backend: clock.backend });
    await limiter.handle(req(withKey(FREE, { path: '/r' })));
    await limiter.handle(req(withKey(FREE, { path: '/r' })));
    doc.rules.push({ id: 'new', match: { path: '/n' }, rate: '9/minute' });
    doc.tiers.free.rate = '11/minute';
    source.set(doc);
    const third = await limiter.handle(req(withKey(FREE, { path: '/r' })));
    expect(third.headers['X-RateLimit-Remaining']).toBe('0');
    expect((await limiter.handle(req(withKey(FREE, { path: '/r' })))).allowed).toBe(false);
  });
});

describe('keyStore', () => {
  test('maps unlisted keys to tiers, caches them, and counts by the key', async () => {
    const asked: string[] = [];
    const { send } = limiterOf(issueDocument(), {
      keyStore: async (key) => {
        asked.push(key);
        return key === 'db_pro_key_1' ? 'pro' : undefined;
      },
    });
    const a = await send(withKey('db_pro_key_1'));
    expect(a.tier).toBe('pro');
    expect((await send(withKey('db_pro_key_1'))).headers['X-RateLimit-Remaining']).toBe('148');
    expect((await send(withKey('nobody_key_1'))).status).toBe(401);
    expect((await send(withKey('nobody_key_1'))).status).toBe(401);
    expect(asked).toEqual(['db_pro_key_1', 'nobody_key_1']);
  });

  test('a failing store serves the default tier by IP, or 503 under onKeyStoreError "reject"', async () => {
    const failing = () => {
      throw new Error('db down');
    };
    const soft = limiterOf(issueDocument(), { keyStore: failing });
    const errors: string[] = [];
    soft.limiter.on('configError', (e) => errors.push(e.message));
    const o = await soft.send(withKey('some_key_1'));
    expect(o.allowed).toBe(true);
    expect(o.tier).toBe('anonymous');
    expect(errors).toEqual(['db down']);
    const strict = limiterOf(issueDocument(), { keyStore: { lookup: failing, onKeyStoreError: 'reject' } });
    strict.limiter.on('configError', () => undefined);
    const r = await strict.send(withKey('some_key_1'));
    expect(r.status).toBe(503);
    expect(r.headers['Retry-After']).toBe('1');
  });

  test('a tier the configuration lacks is a failed lookup', async () => {
    const { limiter, send } = limiterOf(issueDocument(), { keyStore: () => 'platinum' });
    const errors: string[] = [];
    limiter.on('configError', (e) => errors.push(e.message));
    expect((await send(withKey('some_key_1'))).tier).toBe('anonymous');
    expect(errors[0]).toContain('"platinum"');
  });
});

describe('options with config', () => {
  test.each(['rate', 'algorithm', 'keyBy', 'cost', 'scope'] as const)(
    '%s is refused beside config',
    (field) => {
      const values = { rate: '1/second', algorithm: {}, keyBy: () => 'x', cost: 2, scope: 's' };
      optionError(
        () => createHttpLimiter({ config: issueDocument() as ConfigInput, [field]: values[field] }),
        field,
      );
    },
  );

  test('keyStore without config is refused', () => {
    optionError(() => createHttpLimiter({ keyStore: () => 'free' }), 'keyStore');
  });

  test('config that is none of document, path and source is refused', () => {
    optionError(() => createHttpLimiter({ config: 42 as never }), 'config');
  });

  test('an invalid document throws at construction, listing every problem', () => {
    const doc = issueDocument();
    doc.tiers.free.rate = '10/minnute';
    doc.defaultTier = 'nobody';
    expect(() => createHttpLimiter({ config: doc as ConfigInput })).toThrow(
      /tiers\.free\.rate[\s\S]*defaultTier/,
    );
  });

  test('exemptPaths still apply: /health is never limited', async () => {
    const { send } = limiterOf(issueDocument(), { exemptPaths: ['/health'] });
    const outs = await sendTimes(send, 8, { path: '/health' });
    expect(outs.every((o) => o.allowed && o.skipped)).toBe(true);
  });

  test('a limiter derived without a rate follows the same configuration and counts', async () => {
    const { limiter } = limiterOf();
    const child = limiter.derive({ headers: 'ietf' });
    await limiter.handle(req(withKey(FREE)));
    const o = await child.handle(req(withKey(FREE)));
    expect(o.tier).toBe('free');
    expect(o.headers.RateLimit).toBe('"free";r=18;t=12');
  });
});

describe('rate as a function of the request', () => {
  const plan = (r: HttpRequest) => (r.header('x-plan') === 'gold' ? '4/minute' : '2/minute');

  test.each([
    ['sync', plan],
    ['async', async (r: HttpRequest) => plan(r)],
  ])('%s: each request gets its rate, and a change of rate keeps the count', async (_, rate) => {
    const clock = clocked();
    const limiter = createHttpLimiter({ rate, backend: clock.backend });
    const gold = { headers: { 'x-plan': 'gold' } };
    const plain = await Promise.all([limiter.handle(req()), limiter.handle(req())]);
    expect(plain.map((o) => o.headers['X-RateLimit-Limit'])).toEqual(['2', '2']);
    expect((await limiter.handle(req())).allowed).toBe(false);
    // The same client on the gold rate keeps its 2 used: 2 more.
    const golden = await sendTimes((i) => limiter.handle(req(i)), 3, gold);
    expect(golden.map((o) => o.allowed)).toEqual([true, true, false]);
    expect(golden[0]!.headers['X-RateLimit-Limit']).toBe('4');
  });

  test('a rate function that fails gives the default rate and a configError', async () => {
    const limiter = createHttpLimiter({ rate: () => 'lots', backend: clocked().backend });
    const errors: Error[] = [];
    limiter.on('configError', (e) => errors.push(e));
    const o = await limiter.handle(req());
    expect(o.headers['X-RateLimit-Limit']).toBe('60');
    expect(errors).toHaveLength(1);
  });

  test('algorithm beside a rate function is refused', () => {
    optionError(() => createHttpLimiter({ rate: () => '1/second', algorithm: {} as never }), 'algorithm');
  });
});

describe('config as a file path', () => {
  test('is watched: a rewrite applies (configReloaded), an invalid one is rejected, close() stops it', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'dl-tiers-')), 'distlimiter.json');
    const doc = issueDocument();
    writeFileSync(file, JSON.stringify(doc));
    const limiter = createHttpLimiter({ config: file, backend: clocked().backend });
    const events: string[] = [];
    limiter.on('configReloaded', (s) => events.push(`reloaded ${s.version}`));
    limiter.on('configRejected', (e) => events.push(`rejected ${e.problems.map((p) => p.path).join()}`));
    expect((await limiter.handle(req(withKey(FREE)))).headers['X-RateLimit-Limit']).toBe('20');

    doc.tiers.free.burst = 30;
    writeFileSync(file, JSON.stringify(doc));
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(1);
    expect(events[0]).toMatch(/^reloaded /);
    expect((await limiter.handle(req(withKey(FREE)))).headers['X-RateLimit-Limit']).toBe('30');

    writeFileSync(file, JSON.stringify({ ...doc, defaultTier: 'nobody' }));
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(2);
    expect(events[1]).toBe('rejected defaultTier');
    expect((await limiter.handle(req(withKey(FREE)))).headers['X-RateLimit-Limit']).toBe('30');

    await limiter.close();
    doc.tiers.free.burst = 40;
    writeFileSync(file, JSON.stringify(doc));
    await new Promise((r) => setTimeout(r, 600));
    expect(events).toHaveLength(2);
    expect((await limiter.handle(req(withKey(FREE)))).headers['X-RateLimit-Limit']).toBe('30');
  });
});

describe('keyFor and reset with config', () => {
  test("keyFor names the key's identity (never the raw key); reset forgets the tier and key rules", async () => {
    const doc = issueDocument();
    doc.rules = [
      { id: 'r', match: { path: '/r' }, rate: '3/minute' },
      { id: 'by-ip', match: { path: '/r' }, rate: '3/minute', keyBy: 'ip' },
    ];
    const { limiter, send } = limiterOf(doc);
    expect(await limiter.keyFor(req(withKey(FREE)))).toMatch(/^k#[0-9a-f]{64}$/);
    expect(await limiter.keyFor(req())).toBe('ip:203.0.113.7');
    await sendTimes(send, 3, withKey(FREE, { path: '/r' }));
    expect((await send(withKey(FREE, { path: '/r', ip: '198.51.100.1' }))).limitedBy).toBe('r');
    await limiter.reset(req(withKey(FREE)));
    const after = await send(withKey(FREE, { path: '/r', ip: '198.51.100.1' }));
    expect(after.allowed).toBe(true);
    // Rule r and the tier were forgotten (2 and 19 left); the IP rule, which does not count by the key, was
    // left alone: this address has 2 of 3 used, the refused request included (rules on another client are
    // charged before the tier's group, and a refusal there does not undo them), so 1 left binds.
    expect(after.headers['X-RateLimit-Remaining']).toBe('1');
    expect((await send(withKey(FREE, { path: '/r' }))).limitedBy).toBe('by-ip');
  });
});

describe('control plane of a configured limiter', () => {
  test('invalid keys from one IP: the 10th blocks it, then 403 with Retry-After, with or without a key', async () => {
    const { limiter, send } = limiterOf();
    try {
      const replies = [];
      for (let i = 0; i < 10; i++) replies.push(await send(withKey(`guess_number_${i}`)));
      expect(replies.every((o) => o.status === 401)).toBe(true);
      await expect.poll(() => limiter.protection!.blockOf('203.0.113.7') !== undefined).toBe(true);
      const blocked = await send(withKey(FREE));
      expect(blocked.status).toBe(403);
      expect(Number(blocked.headers['Retry-After'])).toBeGreaterThan(14 * 60);
      expect((await send()).status).toBe(403);
      // Another address is not affected.
      expect((await send(withKey(FREE, { ip: '198.51.100.20' }))).allowed).toBe(true);
    } finally {
      await limiter.close();
    }
  });

  test('a key of the wrong format is invalid before any lookup', async () => {
    const asked: string[] = [];
    const { limiter, send } = limiterOf(issueDocument(), {
      keyStore: (k) => {
        asked.push(k);
        return 'free';
      },
    });
    try {
      expect((await send(withKey('short'))).status).toBe(401);
      expect((await send(withKey('has a space in it'))).status).toBe(401);
      expect(asked).toEqual([]);
    } finally {
      await limiter.close();
    }
  });

  test('audit records the invalid key by a hint only; statistics count tiers and rules', async () => {
    const { limiter, send } = limiterOf();
    try {
      const secret = 'sk_totally_secret_guess';
      await send(withKey(secret));
      await limiter.audit!.flush();
      const records = await limiter.audit!.read(0);
      expect(records.map((r) => r.type)).toContain('invalidKey');
      expect(JSON.stringify(records)).not.toContain(secret);
      await sendTimes(send, 6, { method: 'POST', path: '/api/login' });
      const report = await limiter.statistics!.read();
      const w = report.windows['1m'];
      expect(w.tiers.anonymous).toEqual({ allowed: 3, limited: 3 });
      expect(w.rules.login).toEqual({ allowed: 3, limited: 3 });
      expect(report.topLimited[0]).toEqual({ identity: 'ip:203.0.113.7', limited: 3 });
    } finally {
      await limiter.close();
    }
  });

  test.each(['audit', 'statistics', 'protection'] as const)('%s without config is refused', (field) => {
    optionError(() => createHttpLimiter({ [field]: false }), field);
  });

  test('protection, statistics and audit can be turned off', async () => {
    const { limiter, send } = limiterOf(issueDocument(), {
      protection: false,
      statistics: false,
      audit: false,
    });
    expect(limiter.protection).toBeUndefined();
    expect(limiter.statistics).toBeUndefined();
    expect(limiter.audit).toBeUndefined();
    for (let i = 0; i < 12; i++) expect((await send(withKey(`guess_number_${i}`))).status).toBe(401);
  });
});

describe('peekIdentity', () => {
  test('reads every limit on a key without spending: a fresh key has used nothing', async () => {
    const doc = issueDocument();
    doc.rules = [{ id: 'r', match: { path: '/r' }, rate: '3/minute' }];
    const { limiter, send } = limiterOf(doc, { statistics: false, protection: false, audit: false });
    const { tier, identity } = limiter.tierOfKey(FREE)!;
    const fresh = await limiter.peekIdentity(identity, tier);
    expect(fresh.map((l) => [l.owner, l.limit, l.used, l.remaining])).toEqual([
      ['free', 20, 0, 20],
      ['r', 3, 0, 3],
    ]);
    await sendTimes(send, 3, withKey(FREE, { path: '/r' }));
    const spent = await limiter.peekIdentity(identity, tier);
    expect(spent.map((l) => [l.owner, l.used, l.remaining])).toEqual([
      ['free', 3, 17],
      ['r', 3, 0],
    ]);
    // Peeking spent nothing.
    expect((await limiter.peekIdentity(identity, tier))[0]!.used).toBe(3);
  });
});

describe('load states', () => {
  const quiet = { statistics: false, protection: false, audit: false } as const;
  const ENT = 'enterprise_key_1';
  const docWithEnterprise = () => {
    const doc = issueDocument();
    doc.keys[ENT] = 'enterprise';
    doc.rules = [];
    return doc;
  };

  test('NORMAL: a fresh free key bursts to 20; DEGRADED: free gets 2, pro and enterprise their base rate', async () => {
    const { limiter, send } = limiterOf(docWithEnterprise(), quiet);
    try {
      expect(limiter.loadStatus()).toBe('NORMAL');
      expect((await send(withKey(FREE))).headers['X-RateLimit-Limit']).toBe('20');
      await limiter.load!.set('DEGRADED', { reason: 'test', by: 'ops' });
      expect(limiter.loadStatus()).toBe('DEGRADED');
      const free = await sendTimes(send, 1, withKey(FREE, { ip: '198.51.100.1' }));
      // The free key already used 1 of its NORMAL 20: in DEGRADED it has 1 of 2 left, not a fresh 2.
      expect(free.map((o) => [o.allowed, o.headers['X-RateLimit-Limit']])).toEqual([[true, '2']]);
      expect((await send(withKey(FREE))).allowed).toBe(false);
      expect((await send(withKey(PRO_KEY))).headers['X-RateLimit-Limit']).toBe('100');
      expect((await send(withKey(ENT))).headers['X-RateLimit-Limit']).toBe('1000');
      expect(limiter.load!.view()).toMatchObject({
        status: 'DEGRADED',
        source: 'operator',
        by: 'ops',
        reason: 'test',
      });
    } finally {
      await limiter.close();
    }
  });

  test('a switch acts on the counts: entering gives no fresh 2, leaving no fresh 20', async () => {
    const { limiter, send } = limiterOf(docWithEnterprise(), quiet);
    try {
      await sendTimes(send, 5, withKey(FREE));
      await limiter.load!.set('DEGRADED');
      expect((await send(withKey(FREE))).allowed).toBe(false);
      await limiter.load!.clear();
      const back = await send(withKey(FREE));
      expect(back.headers['X-RateLimit-Limit']).toBe('20');
      expect(back.headers['X-RateLimit-Remaining']).toBe('14');
    } finally {
      await limiter.close();
    }
  });

  test('a tier with shed is answered 503 with a jittered Retry-After while DEGRADED, not 429', async () => {
    const doc = docWithEnterprise();
    doc.tiers.anonymous.shed = true;
    const { limiter, send } = limiterOf(doc, quiet);
    try {
      expect((await send()).allowed).toBe(true);
      await limiter.load!.set('DEGRADED');
      const shed = await sendTimes(send, 20, {});
      for (const o of shed) {
        expect(o).toMatchObject({ allowed: false, status: 503, shed: true, tier: 'anonymous' });
        const retry = Number(o.headers['Retry-After']);
        expect(retry).toBeGreaterThanOrEqual(5);
        expect(retry).toBeLessThanOrEqual(15);
      }
      // Spread, not one value for every client (20 draws from 11 values all equal: about 1 in 10^20).
      expect(new Set(shed.map((o) => o.headers['Retry-After'])).size).toBeGreaterThan(1);
      expect((await send(withKey(FREE))).allowed).toBe(true);
    } finally {
      await limiter.close();
    }
  });

  test('rules keep their limits in DEGRADED unless they give a degraded rate', async () => {
    const doc = docWithEnterprise();
    doc.rules = [
      { id: 'kept', match: { path: '/kept' }, rate: '5/minute' },
      { id: 'cut', match: { path: '/cut' }, rate: '5/minute', degraded: '1/minute' },
    ];
    const { limiter, send } = limiterOf(doc, quiet);
    try {
      await limiter.load!.set('DEGRADED');
      expect((await send(withKey(PRO_KEY, { path: '/kept' }))).headers['X-RateLimit-Limit']).toBe('5');
      const cut = await sendTimes(send, 2, withKey(PRO_KEY, { path: '/cut' }));
      expect(cut.map((o) => [o.allowed, o.limitedBy])).toEqual([
        [true, undefined],
        [false, 'cut'],
      ]);
    } finally {
      await limiter.close();
    }
  });

  test('the automatic monitor, from injected signals, degrades the instance on its own', async () => {
    let delay = 0;
    const { limiter, send } = limiterOf(docWithEnterprise(), {
      ...quiet,
      load: { monitor: { signals: () => ({ eventLoopDelayMs: delay }), intervalMs: 60_000 } },
    });
    try {
      const monitor = limiter.load!.monitor!;
      monitor.sample();
      expect(limiter.loadStatus()).toBe('NORMAL');
      delay = 500;
      monitor.sample();
      expect(limiter.loadStatus()).toBe('DEGRADED');
      expect((await send(withKey(FREE))).headers['X-RateLimit-Limit']).toBe('2');
      expect(limiter.load!.view().source).toBe('automatic');
    } finally {
      await limiter.close();
    }
  });

  test('load: false keeps NORMAL; load without config is refused', async () => {
    const { limiter } = limiterOf(docWithEnterprise(), { ...quiet, load: false });
    expect(limiter.load).toBeUndefined();
    expect(limiter.loadStatus()).toBe('NORMAL');
    optionError(() => createHttpLimiter({ load: false }), 'load');
  });
});
