import type { Server } from 'node:http';
import { InvalidOptionError } from '@distlimiter/core';
import { listenOn, OpenServers, statuses } from '@distlimiter/testkit';
import { serve as nodeServe } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimiter } from '../src/index.js';

const servers = new OpenServers();
afterEach(() => servers.closeAll());

// Without createServer options @hono/node-server makes a plain node:http Server.
const serve = (app: Hono) =>
  servers.add(listenOn(nodeServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server));

describe('@distlimiter/hono', () => {
  it('refuses with JSON and the limit headers, without running the handler', async () => {
    const app = new Hono();
    let calls = 0;
    app.use('*', rateLimiter({ rate: '2/minute', headers: 'legacy' }));
    app.get('/x', (c) => {
      calls++;
      return c.text('x');
    });
    const url = await serve(app);
    expect(await statuses(`${url}/x`, 2)).toEqual([200, 200]);
    const refused = await fetch(`${url}/x`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(await refused.json()).toBeTypeOf('object');
    expect(calls).toBe(2);
  });

  it('keeps the limit headers whether the handler uses c.text, c.json or returns a bare Response', async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '5/minute', headers: 'legacy' }));
    app.get('/text', (c) => c.text('text'));
    app.get('/json', (c) => c.json({ ok: true }));
    app.get('/bare', () => new Response('bare', { headers: { 'x-own': 'kept' } }));
    const url = await serve(app);
    for (const path of ['/text', '/json', '/bare']) {
      const res = await fetch(`${url}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-ratelimit-limit'), path).toBe('5');
    }
    const bare = await fetch(`${url}/bare`);
    expect(await bare.text()).toBe('bare');
    expect(bare.headers.get('x-own')).toBe('kept');
    expect(bare.headers.get('x-ratelimit-remaining')).toBe('1');
  });

  it('merges its headers into the head however the response is written, the response winning a clash', async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '5/minute', headers: 'both' }));
    app.get('/own', (c) => {
      c.header('X-RateLimit-Limit', 'mine');
      c.header('ratelimit', 'also mine');
      return c.text('own');
    });
    app.get('/status', (c) => c.text('made', 201, { 'x-own': 'kept' }));
    // Two cookies reach Node as one header with an array value, which must still become two fields.
    app.get('/cookies', (c) => {
      c.header('Set-Cookie', 'a=1', { append: true });
      c.header('Set-Cookie', 'b=2', { append: true });
      return c.text('cookies');
    });
    app.get('/stream', (c) =>
      c.body(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('streamed'));
            controller.close();
          },
        }),
      ),
    );
    // A handler answering through the Node response itself, with a status message and a raw header array.
    app.get('/raw', (c) => {
      const outgoing = (c.env as { outgoing: import('node:http').ServerResponse }).outgoing;
      outgoing.writeHead(202, 'Taken', ['x-raw', 'yes']);
      outgoing.end('raw');
      return RESPONSE_ALREADY_SENT;
    });
    const url = await serve(app);

    const own = await fetch(`${url}/own`);
    expect(await own.text()).toBe('own');
    // One field, the handler's: a duplicate would arrive joined as "mine, 5".
    expect(own.headers.get('x-ratelimit-limit')).toBe('mine');
    expect(own.headers.get('ratelimit')).toBe('also mine');
    expect(own.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(own.headers.get('ratelimit-policy')).toBe('"default";q=5;w=60');

    const made = await fetch(`${url}/status`);
    expect([made.status, await made.text(), made.headers.get('x-own')]).toEqual([201, 'made', 'kept']);
    expect(made.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(made.headers.get('x-ratelimit-remaining')).toBe('3');

    const cookies = await fetch(`${url}/cookies`);
    expect(await cookies.text()).toBe('cookies');
    expect(cookies.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(cookies.headers.get('x-ratelimit-remaining')).toBe('2');

    const streamed = await fetch(`${url}/stream`);
    expect(await streamed.text()).toBe('streamed');
    expect(streamed.headers.get('ratelimit')).toMatch(/^"default";r=1;t=\d+$/);

    const raw = await fetch(`${url}/raw`);
    expect([raw.status, raw.statusText, await raw.text()]).toEqual([202, 'Taken', 'raw']);
    expect(raw.headers.get('x-raw')).toBe('yes');
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it("sends the route limiter's headers over the app-wide one's, and the union of both", async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '10/minute', headers: 'legacy' }));
    app.get('/r', rateLimiter({ rate: '3/minute', headers: 'both' }), (c) => c.text('r'));
    const url = await serve(app);
    const res = await fetch(`${url}/r`);
    expect(await res.text()).toBe('r');
    expect(res.headers.get('x-ratelimit-limit')).toBe('3');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(res.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
  });

  it('limits a single route when used as route middleware, counted apart from the app-wide one', async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '10/minute' }));
    app.post('/login', rateLimiter({ rate: '2/minute' }), (c) => c.text('welcome'));
    app.get('/other', (c) => c.text('other'));
    const url = await serve(app);
    expect(await statuses(`${url}/login`, 3, { method: 'POST' })).toEqual([200, 200, 429]);
    expect(await statuses(`${url}/other`, 2)).toEqual([200, 200]);
  });

  it('keys by the socket address by default and ignores X-Forwarded-For', async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '1/minute' }));
    app.get('/x', (c) => c.text('x'));
    const url = await serve(app);
    expect(await statuses(`${url}/x`, 1, { headers: { 'x-forwarded-for': '203.0.113.1' } })).toEqual([200]);
    expect(await statuses(`${url}/x`, 1, { headers: { 'x-forwarded-for': '203.0.113.2' } })).toEqual([429]);
  });

  it('hands the socket address to keyBy as the request ip', async () => {
    const seen: (string | undefined)[] = [];
    const app = new Hono();
    app.use(
      '*',
      rateLimiter({
        keyBy: (req) => {
          seen.push(req.ip);
          return undefined;
        },
      }),
    );
    app.get('/x', (c) => c.text('x'));
    await statuses(`${await serve(app)}/x`, 1);
    expect(seen).toEqual(['127.0.0.1']);
  });

  it('takes the client IP from a custom getIp', async () => {
    const app = new Hono();
    app.use('*', rateLimiter({ rate: '1/minute', getIp: (c) => c.req.header('x-real-ip') }));
    app.get('/x', (c) => c.text('x'));
    const url = await serve(app);
    const from = (ip: string) => ({ headers: { 'x-real-ip': ip } });
    expect(await statuses(`${url}/x`, 2, from('198.51.100.1'))).toEqual([200, 429]);
    expect(await statuses(`${url}/x`, 1, from('198.51.100.2'))).toEqual([200]);
  });

  it('hands user callbacks the path, method, route pattern and Hono context', async () => {
    const seen: unknown[] = [];
    const app = new Hono();
    app.post(
      '/users/:id',
      rateLimiter({
        skip: (req) => {
          seen.push([req.method, req.path, req.routeId, req.header('x-a'), typeof req.raw]);
          return true;
        },
      }),
      (c) => c.text('ok'),
    );
    await statuses(`${await serve(app)}/users/7?q=1`, 1, { method: 'POST', headers: { 'x-a': 'b' } });
    expect(seen).toEqual([['POST', '/users/7', '/users/:id', 'b', 'object']]);
  });

  it('rejects bad options when the middleware is created', () => {
    expect(() => rateLimiter({ rate: 'lots' })).toThrow(InvalidOptionError);
    expect(() => rateLimiter({ getIp: 'x-real-ip' as never })).toThrow(
      expect.objectContaining({ field: 'getIp' }),
    );
    expect(() => rateLimiter(null as never)).toThrow(InvalidOptionError);
  });
});
