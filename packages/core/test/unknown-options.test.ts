import { describe, expect, test } from 'vitest';
import { fixedWindow, MemoryBackend, RateLimiter, RedisBackend } from '../src/index.js';
import { thrown } from './support/thrown.js';

describe('unknown options are refused with a suggestion, like the HTTP options', () => {
  test('RateLimiter', () => {
    const e = thrown(() => new RateLimiter({ algorithm: fixedWindow('1/s'), timeout: 10 } as never));
    expect(e.field).toBe('timeout');
    expect(e.code).toBe('ERR_DL_OPTION');
    expect(e.message).toContain('did you mean "timeoutMs"');
    expect(e.message).toContain('known options: algorithm, backend, prefix, timeoutMs');
    expect(
      thrown(() => new RateLimiter({ algorithm: fixedWindow('1/s'), Prefix: 'x' } as never)).message,
    ).toContain('did you mean "prefix"');
    expect(thrown(() => new RateLimiter(null as never)).field).toBe('RateLimiter options');
  });

  test('MemoryBackend', () => {
    const e = thrown(() => new MemoryBackend({ maxkeys: 10 } as never));
    expect(e.field).toBe('maxkeys');
    expect(e.message).toContain('did you mean "maxKeys"');
    expect(thrown(() => new MemoryBackend({ zzzzzz: 1 } as never)).message).not.toContain('did you mean');
    expect(() => new MemoryBackend({ maxKeys: 5, clock: () => 0 })).not.toThrow();
  });

  test('RedisBackend', () => {
    const e = thrown(() => new RedisBackend({ client: 'redis://127.0.0.1:1', clok: () => 0 } as never));
    expect(e.field).toBe('clok');
    expect(e.message).toContain('did you mean "clock"');
    expect(thrown(() => new RedisBackend({ url: 'redis://x' } as never)).message).toContain(
      'known options: client, timeoutMs, breaker, instances, heartbeatMs, heartbeatKey, ownConnection, denyCache, clock',
    );
  });

  test('a malformed Redis URL is quoted in the error without its password', () => {
    for (const url of ['http://:hunter2@redis.internal:6379', 'user:hunter2@redis.internal:6379']) {
      const e = thrown(() => new RedisBackend({ client: url }));
      expect(e.field).toBe('client');
      expect(e.message).not.toContain('hunter2');
      expect(e.message).toContain('redis.internal');
    }
  });
});
