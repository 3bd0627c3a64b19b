import { DEMO_CONFIG_FILE } from '@distlimiter/demo-support';
import { describeDemo, loopbackUrl } from '@distlimiter/testkit';
import { createApp } from '../src/app.js';

describeDemo('nest', {
  async start(options) {
    const app = await createApp(options);
    await app.listen(0, '127.0.0.1');
    return { url: loopbackUrl(app.getHttpServer()), close: () => app.close() };
  },
  main: new URL('../src/main.ts', import.meta.url),
  config: DEMO_CONFIG_FILE,
});
