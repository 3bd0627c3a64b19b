import { describeHttpConformance } from '@distlimiter/testkit';
import { Hono } from 'hono';
import { rateLimiter } from '../src/index.js';
import { listen } from './listen.js';

describeHttpConformance('hono', async ({ global, strict }) => {
  const app = new Hono();
  app.use('*', rateLimiter(global));
  app.get('/hello', (c) => c.text('hello'));
  app.post('/hello', (c) => c.text('posted'));
  app.get('/health', (c) => c.text('ok'));
  app.get('/strict', rateLimiter(strict), (c) => c.text('strict'));
  return listen(app);
});
