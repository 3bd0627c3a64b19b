import { expect, test, vi } from 'vitest';
import { createHttpLimiter } from '../../src/http/index.js';
import { clocked, req } from './helpers.js';

// In its own file: the warning is once per process, and each test file runs in a fresh module graph.
test('a missing client IP warns once, explaining trust proxy', async () => {
  const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const a = createHttpLimiter({ rate: '5/minute', backend: clocked().backend });
  const b = createHttpLimiter({ rate: '5/minute', backend: clocked().backend });
  await a.handle(req({ ip: '198.51.100.1' }));
  expect(warn).not.toHaveBeenCalled();
  const outcome = await a.handle(req({ ip: undefined }));
  expect(outcome.allowed).toBe(true);
  expect(outcome.decision?.remaining).toBe(4);
  await a.handle(req({ ip: undefined }));
  await b.handle(req({ ip: undefined }));
  expect(warn).toHaveBeenCalledTimes(1);
  expect(String(warn.mock.calls[0]![0])).toMatch(/trust proxy/);
  expect(warn.mock.calls[0]![1]).toMatchObject({ code: 'DL_UNKNOWN_IP' });
  // Requests without an IP share the one "unknown-ip" bucket.
  expect((await a.handle(req({ ip: undefined }))).decision?.remaining).toBe(2);
});
