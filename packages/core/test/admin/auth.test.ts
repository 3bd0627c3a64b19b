import { createHash } from 'node:crypto';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import {
  type AdminHandler,
  type AdminTarget,
  createAdminHandler,
  DEFAULT_ADMIN_RATE,
} from '../../src/admin/index.js';
import { createHttpLimiter, type HttpLimiter } from '../../src/http/index.js';
import { MemoryBackend } from '../../src/index.js';
import { thrown } from '../support/thrown.js';
import {
  adminOn,
  type BackendKind,
  closeAll,
  closeFile,
  FakeAudit,
  FakeProtection,
  FULL,
  limiterOn,
  READ,
  send,
  TOKENS,
  until,
} from './support.js';

// Who may use the admin API: bearer tokens by name (full or read-only), from options or the environment,
// compared in constant time, never shown; the API's own limit per IP; the open probes.

afterEach(closeAll);
afterAll(closeFile);

const hashed = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex')}`;

const memoryLimiter = () => limiterOn('memory').limiter;

describe('admin tokens at creation', () => {
  test('no token at all is an InvalidOptionError naming tokens and both variables, unless auth is off', () => {
    const limiter = memoryLimiter();
    const error = thrown(() => createAdminHandler({ limiter, env: {} }));
    expect(error.field).toBe('tokens');
    expect(error.message).toMatch(/DISTLIMITER_ADMIN_TOKEN/);
    expect(error.message).toMatch(/DISTLIMITER_ADMIN_READ_TOKEN/);
    expect(error.message).toMatch(/false/);
    expect(thrown(() => createAdminHandler({ limiter, tokens: {} })).field).toBe('tokens');
    expect(thrown(() => createAdminHandler({ limiter, tokens: { full: {}, read: {} } })).field).toBe(
      'tokens',
    );
    expect(() => createAdminHandler({ limiter, tokens: false, env: {} })).not.toThrow();
  });

  test('a malformed token is refused without the error ever quoting it', () => {
    const limiter = memoryLimiter();
    const secret = 'my secret token';
    const spaced = thrown(() => createAdminHandler({ limiter, tokens: { full: { ops: secret } } }));
    expect(spaced.field).toBe('tokens.full.ops');
    expect(spaced.message).not.toContain(secret);
    const badHash = thrown(() =>
      createAdminHandler({ limiter, tokens: { read: { grafana: 'sha256:abc123' } } }),
    );
    expect(badHash.field).toBe('tokens.read.grafana');
    expect(badHash.message).not.toContain('abc123');
    expect(thrown(() => createAdminHandler({ limiter, tokens: { admin: { x: 'y' } } as never })).field).toBe(
      'tokens.admin',
    );
    expect(thrown(() => createAdminHandler({ limiter, tokens: { full: { 'a b': 'tok' } } })).field).toBe(
      'tokens.full',
    );
    expect(
      thrown(() => createAdminHandler({ limiter, tokens: { full: { ops: 't1' }, read: { ops: 't2' } } }))
        .field,
    ).toBe('tokens.read.ops');
  });

  test('other options are checked too', () => {
    const limiter = memoryLimiter();
    expect(thrown(() => createAdminHandler({ limiter, tokens: TOKENS, rate: '5/fortnight' })).field).toBe(
      'rate',
    );
    expect(thrown(() => createAdminHandler({ limiter, tokens: TOKENS, tokns: {} } as never)).message).toMatch(
      /did you mean "tokens"/,
    );
    expect(thrown(() => createAdminHandler({ limiter: {} as never, tokens: TOKENS })).field).toBe('limiter');
    expect(thrown(() => createAdminHandler({ limiter, tokens: TOKENS, clock: 1 as never })).field).toBe(
      'clock',
    );
    expect(DEFAULT_ADMIN_RATE).toBe('60/minute');
  });

  test('an HttpLimiter is an AdminTarget', () => {
    const limiter: HttpLimiter = memoryLimiter();
    const target: AdminTarget = limiter;
    expect(target.limiter.prefix).toBe(limiter.limiter.prefix);
  });
});

