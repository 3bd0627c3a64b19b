import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactAlgorithms } from './support/exact-algorithms.js';
import { DB } from './support/redis.js';
import { runTs, type TsChild } from './support/spawn.js';
import { flushTestRedis, redisUrlForTests } from './support/testkit.js';

const PROCESSES = 4;
const CALLS = 250;

let client: Redis;
beforeAll(async () => {
  client = new Redis(redisUrlForTests(), { db: DB.multiprocess });
  await flushTestRedis(client);
});
afterAll(async () => {
  await flushTestRedis(client);
  await client.quit();
});

/** Resolves once the child has printed a line equal to `line`. */
function printed(child: TsChild, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.split('\n').includes(line)) {
        child.child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.child.stdout?.on('data', onData);
    child.done.then((r) => reject(new Error(`worker ended before "${line}": ${r.stderr}`)), reject);
  });
}

describe('exactness across processes', () => {
  it(`${PROCESSES} processes x ${CALLS} concurrent calls on one key get exactly 100 allowed`, async () => {
    const config = JSON.stringify({ url: redisUrlForTests(), db: DB.multiprocess, calls: CALLS });
    const workers = Array.from({ length: PROCESSES }, () =>
      runTs('limit-worker.ts', [config], { stdin: true, hangGuardMs: 60_000 }),
    );
    // Everyone connects first, then all start together, so the calls of the four processes interleave.
    await Promise.all(workers.map((w) => printed(w, 'ready')));
    for (const w of workers) w.child.stdin?.write('go\n');
    const results = await Promise.all(workers.map((w) => w.done));
    const totals: Record<string, { allowed: number; decided: number }> = {};
    for (const r of results) {
      expect(r.exit, r.stderr).toEqual({ code: 0, signal: null });
      const lines = r.stdout.trim().split('\n');
      const counts = JSON.parse(lines[lines.length - 1]!) as Record<
        string,
        { allowed: number; refused: number }
      >;
      for (const [name, c] of Object.entries(counts)) {
        const t = totals[name] ?? { allowed: 0, decided: 0 };
        totals[name] = t;
        t.allowed += c.allowed;
        t.decided += c.allowed + c.refused;
      }
    }
    const expected = Object.fromEntries(
      Object.keys(exactAlgorithms()).map((name) => [name, { allowed: 100, decided: PROCESSES * CALLS }]),
    );
    expect(totals).toEqual(expected);
  });
});
