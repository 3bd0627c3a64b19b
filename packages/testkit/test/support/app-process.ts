import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';

// The multi-process tests run each app in a child process of its own, as a fleet would: started through
// tsx from its TypeScript source, it prints {"url": ...} once listening and exits on SIGTERM.

const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');

/** One app running in a child process. */
export interface AppProcess {
  /** What it runs (its framework), for messages. */
  name: string;
  /** Its base URL. */
  url: string;
  child: ChildProcess;
}

/** Spawns `script` with `env` added and resolves once it prints the URL it listens on. */
export function startAppProcess(
  script: string,
  env: Record<string, string>,
  name = 'app',
): Promise<AppProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, '--conditions=source', script], {
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
      if (line) resolve({ name, url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.once('error', reject);
    // After the URL was printed this rejects a settled promise, which does nothing.
    child.once('exit', (code) =>
      reject(new Error(`${name} app process exited with ${code} before listening:\n${stderr}`)),
    );
  });
}

/** Stops an app process (SIGTERM, so it closes what it holds) and resolves once it has exited. */
export function stopAppProcess({ child }: AppProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Milliseconds since `start`, rounded to 0.1. */
export const since = (start: number) => Math.round((performance.now() - start) * 10) / 10;
