import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlForTests } from '../src/index.js';

const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');
const APP_SCRIPT = fileURLToPath(new URL('./support/express-app.ts', import.meta.url));

interface AppProcess {
  url: string;
  child: ChildProcess;
}

/** Spawns one app process and resolves once it prints the URL it listens on. */
function startApp(env: Record<string, string>): Promise<AppProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, '--conditions=source', APP_SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`app process exited with ${code} before listening:\n${stderr}`)),
    );
  });
}

function stopApp({ child }: AppProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('two app processes on one Redis', () => {
  const prefix = `two-proc-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(redisUrlForTests());
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrlForTests(), DL_PREFIX: prefix };
    apps = await Promise.all([startApp(env), startApp(env)]);
  });

  afterAll(async () => {
    await Promise.all(apps.map(stopApp));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('enforce one limit together: of 100 concurrent requests exactly 50 pass', async () => {
    const [a, b] = apps;
    expect(a!.url).not.toBe(b!.url);
    // Each process alone would admit all 50 it receives, so any total above 50 means they did not share.
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(`${(i % 2 ? a : b)!.url}/hello`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
  });
});
