import { describeHttpConformance, listenOn } from '@distlimiter/testkit';
import express from 'express';
import { rateLimit } from '../src/index.js';

describeHttpConformance('express', async ({ global, strict }) => {
  const app = express(); // trust proxy stays off: the suite needs the socket address as the client IP
  app.use(rateLimit(global));
  app.get('/hello', (_req, res) => {
    res.send('hello');
  });
  app.post('/hello', (_req, res) => {
    res.send('posted');
  });
  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  app.get('/strict', rateLimit(strict), (_req, res) => {
    res.send('strict');
  });
  return listenOn(app.listen(0, '127.0.0.1'));
});
