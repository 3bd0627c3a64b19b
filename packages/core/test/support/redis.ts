import type { Cluster, Redis } from 'ioredis';
import { type Clock, RedisBackend } from '../../src/index.js';
import type { BackendUnderTest, MakeBackend } from './behaviour.js';
import { flushTestRedis, stateKeys } from './testkit.js';

/**
 * Database numbers of the shared test Redis, one per test file that flushes or counts keys, so files
 * running in parallel never see each other's keys. Database 0 is left to everyone else.
 */
export const DB = { behaviour: 11, specifics: 12, differential: 13, multiprocess: 14 } as const;

/** Polls `done` until it holds or `ms` pass; the caller asserts afterwards, so a miss fails there. */
export async function pollUntil(done: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** The state keys one node holds, without the backend's bookkeeping keys (replies kept for re-sends). */
export async function stateKeyCount(node: Redis): Promise<number> {
  return stateKeys(await node.keys('*')).length;
}

function harness(client: Redis | Cluster, clock: Clock, dbsize: () => Promise<number>): BackendUnderTest {
  return {
    backend: new RedisBackend({ client, clock }),
    size: dbsize,
    pttl: (key) => client.pttl(key),
    // Redis reclaims expired keys actively within about 100 ms; allow generous slack, it is only a bound.
    awaitExpiry: (ms) => pollUntil(async () => (await dbsize()) === 0, ms + 3000),
  };
}

/** Behaviour-suite backends over one standalone client whose database is flushed for every test. */
export function standaloneBackends(client: () => Redis): MakeBackend {
  return async (clock) => {
    const c = client();
    await flushTestRedis(c);
    return harness(c, clock, () => stateKeyCount(c));
  };
}

/** Behaviour-suite backends over a Cluster whose masters are all flushed for every test. */
export function clusterBackends(cluster: () => Cluster): MakeBackend {
  return async (clock) => {
    const c = cluster();
    const masters = () => c.nodes('master');
    await Promise.all(masters().map((n) => flushTestRedis(n)));
    const dbsize = async () => {
      const sizes = await Promise.all(masters().map((n) => stateKeyCount(n)));
      return sizes.reduce((a, b) => a + b, 0);
    };
    return harness(c, clock, dbsize);
  };
}
