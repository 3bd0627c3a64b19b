import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createAdminHandler } from '../../src/admin/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { RedisBackend } from '../../src/index.js';
import { createConfigSource } from '../../src/policy/source/config-source.js';
import { freePort } from '../../../testkit/src/redis-server.js';
import { issueDocument } from '../support/config-document.js';
import { stateKeys } from '../support/testkit.js';
import {
  adminOn,
  type BackendKind,
  closeAll,
  closeFile,
  READ,
  redis,
  send,
  TOKENS,
  until,
} from './support.js';

// Health for operators, the self-test, and the open probes: readiness follows the configuration only, so a
// failing backend never takes an instance out of its load balancer.

afterEach(closeAll);
afterAll(closeFile);

describe.each<BackendKind>(['memory', 'redis'])('admin health on %s', (kind) => {
  test('GET /health: backend kind, mode, breaker and latency; the configuration version, not stale', async () => {
    const t = await adminOn(kind);
    const r = await t.send('GET', '/health', { token: READ });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
    expect(r.body.config).toEqual({
      version: t.limiter.source!.current().version,
      overlay: kind === 'memory' ? 'local' : 'redis',
      overlayVersion: null,
      ready: true,
      stale: false,
      lastError: null,
    });
    if (kind === 'memory') {
      expect(r.body.backend).toEqual({ kind: 'memory', mode: 'memory', breaker: null, latencyMs: null });
    } else {
      expect(r.body.backend).toMatchObject({
        kind: 'redis',
        mode: 'redis',
        breaker: { state: 'closed', consecutiveFailures: 0, lastError: null },
        latencyMs: { p50: expect.any(Number), p99: expect.any(Number), samples: expect.any(Number) },
        connected: true,
      });
    }
  });

  test('POST /selftest: a decision round trip on a scratch key, stored and read back', async () => {
    const t = await adminOn(kind);
    const r = await t.send('POST', '/selftest');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ok: true,
      latencyMs: expect.any(Number),
      decision: { allowed: true, limit: 1, remaining: 0 },
      readBack: { allowed: false },
    });
    // Again: the scratch key is new each time, and forgotten after.
    expect((await t.send('POST', '/selftest')).body.ok).toBe(true);
    if (kind === 'redis') {
      const left = await redis().keys(`${t.prefix}:{selftest:*`);
      expect(stateKeys(left)).toEqual([]);
    }
  });

  test('GET /livez and /readyz answer without a token; readyz gives the configuration version', async () => {
    const t = await adminOn(kind);
    const live = await t.send('GET', '/livez', { token: null });
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'live' });
    const ready = await t.send('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', version: t.limiter.source!.current().version });
    const head = await t.admin.fetch(new Request('http://x/readyz', { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('admin health, when things go wrong', () => {
  test('a rejected overlay makes the configuration stale: health says degraded, with every problem', async () => {
    const t = await adminOn('redis');
    const rejected: unknown[] = [];
    t.limiter.on('configRejected', (error) => rejected.push(error));
    await redis().hset(`{${t.prefix}:config}:overlay`, 'tiers.free', JSON.stringify({ rate: '10/minnute' }));
    await redis().incr(`{${t.prefix}:config}:version`);
    expect(await until(async () => (await t.send('GET', '/health')).body.config.stale === true)).toBe(true);
    const r = await t.send('GET', '/health');
    expect(r.body.status).toBe('degraded');
    expect(r.body.config.lastError).toMatchObject({
      message: expect.stringMatching(/10\/minnute/),
      at: expect.any(String),
      problems: [expect.objectContaining({ path: 'tiers.free.rate' })],
    });
    // Still ready: the last good configuration is in force.
    expect((await t.send('GET', '/readyz', { token: null })).status).toBe(200);
    expect(rejected.length).toBeGreaterThan(0);
    // Removing the rejected entry repairs it.
    expect((await t.send('DELETE', '/tiers/free')).status).toBe(200);
    expect((await t.send('GET', '/health')).body).toMatchObject({ status: 'ok', config: { stale: false } });
  });

  test('a backend that is down: selftest 503, health degraded once the breaker opens, readyz still 200', async () => {
    const port = await freePort();
    const backend = new RedisBackend({ client: `redis://127.0.0.1:${port}`, timeoutMs: 200 });
    const source = createConfigSource({ document: issueDocument() as never, localOverlay: true });
    const limiter = createHttpLimiter({ config: source, backend, prefix: 'down', onBackendError: 'allow' });
    const admin = createAdminHandler({ limiter, tokens: TOKENS });
    try {
      const test = await send(admin, 'POST', '/selftest');
      expect(test.status).toBe(503);
      expect(test.body).toMatchObject({ ok: false, message: expect.stringMatching(/backend failed/) });
      for (let i = 0; i < 10; i++) await limiter.handle(new RequestLike().value);
      const health = await send(admin, 'GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.backend).toMatchObject({ kind: 'redis', connected: false });
      expect(
        await until(
          async () => (await send(admin, 'GET', '/health')).body.backend.breaker.state !== 'closed',
        ),
      ).toBe(true);
      expect((await send(admin, 'GET', '/health')).body.status).toBe('degraded');
      expect((await send(admin, 'GET', '/readyz', { token: null })).status).toBe(200);
      // The admin API still answers what does not need the backend.
      expect((await send(admin, 'GET', '/rules')).status).toBe(200);
    } finally {
      await admin.close();
      await limiter.close();
      await source.close();
      await backend.close();
    }
  });
});

// A minimal HttpRequest for the limiter.
class RequestLike {
  readonly value = {
    ip: '198.51.100.200',
    method: 'GET',
    path: '/',
    routeId: undefined,
    header: () => undefined,
  };
}
