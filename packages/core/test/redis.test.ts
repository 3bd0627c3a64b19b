import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { describeBackendBehaviour } from './support/behaviour.js';
import { DB, standaloneBackends } from './support/redis.js';
import { flushTestRedis, redisUrlForTests } from './support/testkit.js';

let client: Redis;
beforeAll(() => {
  client = new Redis(redisUrlForTests(), { db: DB.behaviour });
});
afterAll(async () => {
  await flushTestRedis(client);
  await client.quit();
});

describeBackendBehaviour(
  'RedisBackend (standalone)',
  standaloneBackends(() => client),
);
