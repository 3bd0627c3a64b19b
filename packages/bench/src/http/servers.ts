import { type ChildProcess, fork } from 'node:child_process';
import { REDIS_URL_VARIABLE, type RedisTarget, type Variant } from './apps/types.js';

const START_TIMEOUT_MS = 30_000;

/** One hello-world app, serving in a child process of its own. */
export interface Server {
  port: number;
  child: ChildProcess;
}

/**
 * Forks the compiled server `script` serving `framework` in `variant` (counting on `redis` if given), and
 * resolves once it listens.
 */
export function startServer(
  script: string,
  framework: string,
  variant: Variant,
  redis?: RedisTarget,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const args = redis ? [framework, variant, redis.prefix] : [framework, variant];
    // The URL through the environment, not argv: it may hold a password, and argv is public in `ps`.
    const env = redis ? { ...process.env, [REDIS_URL_VARIABLE]: redis.url } : process.env;
    // Plain node on the compiled server (see compile.ts): none of this process's loader flags.
    const child = fork(script, args, {
      env,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${framework} (${variant}) did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('message', (m: { port?: number; error?: string }) => {
      clearTimeout(timer);
      if (m.port) resolve({ port: m.port, child });
      else {
        child.kill('SIGKILL');
        reject(new Error(`${framework} (${variant}) failed to start: ${m.error}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${framework} (${variant}) exited with ${code} before listening`));
    });
  });
}

/** Stops a server and waits for its process to exit. */
export function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}
