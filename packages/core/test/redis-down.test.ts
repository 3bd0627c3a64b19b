import { describe, expect, it } from 'vitest';
import { freePort } from '../../testkit/src/redis-server.js';
import { runTs } from './support/spawn.js';

// Issue 10: a URL-built client with Redis down must not log ioredis's "Unhandled error event", must report
// the outage once as an event, and must not hold the process open after close().
describe('RedisBackend built from a URL while Redis is down', () => {
  it('reports the connection error once, as an event, and logs nothing', async () => {
    const port = await freePort();
    const result = await runTs('redis-down.ts', ['errors', String(port)], { hangGuardMs: 10_000 }).done;
    expect(result.stderr).not.toContain('Unhandled error event');
    expect(result.exit).toEqual({ code: 0, signal: null });
    const report = JSON.parse(result.stdout.trim()) as { outcomes: string[]; events: string[] };
    expect(report.outcomes).toHaveLength(3);
    // Several reconnect attempts failed in the child; one outage is one event.
    expect(report.events).toHaveLength(1);
    expect(report.events[0]).toContain('ECONNREFUSED');
  });

  it('lets the process exit on its own after close()', async () => {
    const port = await freePort();
    const child = runTs('redis-down.ts', ['close', String(port)], { hangGuardMs: 10_000 });
    let exitedAt = 0;
    child.child.once('exit', () => {
      exitedAt = Date.now();
    });
    const result = await child.done;
    expect(result.exit).toEqual({ code: 0, signal: null });
    const report = JSON.parse(result.stdout.trim()) as {
      start: number;
      closed: number;
      resources: string[];
    };
    // Figures to report, not assertions: the hang guard above is the only limit.
    console.log(
      `close() took ${report.closed - report.start} ms; ` +
        `the process exited ${exitedAt - report.closed} ms after it`,
    );
    // No reconnect timer or socket outlives close(): that is what kept the process alive for ~2 s.
    expect(report.resources).not.toContain('Timeout');
    expect(report.resources).not.toContain('TCPSocketWrap');
  });
});
