import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimit } from '../../../express/src/index.js';
import {
  type FaultyRedis,
  listenOn,
  reportFigure,
  startFaultyRedis,
  until,
} from '../../../testkit/src/index.js';
import { fixedWindow, RedisBackend } from '../../src/index.js';
import { failOnStrayOutput } from './support.js';

// Issue 10, at the HTTP layer: an Express app on a real socket, its limiter on a redis-server that is
// stopped and started again while requests keep coming. What the clients get is checked by status:
// 'allow' never answers 5xx, 'deny' refuses only with 429 or 503 and always with Retry-After, 'local'
// answers only 200 or 429.

// @distlimiter/core cannot depend on express; the adapter's own copy is loaded from its package.
interface App {
  use(handler: unknown): void;
  get(path: string, handler: (req: unknown, res: { send(body: string): void }) => void): void;
  listen(port: number, host: string): Server;
}
const express = createRequire(new URL('../../../express/package.json', import.meta.url))(
  'express',
) as () => App;

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis();
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

const LIMIT = 40;

interface Reply {
  status: number;
  retryAfter: string | null;
  /** X-RateLimit-Limit: present when a decision (Redis's or the local one) answered, absent on a failure. */
  limit: string | null;
}

describe('Express on a real socket while redis-server is killed and restarted', () => {
  it.each([
    ['allow', [200, 429]],
    ['deny', [200, 429, 503]],
    ['local', [200, 429]],
  ] as const)("onBackendError '%s' answers only %j", async (mode, expected) => {
    const backend = new RedisBackend({ client: faulty.url });
    const middleware = rateLimit({
      algorithm: fixedWindow(`${LIMIT}/hour`),
      backend,
      prefix: `http-${mode}`,
      onBackendError: mode,
    });
    const app = express();
    app.use(middleware);
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const listening = await listenOn(app.listen(0, '127.0.0.1'));
    const replies: Reply[] = [];
    let stopped = false;
    const client = async () => {
      while (!stopped) {
        const response = await fetch(`${listening.url}/`);
        await response.arrayBuffer();
        replies.push({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          limit: response.headers.get('x-ratelimit-limit'),
        });
      }
    };
    const clients = Array.from({ length: 4 }, client);
    try {
      // Past the limit before the outage, so Redis has answered both 200 and 429.
      expect(await until(() => replies.length >= 2 * LIMIT, 10_000)).toBe(true);
      await faulty.kill();
      const killedAt = replies.length;
      const down = await until(
        () => backend.health().state === 'open' && replies.length >= killedAt + 40,
        10_000,
      );
      expect(down, 'the breaker opened and requests were answered while Redis was down').toBe(true);
      await faulty.restart();
      const restartedAt = performance.now();
      expect(await until(() => backend.health().state === 'closed', 15_000)).toBe(true);
      const backMs = Math.round(performance.now() - restartedAt);
      const closedAt = replies.length;
      // From the stop until the breaker closed again: every one of these was answered without Redis.
      const duringOutage = replies.slice(killedAt, closedAt);
      expect(await until(() => replies.length >= closedAt + 40, 10_000)).toBe(true);
      stopped = true;
      await Promise.all(clients);

      const byStatus: Record<number, number> = {};
      for (const r of replies) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const outageByStatus: Record<number, number> = {};
      for (const r of duringOutage) outageByStatus[r.status] = (outageByStatus[r.status] ?? 0) + 1;
      reportFigure(`http express ${mode}`, { byStatus, outageByStatus, breakerClosedAfterRestartMs: backMs });

      const unexpected = replies.filter((r) => !(expected as readonly number[]).includes(r.status));
      expect(unexpected, `statuses outside ${JSON.stringify(expected)}`).toEqual([]);
      const refusedWithoutRetryAfter = replies.filter(
        (r) => (r.status === 429 || r.status === 503) && !/^\d+$/.test(r.retryAfter ?? ''),
      );
      expect(refusedWithoutRetryAfter, '429 and 503 answers without a Retry-After').toEqual([]);
      expect(byStatus[429], 'Redis refused past the limit').toBeGreaterThan(0);
      if (mode === 'deny') expect(outageByStatus[503] ?? 0, '503 while Redis was down').toBeGreaterThan(0);
      if (mode === 'allow') expect(outageByStatus[200] ?? 0, '200 while Redis was down').toBeGreaterThan(0);
      if (mode === 'local') {
        // Decided in memory like any decision, so answered with the rate-limit headers, never bare.
        expect(
          duringOutage.filter((r) => r.limit === null).length,
          'answers without rate-limit headers while Redis was down (not decided locally)',
        ).toBe(0);
      }
    } finally {
      stopped = true;
      await Promise.allSettled(clients);
      await listening.close();
      await backend.close();
    }
  });
});
