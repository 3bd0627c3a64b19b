import { DEMO_CONFIG_FILE } from '@distlimiter/demo-support';
import { describeDemo, listenOn } from '@distlimiter/testkit';
import { createApp } from '../src/app.js';

describeDemo('express', {
  start: (options) => listenOn(createApp(options).listen(0, '127.0.0.1')),
  main: new URL('../src/main.ts', import.meta.url),
  config: DEMO_CONFIG_FILE,
});
