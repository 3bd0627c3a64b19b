import type { Server } from 'node:http';
import { DEMO_CONFIG_FILE } from '@distlimiter/demo-support';
import { describeDemo, listenOn } from '@distlimiter/testkit';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.js';

describeDemo('hono', {
  // Without createServer options @hono/node-server makes a plain node:http Server.
  start: (options) =>
    listenOn(serve({ fetch: createApp(options).fetch, port: 0, hostname: '127.0.0.1' }) as Server),
  main: new URL('../src/main.ts', import.meta.url),
  config: DEMO_CONFIG_FILE,
});
