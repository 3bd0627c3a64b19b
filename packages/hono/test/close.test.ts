import { closedByTheApp, itStopsWatchingOnClose } from '@distlimiter/testkit';
import { Hono } from 'hono';
import { rateLimit } from '../src/index.js';

// Hono has no close hook, so the app calls limiter.close() itself.

itStopsWatchingOnClose('limiter.close() stops watching a config file path', async (file) => {
  const middleware = rateLimit({ config: file });
  const app = new Hono();
  app.use(middleware);
  app.get('/x', (c) => c.text('x'));
  return closedByTheApp(middleware.limiter, async () =>
    (await app.request('/x')).headers.get('x-ratelimit-limit'),
  );
});
