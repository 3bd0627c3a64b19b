import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { req } from '../http/helpers.js';
import { hashOf, PRO_KEY } from '../support/config-document.js';
import { adminOn, type BackendKind, closeAll, closeFile, manualClock, T0 } from './support.js';

// The configuration endpoints over both backends: what is in force, rules, tiers and keys changed through
// the overlay (the memory limiter's own local overlay; the Redis limiter's shared one), validation, If-Match.

afterEach(closeAll);
afterAll(closeFile);

const FREE = 'demo_free_key_123';
const EXPORT_RULE = { id: 'export', match: { methods: ['GET'], path: '/api/export' }, rate: '2/minute' };

const withKey = (key: string, init: Parameters<typeof req>[0] = {}) =>
  req({ ...init, headers: { ...(init.headers ?? {}), 'x-api-key': key } });

describe.each<BackendKind>(['memory', 'redis'])('admin configuration on %s', (kind) => {
  const overlay = kind === 'memory' ? 'local' : 'redis';

  test('GET /rules: tiers and rules in force, each with its source, the version as ETag', async () => {
    const t = await adminOn(kind);
    const r = await t.send('GET', '/rules');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('etag')).toBe(`"${r.body.version}"`);
    expect(r.body).toMatchObject({
      base: 'file',
      overlay,
      overlayVersion: null,
      defaultTier: 'anonymous',
      unknownKey: 'reject',
      keyBy: { header: 'x-api-key' },
      tiers: {
        anonymous: { rate: '5/minute', source: 'file' },
        free: { rate: '10/minute', burst: 20, degraded: '2/minute', source: 'file' },
      },
      keys: { count: 2, overlay: [] },
    });
    expect(r.body.rules.map((x: { id: string; source: string }) => [x.id, x.source])).toEqual([
      ['login', 'file'],
      ['search', 'file'],
    ]);
    expect(r.body.rules[0]).toMatchObject({ rate: '3/minute', keyBy: 'ip', cost: 1, mode: 'enforce' });
    // The keys table is secret: neither a raw key nor a hash of one is listed from the base.
    expect(r.text).not.toContain(FREE);
    expect(r.text).not.toContain(hashOf(PRO_KEY).slice(7));
  });

  test('POST /rules creates a rule (201) that the limiter applies at once; again replaces it (200)', async () => {
    const t = await adminOn(kind);
    const created = await t.send('POST', '/rules', { body: EXPORT_RULE });
    expect(created.status).toBe(201);
    expect(created.body.rule).toMatchObject({ ...EXPORT_RULE, source: overlay, cost: 1, keyBy: 'key' });
    expect(created.headers.get('etag')).toBe(`"${created.body.version}"`);
    const request = withKey(FREE, { path: '/api/export' });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await t.limiter.handle(request));
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, false]);
    expect(outcomes[2]!.limitedBy).toBe('export');
    const replaced = await t.send('POST', '/rules', { body: { ...EXPORT_RULE, rate: '5/minute' } });
    expect(replaced.status).toBe(200);
    const rules = (await t.send('GET', '/rules')).body.rules;
    expect(rules.find((r: { id: string }) => r.id === 'export')).toMatchObject({
      rate: '5/minute',
      source: overlay,
    });
  });

  test('POST /rules overriding a file rule keeps its place; DELETE restores the file rule', async () => {
    const t = await adminOn(kind);
    const posted = await t.send('POST', '/rules', {
      body: { id: 'login', match: { path: '/api/login' }, rate: '1/minute' },
    });
    expect(posted.status).toBe(200);
    let rules = (await t.send('GET', '/rules')).body.rules;
    expect(rules.map((r: { id: string; source: string }) => `${r.id}:${r.source}`)).toEqual([
      `login:${overlay}`,
      'search:file',
    ]);
    const removed = await t.send('DELETE', '/rules/login');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ removed: 'login', restored: 'file' });
    rules = (await t.send('GET', '/rules')).body.rules;
    expect(rules[0]).toMatchObject({ id: 'login', rate: '3/minute', source: 'file' });
  });

  test('DELETE /rules/:id: a rule only in the file is 409, an unknown one 404, one added through the API goes', async () => {
    const t = await adminOn(kind);
    const fileOnly = await t.send('DELETE', '/rules/search');
    expect(fileOnly.status).toBe(409);
    expect(fileOnly.body).toMatchObject({
      error: 'Conflict',
      message: expect.stringMatching(/comes from the file/),
    });
    expect((await t.send('DELETE', '/rules/nope')).status).toBe(404);
    await t.send('POST', '/rules', { body: EXPORT_RULE });
    const removed = await t.send('DELETE', '/rules/export');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ removed: 'export', restored: null });
    expect((await t.send('GET', '/rules')).body.rules.map((r: { id: string }) => r.id)).toEqual([
      'login',
      'search',
    ]);
  });

  test('bad bodies get 400 with every problem and its path within the body', async () => {
    const t = await adminOn(kind);
    const bad = await t.send('POST', '/rules', {
      body: { id: 'x', match: { path: 'api/x', method: ['GET'] }, rate: '10/minnute', cost: 0 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('Bad Request');
    expect(bad.body.problems.map((p: { path: string; at: string }) => `${p.at}:${p.path}`).sort()).toEqual(
      ['body:cost', 'body:match.method', 'body:match.path', 'body:rate'].sort(),
    );
    expect(bad.body.problems.find((p: { path: string }) => p.path === 'rate').message).toMatch(
      /"10\/minnute" is not a rate/,
    );
    const noId = await t.send('POST', '/rules', { body: { rate: '1/s' } });
    expect(noId.status).toBe(400);
    expect(noId.body.problems).toEqual([{ path: 'id', message: expect.any(String), at: 'body' }]);
    const notObject = await t.send('POST', '/rules', { body: [1] });
    expect(notObject.body.problems[0]).toMatchObject({ path: '', at: 'body' });
    // A tier of a rule's override that does not exist, and a burst below the rate's count.
    const tier = await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 5 } });
    expect(tier.status).toBe(400);
    expect(tier.body.problems).toEqual([
      { path: 'burst', message: expect.stringMatching(/below the count/), at: 'body' },
    ]);
    const badName = await t.send('PUT', '/tiers/my%20tier', { body: { rate: '1/s' } });
    expect(badName.body.problems).toEqual([
      { path: ':name', message: expect.stringMatching(/is not a name/), at: 'path' },
    ]);
    const misspelt = await t.send('PUT', '/tiers/free', { body: { rat: '10/minute' } });
    expect(misspelt.body.problems).toEqual([
      { path: 'rate', message: expect.stringMatching(/^missing/), at: 'body' },
      { path: 'rat', message: expect.stringMatching(/did you mean "rate"/), at: 'body' },
    ]);
    // A change that breaks another part of the configuration names that part.
    const starved = await t.send('PUT', '/tiers/free', { body: { rate: '2/minute' } });
    expect(starved.status).toBe(400);
    expect(starved.body.problems).toEqual([
      { path: 'rules[1].cost', message: expect.stringMatching(/tier "free"/), at: 'configuration' },
    ]);
    // Nothing was written by any of these.
    expect((await t.send('GET', '/rules')).body.overlayVersion).toBeNull();
  });

  test('bodies that are not JSON, missing or too large', async () => {
    const t = await adminOn(kind);
    const request = (body: string) =>
      t.admin.fetch(
        new Request('http://x/rules', {
          method: 'POST',
          headers: {
            authorization: 'Bearer full-token-0123456789abcdef',
            'content-type': 'application/json',
          },
          body,
        }),
        { ip: '203.0.113.9' },
      );
    const notJson = await request('{"id": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/not JSON/);
    expect((await request('')).status).toBe(400);
    expect((await request(`{"id":"${'x'.repeat(70_000)}"}`)).status).toBe(413);
  });

  test('a body parsed by the framework (context.body) is used instead of the request stream', async () => {
    const t = await adminOn(kind);
    const r = await t.send('POST', '/rules', { body: EXPORT_RULE, parsed: true });
    expect(r.status).toBe(201);
    expect(r.body.rule.id).toBe('export');
  });

  test('PUT /tiers/:name changes a tier (200) or adds one (201); DELETE removes only what the API added', async () => {
    const t = await adminOn(kind);
    const changed = await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 30 } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      name: 'free',
      tier: { rate: '10/minute', burst: 30, source: overlay },
    });
    expect((await t.limiter.handle(withKey(FREE))).headers['X-RateLimit-Limit']).toBe('30');
    const added = await t.send('PUT', '/tiers/gold', { body: { rate: '500/minute' } });
    expect(added.status).toBe(201);
    expect((await t.send('DELETE', '/tiers/anonymous')).status).toBe(409);
    expect((await t.send('DELETE', '/tiers/gold')).body).toMatchObject({ removed: 'gold', restored: null });
    expect((await t.send('DELETE', '/tiers/free')).body).toMatchObject({ removed: 'free', restored: 'file' });
    expect((await t.limiter.handle(withKey(FREE, { ip: '198.51.100.3' }))).headers['X-RateLimit-Limit']).toBe(
      '20',
    );
  });

  test('PUT /keys/:key moves a key (raw or sha256:) to another tier; only the hash is stored', async () => {
    const t = await adminOn(kind);
    const moved = await t.send('PUT', `/keys/${FREE}`, { body: { tier: 'pro' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({
      key: `${hashOf(FREE).slice(0, 15)}…`,
      tier: 'pro',
      expiresAt: null,
      version: expect.any(String),
    });
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('pro');
    const rules = await t.send('GET', '/rules');
    expect(rules.body.keys.overlay).toEqual([
      { key: `${hashOf(FREE).slice(0, 15)}…`, tier: 'pro', expiresAt: null, source: overlay },
    ]);
    // The hashed form names the same key: a second move replaces the first.
    const hashed = await t.send('PUT', `/keys/${encodeURIComponent(hashOf(FREE))}`, {
      body: { tier: 'enterprise' },
    });
    expect(hashed.status).toBe(200);
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('enterprise');
    if (kind === 'redis') {
      const stored = await (await import('./support.js')).redis().hkeys(`{${t.prefix}:config}:overlay`);
      expect(stored).toEqual([`keys.${hashOf(FREE)}`]);
    }
    // No answer ever holds the raw key.
    for (const r of [moved, hashed, rules]) expect(r.text).not.toContain(FREE);
  });

  test('PUT /keys/:key validates the tier, the expiry and the key', async () => {
    const t = await adminOn(kind);
    const noTier = await t.send('PUT', '/keys/some_key', { body: { tier: 'gold' } });
    expect(noTier.status).toBe(400);
    expect(noTier.body.problems).toEqual([
      { path: 'tier', message: expect.stringMatching(/"gold" is not a tier/), at: 'body' },
    ]);
    const badExpiry = await t.send('PUT', '/keys/some_key', { body: { tier: 'pro', expiresInSeconds: -5 } });
    expect(badExpiry.body.problems[0].path).toBe('expiresInSeconds');
    const extra = await t.send('PUT', '/keys/some_key', { body: { tier: 'pro', until: 5 } });
    expect(extra.body.problems[0].path).toBe('until');
    const badHash = await t.send('PUT', '/keys/sha256:abc', { body: { tier: 'pro' } });
    expect(badHash.status).toBe(400);
    expect(badHash.body.problems[0]).toMatchObject({ path: ':key', at: 'path' });
  });

  test('DELETE /keys/:key removes an entry set through the API; a file key is 409, an unknown one 404', async () => {
    const t = await adminOn(kind);
    expect((await t.send('DELETE', `/keys/${FREE}`)).status).toBe(409);
    expect((await t.send('DELETE', '/keys/never_seen')).status).toBe(404);
    await t.send('PUT', `/keys/${FREE}`, { body: { tier: 'pro' } });
    const removed = await t.send('DELETE', `/keys/${FREE}`);
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ removed: `${hashOf(FREE).slice(0, 15)}…`, tier: 'free' });
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('free');
  });

  test('If-Match: the version in force (quoted, bare or *) writes; another is 412 with the current ETag', async () => {
    const t = await adminOn(kind);
    const { version } = (await t.send('GET', '/rules')).body;
    const quoted = await t.send('POST', '/rules', {
      body: EXPORT_RULE,
      headers: { 'if-match': `"${version}"` },
    });
    expect(quoted.status).toBe(201);
    const stale = await t.send('PUT', '/tiers/free', {
      body: { rate: '10/minute', burst: 30 },
      headers: { 'if-match': `"${version}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ error: 'Precondition Failed', version: quoted.body.version });
    expect(stale.headers.get('etag')).toBe(`"${quoted.body.version}"`);
    const bare = await t.send('PUT', '/tiers/free', {
      body: { rate: '10/minute', burst: 30 },
      headers: { 'if-match': quoted.body.version },
    });
    expect(bare.status).toBe(200);
    const any = await t.send('DELETE', '/rules/export', { headers: { 'if-match': '*' } });
    expect(any.status).toBe(200);
    expect((await t.send('DELETE', '/tiers/free', { headers: { 'if-match': '"nope"' } })).status).toBe(412);
  });

  test('unknown paths are 404 JSON, wrong methods 405 with Allow', async () => {
    const t = await adminOn(kind);
    const missing = await t.send('GET', '/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'Not Found' });
    const wrong = await t.send('PATCH', '/rules');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(wrong.body.error).toBe('Method Not Allowed');
    expect((await t.send('GET', '/rules/login')).headers.get('allow')).toBe('DELETE');
    // A trailing slash is forgiven.
    expect((await t.send('GET', '/rules/')).status).toBe(200);
  });
});

describe('admin configuration, one backend', () => {
  test('a key moved with expiresInSeconds goes back to its tier once the time is up (injected clock)', async () => {
    const clock = manualClock();
    const t = await adminOn('memory', { clock: clock.now });
    // The handler and the limiter's configuration source run on the same clock.
    const r = await t.send('PUT', `/keys/${FREE}`, { body: { tier: 'pro', expiresInSeconds: 600 } });
    expect(r.body.expiresAt).toBe(new Date(T0 + 600_000).toISOString());
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('pro');
    const listed = (await t.send('GET', '/rules')).body.keys.overlay;
    expect(listed).toEqual([
      expect.objectContaining({ tier: 'pro', expiresAt: new Date(T0 + 600_000).toISOString() }),
    ]);
    clock.advance(599_999);
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('pro');
    clock.advance(1);
    expect((await t.limiter.handle(withKey(FREE))).tier).toBe('free');
    expect((await t.send('GET', '/rules')).body.keys.overlay).toEqual([]);
    // Expired, the entry is gone from the API's view: nothing to delete, the key is the file's again.
    expect((await t.send('DELETE', `/keys/${FREE}`)).status).toBe(409);
  });

  test('writes answer 501 when the source cannot publish, and everything about configuration when there is none', async () => {
    const { createConfigSource } = await import('../../src/policy/source/config-source.js');
    const { issueDocument } = await import('../support/config-document.js');
    const source = createConfigSource({ document: issueDocument() as never });
    const readOnly = await adminOn('memory', {});
    const { createHttpLimiter } = await import('../../src/http/index.js');
    const fixed = createHttpLimiter({ config: source });
    const { createAdminHandler } = await import('../../src/admin/index.js');
    const { send, TOKENS } = await import('./support.js');
    const admin = createAdminHandler({ limiter: fixed, tokens: TOKENS });
    expect((await send(admin, 'GET', '/rules')).status).toBe(200);
    const write = await send(admin, 'POST', '/rules', { body: EXPORT_RULE });
    expect(write.status).toBe(501);
    expect(write.body.message).toMatch(/localOverlay/);
    const plain = createAdminHandler({ limiter: createHttpLimiter({ rate: '5/minute' }), tokens: TOKENS });
    expect((await send(plain, 'GET', '/rules')).status).toBe(501);
    expect((await send(plain, 'GET', '/health')).status).toBe(200);
    await Promise.all([source.close(), readOnly.admin.close()]);
  });
});
