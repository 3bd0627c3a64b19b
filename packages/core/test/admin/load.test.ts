import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { adminOn, type BackendKind, closeAll, closeFile, FULL, READ } from './support.js';

// The load state through the admin API (issue 13): POST /health sets it for the fleet, DELETE /health
// clears the operator's setting, GET /health shows it; writes need the full token and are audited.

afterEach(closeAll);
afterAll(closeFile);

const FREE = { 'x-api-key': 'demo_free_key_123' };

describe.each<BackendKind>(['memory', 'redis'])('admin load state on %s', (kind) => {
  test('POST /health DEGRADED governs the limiter; GET shows who and why; DELETE gives NORMAL back', async () => {
    const t = await adminOn(kind);
    const set = await t.send('POST', '/health', {
      token: FULL,
      body: { status: 'DEGRADED', reason: 'incident 42', expiresInSeconds: 600 },
    });
    expect(set.status).toBe(200);
    expect(set.body.load).toMatchObject({
      status: 'DEGRADED',
      source: 'operator',
      by: 'ops',
      reason: 'incident 42',
    });
    expect(t.limiter.loadStatus()).toBe('DEGRADED');
    const free = await t.limiter.handle({
      ip: '198.51.100.1',
      method: 'GET',
      path: '/x',
      header: (n) => FREE[n as 'x-api-key'],
    });
    expect(free.headers['X-RateLimit-Limit']).toBe('2');

    const seen = await t.send('GET', '/health', { token: READ });
    expect(seen.body.load).toMatchObject({
      status: 'DEGRADED',
      source: 'operator',
      by: 'ops',
      reason: 'incident 42',
    });
    expect(typeof seen.body.load.since).toBe('number');
    // A DEGRADED state never takes an instance out of its load balancer.
    expect((await t.send('GET', '/readyz')).status).toBe(200);

    const cleared = await t.send('DELETE', '/health', { token: FULL });
    expect(cleared.status).toBe(200);
    expect(cleared.body.load.status).toBe('NORMAL');
    expect(t.limiter.loadStatus()).toBe('NORMAL');
  });

  test('a read-only token cannot set it; a bad status or expiry is a 400 naming the field', async () => {
    const t = await adminOn(kind);
    expect((await t.send('POST', '/health', { token: READ, body: { status: 'DEGRADED' } })).status).toBe(403);
    const bad = await t.send('POST', '/health', { token: FULL, body: { status: 'degraded' } });
    expect(bad.status).toBe(400);
    expect(bad.body.problems[0].path).toBe('status');
    const expiry = await t.send('POST', '/health', {
      token: FULL,
      body: { status: 'NORMAL', expiresInSeconds: -1 },
    });
    expect(expiry.body.problems[0].path).toBe('expiresInSeconds');
    expect(t.limiter.loadStatus()).toBe('NORMAL');
  });
});
