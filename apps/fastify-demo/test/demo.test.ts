import { MemoryBackend } from '@distlimiter/core';
import { loopbackUrl, statuses, times } from '@distlimiter/testkit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(): Promise<string> {
  app = await buildApp({ backend: new MemoryBackend() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return loopbackUrl(app.server);
}

describe('fastify demo', () => {
  it('allows 10 hellos a minute per IP, then answers 429 with JSON', async () => {
    const url = await start();
    expect(await statuses(`${url}/api/hello`, 10)).toEqual(times(10, 200));
    const refused = await fetch(`${url}/api/hello`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('allows 3 logins a minute, counted apart from hello', async () => {
    const url = await start();
    expect(await statuses(`${url}/api/login`, 4, { method: 'POST' })).toEqual([200, 200, 200, 429]);
    expect(await statuses(`${url}/api/hello`, 1)).toEqual([200]);
  });

  it('never limits /health', async () => {
    const url = await start();
    expect(await statuses(`${url}/health`, 12)).toEqual(times(12, 200));
  });

  it('counts /api/data per API key, falling back to the IP', async () => {
    const url = await start();
    const key = (k: string) => ({ headers: { 'x-api-key': k } });
    expect(await statuses(`${url}/api/data`, 11, key('alice'))).toEqual([...times(10, 200), 429]);
    expect(await statuses(`${url}/api/data`, 1, key('bob'))).toEqual([200]);
    expect(await statuses(`${url}/api/data`, 1)).toEqual([200]);
  });
});
