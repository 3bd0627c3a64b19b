import { HttpLimiter } from '@distlimiter/core';
import { itStopsWatchingOnClose } from '@distlimiter/testkit';
import Fastify from 'fastify';
import { afterEach, expect, vi } from 'vitest';
import distlimiter from '../src/index.js';

// The plugin's limiter is closed by app.close() (onClose): the limiter closed is the one that was spied on.

afterEach(() => vi.restoreAllMocks());

itStopsWatchingOnClose(
  'app.close() closes the limiter, which stops watching a config file path',
  async (file) => {
    const close = vi.spyOn(HttpLimiter.prototype, 'close');
    const app = Fastify();
    await app.register(distlimiter, { config: file });
    app.get('/x', async () => 'x');
    return {
      limit: async () => (await app.inject('/x')).headers['x-ratelimit-limit'] as string | undefined,
      close: async () => {
        await app.close();
        expect(close).toHaveBeenCalledTimes(1);
        return close.mock.contexts[0] as HttpLimiter;
      },
    };
  },
);
