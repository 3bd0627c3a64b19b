import { fork } from 'node:child_process';
import { compileEntry } from './compile.js';

/**
 * Runs a TypeScript module, compiled as the published packages are (compileEntry), in a fresh plain Node
 * process with `--expose-gc`, and resolves with the one message it sends. A fresh process gives each
 * measurement its own JIT feedback and heap, so one contender's optimised code or garbage never colours
 * another's numbers; plain Node runs our code as users run it, not as a TypeScript loader rewrites it.
 */
export async function runChild<T>(moduleUrl: URL, args: readonly string[], timeoutMs: number): Promise<T> {
  const script = await compileEntry(moduleUrl);
  return new Promise((resolve, reject) => {
    const child = fork(script, [...args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--expose-gc'],
    });
    let result: { ok: true; value: T } | { ok: false; error: string } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${moduleUrl.pathname} ${args.join(' ')} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', (m) => {
      result = m as typeof result;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result?.ok) resolve(result.value);
      else if (result) reject(new Error(result.error));
      else reject(new Error(`${moduleUrl.pathname} ${args.join(' ')} exited with ${signal ?? code}`));
    });
  });
}