describe.each<BackendKind>(['memory', 'redis'])('admin auth on %s', (kind) => {
  test('no token or a wrong one: 401 with WWW-Authenticate: Bearer; a full token reads and writes', async () => {
    const t = await adminOn(kind);
    const none = await t.send('GET', '/rules', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="distlimiter-admin"');
    expect(none.body).toEqual({ error: 'Unauthorized', message: expect.stringMatching(/Bearer/) });
    const wrong = await t.send('GET', '/rules', { token: 'not-a-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe(
      'Bearer realm="distlimiter-admin", error="invalid_token"',
    );
    const basic = await t.send('GET', '/rules', { token: null, headers: { authorization: `Basic ${FULL}` } });
    expect(basic.status).toBe(401);
    // Unknown paths and wrong methods say nothing without a token.
    expect((await t.send('GET', '/nope', { token: null })).status).toBe(401);
    expect((await t.send('GET', '/rules')).status).toBe(200);
    expect((await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 25 } })).status).toBe(200);
    // The scheme is case-insensitive.
    expect(
      (await t.send('GET', '/rules', { token: null, headers: { authorization: `bearer ${FULL}` } })).status,
    ).toBe(200);
  });

  test('a read-only token may GET; any other method is 403 and changes nothing', async () => {
    const t = await adminOn(kind);
    expect((await t.send('GET', '/rules', { token: READ })).status).toBe(200);
    expect((await t.send('GET', '/health', { token: READ })).status).toBe(200);
    const before = (await t.send('GET', '/rules')).body.version;
    for (const [method, path, body] of [
      ['POST', '/rules', { id: 'x', match: { path: '/x' }, rate: '1/s' }],
      ['PUT', '/tiers/free', { rate: '1/s' }],
      ['DELETE', '/rules/login', undefined],
      ['POST', '/keys/demo_free_key_123/reset', undefined],
      ['POST', '/selftest', undefined],
    ] as const) {
      const r = await t.send(method, path, { token: READ, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error).toBe('Forbidden');
    }
    expect((await t.send('GET', '/rules')).body.version).toBe(before);
  });

  test('every write is audited with the token name, method, path (key hinted) and status; never a token', async () => {
    const t = await adminOn(kind);
    const answers = [
      await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 25 } }),
      await t.send('POST', '/rules', { body: { id: 'bad', rate: 'often' } }),
      await t.send('PUT', '/keys/demo_free_key_123', { body: { tier: 'pro' } }),
      await t.send('DELETE', '/rules/login', { token: READ }),
      await t.send('GET', '/rules', { token: READ }),
      await t.send('GET', '/rules', { token: 'a-guess' }),
    ];
    const audit = t.limiter.audit!;
    await audit.flush();
    let records: Record<string, unknown>[] = [];
    await until(async () => {
      records = (await t.send('GET', '/audit?since=0&limit=1000')).body.events.filter(
        (e: { type: string }) => e.type === 'adminWrite',
      );
      return records.length >= 4;
    });
    expect(
      records.map((r) => ({ token: r.token, method: r.method, path: r.path, status: r.status, ip: r.ip })),
    ).toEqual([
      { token: 'ops', method: 'PUT', path: '/tiers/free', status: 200, ip: '203.0.113.9' },
      { token: 'ops', method: 'POST', path: '/rules', status: 400, ip: '203.0.113.9' },
      // A hint only (AuditLog's gate makes it): never the raw key, never the whole digest.
      {
        token: 'ops',
        method: 'PUT',
        path: expect.stringMatching(/^\/keys\/[^/]{1,20}…[0-9a-f]{0,8}$/),
        status: 200,
        ip: '203.0.113.9',
      },
      { token: 'grafana', method: 'DELETE', path: '/rules/login', status: 403, ip: '203.0.113.9' },
    ]);
    const everything = JSON.stringify(records) + answers.map((a) => a.text).join('');
    const digest = createHash('sha256').update('demo_free_key_123').digest('hex');
    for (const secret of [FULL, READ, 'a-guess', 'demo_free_key_123', digest])
      expect(everything).not.toContain(secret);
  });

  test('tokens given as sha256:<hex> are accepted; the environment gives "env" and "env-read"', async () => {
    const t = await adminOn(kind, {
      tokens: { full: { ops: hashed(FULL) }, read: { grafana: hashed(READ) } },
    });
    expect((await t.send('GET', '/rules', { token: READ })).status).toBe(200);
    expect((await t.send('PUT', '/tiers/free', { body: { rate: '10/minute', burst: 22 } })).status).toBe(200);
    const admin = createAdminHandler({
      limiter: t.limiter,
      env: { DISTLIMITER_ADMIN_TOKEN: 'from-env', DISTLIMITER_ADMIN_READ_TOKEN: 'from-env-read' },
    });
    expect(
      (await send(admin, 'PUT', '/tiers/free', { body: { rate: '10/minute', burst: 23 }, token: 'from-env' }))
        .status,
    ).toBe(200);
    expect(
      (await send(admin, 'PUT', '/tiers/free', { body: { rate: '1/s' }, token: 'from-env-read' })).status,
    ).toBe(403);
    expect((await send(admin, 'GET', '/rules', { token: 'from-env-read' })).status).toBe(200);
    expect((await send(admin, 'GET', '/rules', { token: FULL })).status).toBe(401);
    await t.limiter.audit!.flush();
    await until(async () => {
      const events = (await t.send('GET', '/audit?since=0')).body.events;
      return events.some(
        (e: { token?: string; status?: number }) => e.token === 'env-read' && e.status === 403,
      );
    });
    const tokens = (await t.send('GET', '/audit?since=0')).body.events.map(
      (e: { token?: string }) => e.token,
    );
    expect(tokens).toEqual(expect.arrayContaining(['env', 'env-read']));
  });

  test('tokens: false turns authentication off, explicitly; writes are audited as "auth-off"', async () => {
    const t = await adminOn(kind, { tokens: false });
    expect((await t.send('GET', '/rules', { token: null })).status).toBe(200);
    expect(
      (await t.send('PUT', '/tiers/free', { token: null, body: { rate: '10/minute', burst: 21 } })).status,
    ).toBe(200);
    await t.limiter.audit!.flush();
    expect(
      await until(async () =>
        (await t.send('GET', '/audit?since=0')).body.events.some(
          (e: { token?: string }) => e.token === 'auth-off',
        ),
      ),
    ).toBe(true);
  });

  test('the admin API limits itself per client IP (IPv6 by /64): 429 with Retry-After, token or not', async () => {
    const t = await adminOn(kind, { rate: '3/minute' });
    const ip = '2001:db8:7:7::1';
    expect((await t.send('GET', '/rules', { ip })).status).toBe(200);
    expect((await t.send('GET', '/rules', { ip, token: 'guess' })).status).toBe(401);
    expect((await t.send('GET', '/rules', { ip: '2001:db8:7:7::2' })).status).toBe(200);
    const limited = await t.send('GET', '/rules', { ip: '2001:db8:7:7:ffff::9' });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('Too Many Requests');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.send('GET', '/rules', { ip: '198.51.100.20' })).status).toBe(200);
    // The probes are never limited and need no token.
    expect((await t.send('GET', '/livez', { ip, token: null })).status).toBe(200);
    expect((await t.send('GET', '/readyz', { ip, token: null })).status).toBe(200);
  });
});

