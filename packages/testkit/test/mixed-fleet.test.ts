// A fleet of mixed frameworks (or one migrating between them) on one Redis: the same options give the
// same stored keys, so a client has one count whichever instance answers it.
import { afterEach, describe, expect, it } from 'vitest';
import { conformanceApp as expressApp } from '../../express/test/conformance-app.js';
import { express } from '../../express/test/reexports.js';
import { conformanceApp as fastifyApp } from '../../fastify/test/conformance-app.js';
import { conformanceApp as honoApp } from '../../hono/test/conformance-app.js';
import { conformanceApp as koaApp } from '../../koa/test/conformance-app.js';
import { Koa } from '../../koa/test/reexports.js';
import { conformanceApp as nestApp } from '../../nest/test/conformance-app.js';
import type { ConformanceApp, ConformanceOptions } from '../src/http-conformance.js';
import { rateHeaders, send } from '../src/http-client.js';
import { createHttpBackend, type HttpBackendFixture } from '../src/http-fixtures.js';

describe('a mixed fleet on one Redis', () => {
  let fixture: HttpBackendFixture | undefined;
  const apps: ConformanceApp[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await fixture?.dispose();
  });

  /** Express, Fastify, Hono, Koa and Nest, each running the standard app on one Redis and prefix. */
  async function fleet(): Promise<ConformanceApp[]> {
    fixture = await createHttpBackend('redis');
    const shared = { backend: fixture.backend, prefix: fixture.prefix };
    const options: ConformanceOptions = {
      global: { rate: '7/minute', ...shared },
      strict: { rate: '4/minute', ...shared },
    };
    for (const start of [expressApp(express), fastifyApp, honoApp, koaApp(Koa)])
      apps.push(await start(options));
    apps.push(await nestApp('express', options));
    return apps;
  }

  it('an app-wide limit with the same options is one count per client, whichever framework answers', async () => {
    const all = await fleet();
    const seen: [number, number | undefined][] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await send(all[i % all.length]!.url, '/hello');
      seen.push([reply.status, rateHeaders(reply).remaining]);
    }
    expect(seen.map(([status]) => status)).toEqual([...Array(7).fill(200), 429, 429, 429]);
    expect(seen.slice(0, 7).map(([, left]) => left)).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('a route-level limit with the same options is one count per client and route', async () => {
    const all = await fleet();
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await send(all[i % all.length]!.url, '/strict'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(replies.slice(0, 4).map((r) => rateHeaders(r))).toMatchObject([
      { limit: 4, remaining: 3 },
      { limit: 4, remaining: 2 },
      { limit: 4, remaining: 1 },
      { limit: 4, remaining: 0 },
    ]);
  });
});
