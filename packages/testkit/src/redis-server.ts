import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { probe, sleep } from './probe.js';

/** A throwaway redis-server we own, so tests can kill, restart and freeze it at will. */
export interface RedisInstance {
  host: string;
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  pause(ms?: number): void;
  resume(): void;
}

/** Options for startRedis; a fixed port is needed when the caller must know it before launch. */
export interface StartRedisOptions {
  port?: number;
  args?: string[];
}

const HOST = '127.0.0.1';
/** Name prefix of every data directory the harness creates; the flush guard recognises its servers by it. */
export const DATA_DIR_PREFIX = 'distlimiter-redis-';
const READY_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 3_000;
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; SIGKILL is the only thing guaranteed to leave no orphan.
  process.on('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Asks the kernel for an unused port; callers must still tolerate losing the race for it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** Raised when redis-server could not bind, so callers can retry on another port. */
export class PortInUseError extends Error {
  readonly code = 'EADDRINUSE';
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

interface Launched {
  child: ChildProcess;
  dir: string;
  port: number;
}

async function launch(port: number, extraArgs: string[]): Promise<Launched> {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), DATA_DIR_PREFIX));
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  args.push('--daemonize', 'no', '--dir', dir, ...extraArgs);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.set(child, dir);
  child.once('exit', () => live.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || exited(child)) break;
    if ((await probe(port, ['PING'], '+PONG')) && !exited(child)) return { child, dir, port };
    await sleep(50);
  }
  await terminate({ child, dir, port });
  const tail = output.trim().split('\n').slice(-20).join('\n');
  const reason = spawnError ? `spawn failed: ${spawnError.message}` : 'did not answer PING in time';
  const message = `redis-server on ${HOST}:${port} ${reason}\n--- output tail ---\n${tail}`;
  throw /Address already in use/i.test(output) ? new PortInUseError(message) : new Error(message);
}

async function terminate({ child, dir }: Launched): Promise<void> {
  if (!exited(child)) {
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    // A SIGSTOPped process would hold SIGTERM pending forever, so wake it first.
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function launchWithRetry(port: number | undefined, args: string[], attempts = 5): Promise<Launched> {
  for (let i = 1; ; i++) {
    try {
      return await launch(port ?? (await freePort()), args);
    } catch (err) {
      if (!(err instanceof PortInUseError) || i >= attempts) throw err;
      // With a fixed port we can only wait for the previous owner (e.g. ourselves) to let go.
      if (port !== undefined) await sleep(100);
    }
  }
}

/** Starts a disposable, non-persistent redis-server on 127.0.0.1 for real-network tests. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisInstance> {
  const args = opts.args ?? [];
  let current = await launchWithRetry(opts.port, args, opts.port === undefined ? 5 : 1);
  const { port } = current;
  let resumeTimer: NodeJS.Timeout | undefined;
  const resume = () => {
    clearTimeout(resumeTimer);
    current.child.kill('SIGCONT');
  };
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => {
      clearTimeout(resumeTimer);
      return terminate(current);
    },
    async restart() {
      clearTimeout(resumeTimer);
      await terminate(current);
      current = await launchWithRetry(port, args, 20);
    },
    pause(ms?: number) {
      current.child.kill('SIGSTOP');
      if (ms !== undefined) resumeTimer = setTimeout(resume, ms);
    },
    resume,
  };
}