describe('an AdminTarget that is not an HttpLimiter', () => {
  test('works through its members alone, the optional parts included', async () => {
    const backend = new MemoryBackend();
    const limiter = createHttpLimiter({ rate: '5/minute', backend });
    const audit = new FakeAudit();
    const protection = new FakeProtection(Date.now);
    const target: AdminTarget = {
      source: undefined,
      limiter: limiter.limiter,
      tierOfKey: () => undefined,
      peekIdentity: async () => [],
      resetIdentity: async () => {},
      health: () => undefined,
      statistics: { read: async () => ({ windows: {}, topLimited: [] }) },
      protection,
      audit,
    };
    const admin: AdminHandler = createAdminHandler({ limiter: target, tokens: TOKENS });
    expect((await send(admin, 'GET', '/stats')).body).toEqual({ windows: {}, topLimited: [] });
    const added = await send(admin, 'POST', '/blocks', { body: { ip: '203.0.113.50', durationSeconds: 30 } });
    expect(added.status).toBe(201);
    expect(protection.blocks.has('203.0.113.50')).toBe(true);
    expect(audit.records).toEqual([
      expect.objectContaining({
        type: 'adminWrite',
        token: 'ops',
        method: 'POST',
        path: '/blocks',
        status: 201,
      }),
    ]);
    expect((await send(admin, 'GET', '/rules')).status).toBe(501);
    await admin.close();
    expect((await send(admin, 'GET', '/health')).status).toBe(503);
  });
});
