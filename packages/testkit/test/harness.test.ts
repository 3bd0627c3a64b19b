import net from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type RedisClusterInstance,
  type RedisInstance,
  redisUrlForTests,
  startRedis,
  startRedisCluster,
} from '../src/index.js';

// Fail fast instead of letting ioredis retry forever against a dead server.
const connect = (url: string) => {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Errors are asserted through command rejections; the event copy is just noise.
  client.on('error', () => {});
  return client;
};

// ioredis hides the socket error behind "Connection is closed", so check the TCP level directly.
const connectError = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(() => 'answered' as const),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms)),
  ]);

describe('startRedis', () => {
  let server: RedisInstance;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(() => server.stop());

  it('answers PING and exposes a matching url', async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const client = connect(server.url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('restart() keeps the port and loses the data', async () => {
    const port = server.port;
    const client = connect(server.url);
    await client.connect();
    await client.set('k', 'v');
    client.disconnect();
    await server.restart();
    expect(server.port).toBe(port);
    const again = connect(server.url);
    await again.connect();
    expect(await again.get('k')).toBeNull();
    again.disconnect();
  });

  it('pause() hangs commands until resume()', async () => {
    const client = connect(server.url);
    await client.connect();
    server.pause();
    const pending = client.ping();
    expect(await within(pending, 200)).toBe('timeout');
    server.resume();
    expect(await pending).toBe('PONG');
    client.disconnect();
  });

  it('stop() makes connections fail', async () => {
    const other = await startRedis();
    const client = connect(other.url);
    await client.connect();
    await other.stop();
    await expect(client.ping()).rejects.toThrow();
    await expect(connect(other.url).connect()).rejects.toThrow();
    expect(await connectError(other.port)).toBe('ECONNREFUSED');
  });
});

describe('startRedisCluster', () => {
  let cluster: RedisClusterInstance;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(() => cluster.stop());

  it('routes keys on different slots across masters', async () => {
    expect(cluster.nodes).toHaveLength(3);
    const client = new Cluster(cluster.nodes);
    const keys = Array.from({ length: 20 }, (_, i) => `key:${i}`);
    for (const key of keys) await client.set(key, key);
    for (const key of keys) expect(await client.get(key)).toBe(key);
    const slots = await Promise.all(keys.map((k) => client.call('CLUSTER', 'KEYSLOT', k)));
    expect(new Set(slots).size).toBeGreaterThan(1);
    const sizes = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1);
    await client.quit();
  });

  it('stop() stops every node', async () => {
    const own = await startRedisCluster({ masters: 3 });
    await own.stop();
    for (const node of own.nodes) {
      expect(await connectError(node.port)).toBe('ECONNREFUSED');
    }
  });
});

describe('global setup', () => {
  it('shares one URL via inject() and the env var', async () => {
    const url = redisUrlForTests();
    expect(process.env.DISTLIMITER_TEST_REDIS_URL).toBe(url);
    expect(inject('redisUrl')).toBe(url);
    const client = connect(url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
