import { closedByTheApp, itStopsWatchingOnClose, listenOn, OpenServers } from '@distlimiter/testkit';
import express from 'express';
import { afterEach } from 'vitest';
import { rateLimit } from '../src/index.js';

// Express has no close hook, so the app calls limiter.close() itself.

const servers = new OpenServers();
afterEach(() => servers.closeAll());

itStopsWatchingOnClose('limiter.close() stops watching a config file path', async (file) => {
  const middleware = rateLimit({ config: file });
  const app = express();
  app.use(middleware);
  app.get('/x', (_req, res) => {
    res.send('x');
  });
  const url = await servers.add(listenOn(app.listen(0, '127.0.0.1')));
  return closedByTheApp(middleware.limiter, async () =>
    (await fetch(`${url}/x`)).headers.get('x-ratelimit-limit'),
  );
});
