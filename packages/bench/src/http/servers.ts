import { type ChildProcess, fork } from 'node:child_process';
import type { Variant } from './apps/types.js';

const START_TIMEOUT_MS = 30_000;

/** One hello-world app, serving in a child process of its own. */
export interface Server {
  port: number;
  child: ChildProcess;
}

/** Forks the compiled server `script` serving `framework` in `variant`, and resolves once it listens. */
export function startServer(script: string, framework: string, variant: Variant): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Plain node on the compiled server (see compile.ts): none of this process's loader flags.
    const child = fork(script, [framework, variant], {
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
