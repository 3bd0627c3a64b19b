import { afterEach, describe, expect, test, vi } from 'vitest';
import { header, type HttpLimitOptions, type HttpRequest, InvalidKeyError, ip } from '../../src/index.js';
import { createHttpLimiter, MAX_RAW_KEY_LENGTH } from '../../src/http/index.js';
import { clocked, optionError, req } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function limiter(options: HttpLimitOptions = {}) {
  return createHttpLimiter({ rate: '2/minute', backend: clocked().backend, ...options });
}

/** Sends `r` until refused and returns how many were allowed (bounded, so a bug cannot loop forever). */
async function allowedCount(l: ReturnType<typeof limiter>, r: HttpRequest): Promise<number> {
  let n = 0;
  while (n < 10 && (await l.handle(r)).allowed) n++;
  return n;
}

describe('keys by client IP (default)', () => {
  test('prefixes the IP source', async () => {
    const l = limiter();
    expect(await l.keyFor(req({ ip: '198.51.100.1' }))).toBe('ip:198.51.100.1');
    expect(await l.keyFor(req({ ip: '2001:db8:1:2:3:4:5:6' }))).toBe('ip:2001:db8:1:2::/64');
  });

  test('addresses in one IPv6 /64 share a bucket; another /64 has its own', async () => {
    const l = limiter();
    expect((await l.handle(req({ ip: '2001:db8:1:2::1' }))).allowed).toBe(true);
    expect((await l.handle(req({ ip: '2001:DB8:1:2:ffff:ffff:ffff:ffff' }))).allowed).toBe(true);
    expect((await l.handle(req({ ip: '2001:db8:1:2::99%eth0' }))).allowed).toBe(false);
    expect((await l.handle(req({ ip: '2001:db8:1:3::1' }))).allowed).toBe(true);
  });

  test('an IPv4-mapped IPv6 address counts as the IPv4 client', async () => {
    const l = limiter();
    expect((await l.handle(req({ ip: '192.0.2.1' }))).allowed).toBe(true);
    expect((await l.handle(req({ ip: '::ffff:192.0.2.1' }))).allowed).toBe(true);
    expect((await l.handle(req({ ip: '::ffff:c000:201' }))).allowed).toBe(false);
  });

  test('ip({ ipv6Subnet }) changes the grouping', async () => {
    const l = limiter({ keyBy: ip({ ipv6Subnet: 128 }) });
    expect(await l.keyFor(req({ ip: '2001:db8::1' }))).toBe('ip:2001:db8::1');
    expect(await allowedCount(l, req({ ip: '2001:db8::1' }))).toBe(2);
    expect(await allowedCount(l, req({ ip: '2001:db8::2' }))).toBe(2);
  });
});

