import { afterEach, describe, expect, test, vi } from 'vitest';
import { MemoryBackend } from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { req } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function sharedCountWarnings(spy: { mock: { calls: unknown[][] } }): unknown[][] {
  return spy.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === 'DL_SHARED_COUNT');
}

describe('limiters counting app-wide under the same keys', () => {
  test('warn once when their rates differ, since each would spend the other allowance', async () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const backend = new MemoryBackend();
    const a = createHttpLimiter({ rate: '100/minute', backend, prefix: 'warn-a' });
    const b = createHttpLimiter({ rate: '10/second', backend, prefix: 'warn-a' });
    await a.handle(req());
    expect(sharedCountWarnings(spy)).toHaveLength(0);
    await b.handle(req());
    await b.handle(req());
    const warnings = sharedCountWarnings(spy);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]![0])).toContain('warn-a:sw');
  });

  test('stay silent for the same rate, another prefix, another backend, a scope or a route', async () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const backend = new MemoryBackend();
    const base = { rate: '100/minute', backend, prefix: 'warn-b' };
    await createHttpLimiter(base).handle(req());
    await createHttpLimiter(base).handle(req());
    await createHttpLimiter({ ...base, rate: '5/minute', prefix: 'warn-c' }).handle(req());
    await createHttpLimiter({ ...base, rate: '5/minute', backend: new MemoryBackend() }).handle(req());
    await createHttpLimiter({ ...base, rate: '5/minute', scope: 'login' }).handle(req());
    await createHttpLimiter({ ...base, rate: '5/minute' }).handle(req({ method: 'POST', routeId: '/login' }));
    expect(sharedCountWarnings(spy)).toHaveLength(0);
  });
});
