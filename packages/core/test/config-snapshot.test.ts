import { describe, expect, it } from 'vitest';
import { type Algorithm, MemoryBackend, parseConfig, RateLimiter } from '../src/index.js';
import { keyIdentity, sha256Hex } from '../src/policy/api-keys.js';
import { compileConfig, rateAlgorithm } from '../src/policy/snapshot.js';
import { FakeClock } from './support/clock.js';
import { issueDocument, PRO_KEY } from './support/config-document.js';

const MINUTE = 60_000;

const snapshotOf = (change: (doc: ReturnType<typeof issueDocument>) => void = () => {}) => {
  const doc = issueDocument();
  change(doc);
  return compileConfig(parseConfig(doc));
};

/** A limiter running `algorithm` on a memory backend with a clock the test moves. */
function limiterOf(algorithm: Algorithm) {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ algorithm, backend: new MemoryBackend({ clock: clock.read }) });
  return { clock, limiter };
}

/** How many of `n` requests at this instant are allowed. */
async function allowedOf(limiter: RateLimiter, n: number, cost = 1): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.limit('k', { cost })).allowed) allowed++;
  return allowed;
}

describe('compileConfig', () => {
  it("compiles the issue's document", () => {
    const s = snapshotOf();
    expect([...s.tiers.keys()]).toEqual(['anonymous', 'free', 'pro', 'enterprise']);
    expect(s.rules.map((r) => r.id)).toEqual(['login', 'search']);
    expect(s.defaultTier).toBe('anonymous');
    expect(s.unknownKey).toBe('reject');
    expect(s.keyBy).toBe('x-api-key');
    const [login, search] = s.rules;
    expect(login).toMatchObject({ cost: 1, mode: 'enforce', keyBy: 'ip' });
    expect(search).toMatchObject({ cost: 5, mode: 'shadow', keyBy: 'key' });
    expect(s.tiers.get('free')!.degraded).toBeDefined();
    expect(s.tiers.get('pro')!.degraded).toBeUndefined();
  });

  it('the free tier allows exactly 20 at once, then refills at 10 per minute', async () => {
    const { clock, limiter } = limiterOf(snapshotOf().tiers.get('free')!.algorithm);
    expect(await allowedOf(limiter, 25)).toBe(20);
    clock.advance(MINUTE / 10 - 1);
    expect(await allowedOf(limiter, 1)).toBe(0);
    clock.advance(1);
    expect(await allowedOf(limiter, 2)).toBe(1);
    clock.advance(MINUTE);
    expect(await allowedOf(limiter, 20)).toBe(10);
  });

  it("a tier's limit (X-RateLimit-Limit) is its burst, or the rate's count without one", async () => {
    const s = snapshotOf();
    const limitOf = async (tier: string) => {
      const { limiter } = limiterOf(s.tiers.get(tier)!.algorithm);
      return (await limiter.limit('k')).limit;
    };
    expect(await limitOf('free')).toBe(20);
    expect(await limitOf('pro')).toBe(150);
    expect(await limitOf('anonymous')).toBe(5);
    expect(s.tiers.get('free')!.algorithm.members.map((m) => m.limit)).toEqual([20]);
  });

  it('enterprise has one bucket per rate and needs both to allow', async () => {
    const enterprise = snapshotOf().tiers.get('enterprise')!.algorithm;
    expect(enterprise.name).toBe('hybrid');
    expect(enterprise.members.map((m) => m.limit)).toEqual([1000, 100000]);
    // With a small daily rate the second bucket binds: the per-minute one alone would allow more.
    const { clock, limiter } = limiterOf(rateAlgorithm(['3/minute', '4/day']));
    expect(await allowedOf(limiter, 5)).toBe(3);
    clock.advance(MINUTE);
    expect(await allowedOf(limiter, 3)).toBe(1);
  });

  it('a degraded rate compiles to a bucket of its own count', async () => {
    const { limiter } = limiterOf(snapshotOf().tiers.get('free')!.degraded!);
    expect(await allowedOf(limiter, 5)).toBe(2);
  });

  it('match picks login only for POST /api/login, search for anything under /api/search', () => {
    const s = snapshotOf();
    const ids = (method: string, path: string) => s.match(method, path).map((r) => r.id);
    expect(ids('POST', '/api/login')).toEqual(['login']);
    expect(ids('POST', '/api/login/')).toEqual(['login']);
    expect(ids('GET', '/api/login')).toEqual([]);
    expect(ids('POST', '/api/logins')).toEqual([]);
    expect(ids('GET', '/api/search/anything')).toEqual(['search']);
    expect(ids('POST', '/api/search/a/b/c')).toEqual(['search']);
    expect(ids('GET', '/api/search')).toEqual(['search']);
    expect(ids('GET', '/api/other')).toEqual([]);
  });

  it('match returns every rule that applies, in document order', () => {
    const s = snapshotOf((doc) => {
      doc.rules.unshift({ id: 'all-api', match: { path: '/api/**' }, rate: '1000/minute' });
      doc.rules.push({ id: 'posts', match: { methods: ['POST'] }, rate: '100/minute' });
    });
    expect(s.match('POST', '/api/login').map((r) => r.id)).toEqual(['all-api', 'login', 'posts']);
    expect(s.match('GET', '/api/search/x').map((r) => r.id)).toEqual(['all-api', 'search']);
    expect(s.match('POST', '/health').map((r) => r.id)).toEqual(['posts']);
  });

  it("a rule's tiers override its rate for that tier only", async () => {
    const search = snapshotOf().rules[1]!;
    expect(search.algorithmFor('free')).toBe(search.tierAlgorithms.get('free'));
    expect(search.algorithmFor('pro')).toBe(search.algorithm);
    expect(search.algorithmFor('free').members.map((m) => m.limit)).toEqual([20]);
    expect(search.algorithm.members.map((m) => m.limit)).toEqual([600]);
    const { limiter } = limiterOf(search.algorithmFor('free'));
    expect(await allowedOf(limiter, 5, search.cost)).toBe(4);
  });

  it('a rule keyed by a header keeps its name lower-cased', () => {
    const s = snapshotOf((doc) => {
      doc.keyBy = { header: 'X-Api-Key' };
      doc.rules[0].keyBy = { header: 'X-User' };
    });
    expect(s.keyBy).toBe('x-api-key');
    expect(s.rules[0]!.keyBy).toEqual({ header: 'x-user' });
  });

  it('tierOfKey finds a raw and a sha256: entry, by identity, and not an unlisted key', () => {
    const s = snapshotOf((doc) => {
      doc.keys[`sha256:${sha256Hex('ent_key')}`] = 'enterprise';
    });
    expect(s.tierOfKey('demo_free_key_123')).toEqual({
      tier: 'free',
      identity: keyIdentity('demo_free_key_123'),
    });
    expect(s.tierOfKey(PRO_KEY)).toEqual({ tier: 'pro', identity: keyIdentity(PRO_KEY) });
    expect(s.tierOfKey('ent_key')).toEqual({ tier: 'enterprise', identity: `k#${sha256Hex('ent_key')}` });
    expect(s.tierOfKey('unknown_key')).toBeUndefined();
    expect(s.tierOfKey('')).toBeUndefined();
    expect(s.tierOfKey('\uD800')).toBeUndefined();
    expect(JSON.stringify(s.tierOfKey('demo_free_key_123'))).not.toContain('demo_free_key_123');
  });

  it('is frozen all the way down', () => {
    const s = snapshotOf();
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.rules)).toBe(true);
    expect(Object.isFrozen(s.tiers)).toBe(true);
    expect(Object.isFrozen(s.tiers.get('free'))).toBe(true);
    expect(Object.isFrozen(s.rules[1])).toBe(true);
    expect(Object.isFrozen(s.tiers.get('enterprise')!.algorithm)).toBe(true);
    expect(() => (s.tiers as Map<string, unknown>).set('x', {})).toThrow(TypeError);
    expect(() => (s.tiers as Map<string, unknown>).delete('free')).toThrow(TypeError);
    expect(() => (s.rules[1]!.tierAlgorithms as Map<string, unknown>).clear()).toThrow(TypeError);
    expect(s.tiers.size).toBe(4);
    expect(() => {
      (s as { version: string }).version = 'x';
    }).toThrow(TypeError);
  });

  it('names its version: the option, or a digest that changes with the document', () => {
    expect(compileConfig(parseConfig(issueDocument()), { version: 'v7' }).version).toBe('v7');
    const a = snapshotOf().version;
    expect(snapshotOf().version).toBe(a);
    expect(
      snapshotOf((doc) => {
        doc.tiers.free.rate = '5/minute';
      }).version,
    ).not.toBe(a);
  });

  it('does not change or keep the document', () => {
    const doc = parseConfig(issueDocument());
    const before = JSON.stringify(doc);
    const s = compileConfig(doc);
    expect(JSON.stringify(doc)).toBe(before);
    doc.rules.length = 0;
    doc.tiers.free!.rate = '1/minute';
    expect(s.rules).toHaveLength(2);
    expect(s.tiers.get('free')!.algorithm.members[0]!.limit).toBe(20);
  });
});
