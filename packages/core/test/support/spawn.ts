import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The monorepo root: tsx resolves from here, like it does for `pnpm` scripts. */
export const REPO_ROOT = path.resolve(SUPPORT_DIR, '../../../..');

/** How a child ended and what it printed. */
export interface ChildResult {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  stdout: string;
  stderr: string;
}

/** A running TypeScript child and the promise of its end. */
export interface TsChild {
  child: ChildProcess;
  done: Promise<ChildResult>;
}

/**
 * Runs `test/support/<script>` in a fresh Node process through tsx. A child still running after
 * `hangGuardMs` is killed, so a hang shows up as a SIGKILL exit instead of a stuck test run.
 */
export function runTs(
  script: string,
  args: string[] = [],
  options: { stdin?: boolean; hangGuardMs?: number } = {},
): TsChild {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', path.join(SUPPORT_DIR, script), ...args],
    { cwd: REPO_ROOT, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: process.env },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<ChildResult>((resolve, reject) => {
    const guard = setTimeout(() => child.kill('SIGKILL'), options.hangGuardMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    // 'close' rather than 'exit': it waits until stdout and stderr are fully read.
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ exit: { code, signal }, stdout, stderr });
    });
  });
  return { child, done };
}