describe('keys by header', () => {
  test('uses the header value under its own prefix', async () => {
    const l = limiter({ keyBy: header('X-API-Key') });
    const r = req({ headers: { 'x-api-key': 'abc' } });
    expect(await l.keyFor(r)).toBe('h:abc');
    expect(await allowedCount(l, r)).toBe(2);
    // Same key from another IP shares the bucket...
    expect((await l.handle(req({ ip: '198.51.100.2', headers: { 'x-api-key': 'abc' } }))).allowed).toBe(
      false,
    );
    // ...another key does not.
    expect((await l.handle(req({ headers: { 'x-api-key': 'xyz' } }))).allowed).toBe(true);
  });

  test('an absent or empty header falls back to the client IP, never to a shared bucket', async () => {
    const l = limiter({ keyBy: header('x-api-key') });
    expect(await l.keyFor(req({ ip: '198.51.100.3' }))).toBe('ip:198.51.100.3');
    expect(await l.keyFor(req({ ip: '198.51.100.3', headers: { 'x-api-key': '' } }))).toBe('ip:198.51.100.3');
    expect(await allowedCount(l, req({ ip: '198.51.100.3' }))).toBe(2);
    expect((await l.handle(req({ ip: '198.51.100.4' }))).allowed).toBe(true);
  });

  test('a header value equal to an IP never shares the IP bucket', async () => {
    const l = limiter({ keyBy: header('x-api-key') });
    expect(await allowedCount(l, req({ ip: '198.51.100.5' }))).toBe(2);
    expect(
      (await l.handle(req({ ip: '198.51.100.6', headers: { 'x-api-key': '198.51.100.5' } }))).allowed,
    ).toBe(true);
  });

  test('long values are hashed and still told apart', async () => {
    const l = limiter({ keyBy: header('authorization') });
    const long1 = `Bearer ${'a'.repeat(5000)}`;
    const long2 = `Bearer ${'a'.repeat(4999)}b`;
    const key = await l.keyFor(req({ headers: { authorization: long1 } }));
    expect(key).toMatch(/^h#[0-9a-f]{64}$/);
    expect(await allowedCount(l, req({ headers: { authorization: long1 } }))).toBe(2);
    expect((await l.handle(req({ headers: { authorization: long2 } }))).allowed).toBe(true);
    const edge = 'x'.repeat(MAX_RAW_KEY_LENGTH);
    expect(await l.keyFor(req({ headers: { authorization: edge } }))).toBe(`h:${edge}`);
  });

  test('multi-byte values near the length limit stay under the 1 KiB key limit', async () => {
    const l = limiter({ keyBy: header('x-user') });
    const r = req({ headers: { 'x-user': '€'.repeat(MAX_RAW_KEY_LENGTH) } });
    const outcome = await l.handle(r);
    expect(outcome.error).toBeUndefined();
    expect(outcome.decision?.allowed).toBe(true);
  });

  test.each(['', '   ', undefined, 5])('header(%j) throws at call time', (name) => {
    optionError(() => header(name as string), 'header');
  });
});

describe('keys by a function', () => {
  test('sync and async results are prefixed "k:" and do not collide with IPs', async () => {
    const sync = limiter({ keyBy: (r) => r.header('x-user') });
    const r = req({ ip: '198.51.100.7', headers: { 'x-user': '198.51.100.7' } });
    expect(await sync.keyFor(r)).toBe('k:198.51.100.7');
    const asyncL = limiter({ keyBy: async (r) => `user-${r.header('x-user')}` });
    expect(await asyncL.keyFor(r)).toBe('k:user-198.51.100.7');
  });

  test.each([
    ['undefined', () => undefined],
    ['empty string', () => ''],
    ['async undefined', async () => undefined],
    ['null', () => null as unknown as string],
  ])('%s falls back to the IP silently', async (_, keyBy) => {
    const l = limiter({ keyBy });
    const seen = vi.fn();
    l.on('configError', seen);
    expect(await l.keyFor(req({ ip: '198.51.100.8' }))).toBe('ip:198.51.100.8');
    expect(seen).not.toHaveBeenCalled();
  });

  test('a non-string result falls back to the IP and is reported', async () => {
    const l = limiter({ keyBy: () => 42 as unknown as string });
    const seen = vi.fn();
    l.on('configError', seen);
    const r = req({ ip: '198.51.100.9' });
    expect(await l.keyFor(r)).toBe('ip:198.51.100.9');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen.mock.calls[0]![0]).toBeInstanceOf(InvalidKeyError);
    expect(seen.mock.calls[0]![1]).toBe(r);
  });

  test.each([
    ['sync', () => '\uD800'],
    ['async', async () => 'user-\uDFFF'],
  ])('a %s key with an unpaired surrogate is reported and counted by IP', async (_, keyBy) => {
    const l = limiter({ keyBy });
    const seen = vi.fn();
    l.on('configError', seen);
    const r = req({ ip: '198.51.100.11' });
    expect(await l.keyFor(r)).toBe('ip:198.51.100.11');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen.mock.calls[0]![0]).toBeInstanceOf(InvalidKeyError);
    expect(String(seen.mock.calls[0]![0].message)).toContain('well-formed UTF-16 (no unpaired surrogates)');
    expect(seen.mock.calls[0]![1]).toBe(r);
    // The request is answered, not failed: the IP's own allowance of 2 is spent, then it is refused.
    expect(await allowedCount(l, r)).toBe(2);
    expect(await allowedCount(l, req({ ip: '198.51.100.12' }))).toBe(2);
  });

  test('a throwing or rejecting key function falls back to the IP and is reported', async () => {
    for (const keyBy of [
      () => {
        throw new Error('boom');
      },
      async () => {
        throw new Error('boom');
      },
    ]) {
      const l = limiter({ keyBy });
      const seen = vi.fn();
      l.on('configError', seen);
      const outcome = await l.handle(req({ ip: '198.51.100.10' }));
      expect(outcome.allowed).toBe(true);
      expect(outcome.decision?.remaining).toBe(1);
      expect(await l.keyFor(req({ ip: '198.51.100.10' }))).toBe('ip:198.51.100.10');
      expect(seen.mock.calls[0]![0]).toMatchObject({ message: 'boom' });
    }
  });

  test('without a configError listener, a misbehaving callback warns once per callback', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const l = limiter({ keyBy: () => 7 as unknown as string, cost: () => 0 });
    await l.handle(req());
    await l.handle(req());
    await l.derive('5/minute', 'child').handle(req());
    expect(warn).toHaveBeenCalledTimes(2);
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.some((m) => m.includes('keyBy'))).toBe(true);
    expect(messages.some((m) => m.includes('cost'))).toBe(true);
    expect(warn.mock.calls[0]![1]).toMatchObject({ code: 'DL_CONFIG_ERROR' });
  });
});

describe('unknown IP', () => {
  test('a request with no key and no IP uses the literal key "unknown-ip"', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const l = limiter({ keyBy: header('x-api-key') });
    expect(await l.keyFor(req({ ip: undefined }))).toBe('unknown-ip');
    expect(await l.keyFor(req({ ip: '' }))).toBe('unknown-ip');
    expect(await l.derive('1/s', 'a').keyFor(req({ ip: undefined }))).toBe('unknown-ip');
  });
});
