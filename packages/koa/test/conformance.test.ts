import Router from '@koa/router';
import { describeHttpConformance, listenOn } from '@distlimiter/testkit';
import Koa from 'koa';
import { rateLimit } from '../src/index.js';

describeHttpConformance('koa', async ({ global, strict }) => {
  const app = new Koa(); // proxy stays false: the suite needs the socket address as the client IP
  const router = new Router();
  router.get('/hello', (ctx) => {
    ctx.body = 'hello';
  });
  router.post('/hello', (ctx) => {
    ctx.body = 'posted';
  });
  router.get('/health', (ctx) => {
    ctx.body = 'ok';
  });
  router.get('/strict', rateLimit(strict), (ctx) => {
    ctx.body = 'strict';
  });
  app.use(rateLimit(global));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return listenOn(app.listen(0, '127.0.0.1'));
});
