import { header, InvalidOptionError, MemoryBackend } from '@distlimiter/core';
import { loopbackUrl, statuses } from '@distlimiter/testkit';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import distlimiter, { distlimiter as named } from '../src/index.js';

const apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function create(options?: FastifyServerOptions): FastifyInstance {
  const app = Fastify(options);
  apps.push(app);
  return app;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return loopbackUrl(app.server);
}

describe('@distlimiter/fastify', () => {
  it('exports the same plugin as default and as `distlimiter`', () => {
    expect(named).toBe(distlimiter);
  });

  it('refuses with JSON and the limit headers, without running the handler', async () => {
    const app = create();
    let calls = 0;
    await app.register(distlimiter, { rate: '2/minute', headers: 'legacy' });
    app.get('/x', async () => {
      calls++;
      return 'x';
    });
    const url = await listen(app);
    expect(await statuses(`${url}/x`, 2)).toEqual([200, 200]);
    const refused = await fetch(`${url}/x`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(await refused.json()).toBeTypeOf('object');
    expect(calls).toBe(2);
  });

  it('sets the limit headers on allowed responses too', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '5/minute', headers: 'legacy' });
    app.get('/x', async () => 'x');
    const res = await fetch(`${await listen(app)}/x`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('leaves a route with `rateLimit: false` alone', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '1/minute', headers: 'legacy' });
    app.get('/free', { config: { rateLimit: false } }, async () => 'free');
    const url = await listen(app);
    expect(await statuses(`${url}/free`, 3)).toEqual([200, 200, 200]);
    const res = await fetch(`${url}/free`);
    expect(res.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('gives a route with a rate string its own count, apart from the plugin and from other routes', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '1/minute' });
    app.get('/a', { config: { rateLimit: '2/minute' } }, async () => 'a');
    app.get('/b', { config: { rateLimit: '2/minute' } }, async () => 'b');
    app.get('/plain', async () => 'plain');
    const url = await listen(app);
    expect(await statuses(`${url}/plain`, 2)).toEqual([200, 429]);
    expect(await statuses(`${url}/a`, 3)).toEqual([200, 200, 429]);
    expect(await statuses(`${url}/b`, 3)).toEqual([200, 200, 429]);
  });

  it('counts the HEAD twin of a GET route with the GET route', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '10/minute' });
    app.get('/a', { config: { rateLimit: '2/minute' } }, async () => 'a');
    const url = await listen(app);
    expect(await statuses(`${url}/a`, 1, { method: 'HEAD' })).toEqual([200]);
    expect(await statuses(`${url}/a`, 2)).toEqual([200, 429]);
  });

  it('takes per-route options, keeping the plugin backend and response options', async () => {
    const backend = new MemoryBackend();
    const app = create();
    await app.register(distlimiter, { backend, rate: '100/minute', statusCode: 503 });
    app.get(
      '/keyed',
      { config: { rateLimit: { rate: '1/minute', keyBy: header('x-api-key') } } },
      async () => 'k',
    );
    const url = await listen(app);
    const as = (key: string) => ({ headers: { 'x-api-key': key } });
    expect(await statuses(`${url}/keyed`, 2, as('alice'))).toEqual([200, 503]);
    expect(await statuses(`${url}/keyed`, 1, as('bob'))).toEqual([200]);
    expect(backend.size).toBeGreaterThan(0);
  });

  it('with `global: false` limits only the routes that ask for it', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '1/minute', global: false });
    app.get('/open', async () => 'open');
    app.get('/shared', { config: { rateLimit: true } }, async () => 'shared');
    app.get('/own', { config: { rateLimit: '2/minute' } }, async () => 'own');
    const url = await listen(app);
    expect(await statuses(`${url}/open`, 3)).toEqual([200, 200, 200]);
    expect(await statuses(`${url}/shared`, 2)).toEqual([200, 429]);
    expect(await statuses(`${url}/own`, 3)).toEqual([200, 200, 429]);
  });

  it('limits only the routes of the context it is registered in', async () => {
    const app = create();
    app.get('/root', async () => 'root');
    await app.register(async (child) => {
      await child.register(distlimiter, { rate: '1/minute' });
      child.get('/limited', async () => 'limited');
      await child.register(async (grandchild) => {
        grandchild.get('/nested', async () => 'nested');
      });
    });
    await app.register(async (sibling) => {
      sibling.get('/sibling', async () => 'sibling');
    });
    app.get('/after', async () => 'after');
    const url = await listen(app);
    expect(await statuses(`${url}/limited`, 2)).toEqual([200, 429]);
    // Same plugin count, inherited by the nested context.
    expect(await statuses(`${url}/nested`, 1)).toEqual([429]);
    for (const path of ['/root', '/sibling', '/after']) {
      expect(await statuses(`${url}${path}`, 3)).toEqual([200, 200, 200]);
    }
  });

  it('rejects bad plugin options at ready() with InvalidOptionError', async () => {
    const app = create();
    app.register(distlimiter, { rate: 'lots' });
    await expect(app.ready()).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('rejects a non-boolean `global` naming the field', async () => {
    const app = create();
    app.register(distlimiter, { global: 'yes' as unknown as boolean });
    await expect(app.ready()).rejects.toMatchObject({ field: 'global', value: 'yes' });
  });

  it('rejects a bad route config when the route is registered', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '5/minute' });
    expect(() => app.get('/bad', { config: { rateLimit: 42 as never } }, async () => 'bad')).toThrow(
      expect.objectContaining({ field: 'config.rateLimit of GET /bad', value: 42 }),
    );
    expect(() =>
      app.get('/typo', { config: { rateLimit: { rat: '5/minute' } as never } }, async () => 't'),
    ).toThrow(InvalidOptionError);
  });

  it('keys by request.ip, so X-Forwarded-For is ignored unless trustProxy is on', async () => {
    const forwardedFor = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

    const direct = create();
    await direct.register(distlimiter, { rate: '1/minute' });
    direct.get('/x', async () => 'x');
    const directUrl = await listen(direct);
    expect(await statuses(`${directUrl}/x`, 1, forwardedFor('203.0.113.1'))).toEqual([200]);
    expect(await statuses(`${directUrl}/x`, 1, forwardedFor('203.0.113.2'))).toEqual([429]);

    const proxied = create({ trustProxy: true });
    await proxied.register(distlimiter, { rate: '1/minute' });
    proxied.get('/x', async (request) => request.ip);
    const proxiedUrl = await listen(proxied);
    expect(await statuses(`${proxiedUrl}/x`, 2, forwardedFor('203.0.113.1'))).toEqual([200, 429]);
    expect(await statuses(`${proxiedUrl}/x`, 1, forwardedFor('203.0.113.2'))).toEqual([200]);
  });

  it('runs after the route’s own onRequest hooks, which may set what the key uses', async () => {
    const app = create();
    await app.register(distlimiter, { rate: '1/minute', keyBy: (req) => req.header('x-user') });
    app.get(
      '/me',
      {
        onRequest: async (request) => {
          request.headers['x-user'] = (request.query as { u: string }).u;
        },
      },
      async () => 'me',
    );
    const url = await listen(app);
    expect(await statuses(`${url}/me?u=ann`, 2)).toEqual([200, 429]);
    expect(await statuses(`${url}/me?u=ben`, 1)).toEqual([200]);
  });
});
