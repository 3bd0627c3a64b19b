import { closedByTheApp, itStopsWatchingOnClose, listenOn, OpenServers } from '@distlimiter/testkit';
import Koa from 'koa';
import { afterEach } from 'vitest';
import { rateLimit } from '../src/index.js';

// Koa has no close hook, so the app calls limiter.close() itself.

const servers = new OpenServers();
afterEach(() => servers.closeAll());

itStopsWatchingOnClose('limiter.close() stops watching a config file path', async (file) => {
  const middleware = rateLimit({ config: file });
  const app = new Koa();
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = 'x';
  });
  const url = await servers.add(listenOn(app.listen(0, '127.0.0.1')));
  return closedByTheApp(middleware.limiter, async () =>
    (await fetch(`${url}/x`)).headers.get('x-ratelimit-limit'),
  );
});
