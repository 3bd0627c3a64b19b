import { fork } from 'node:child_process';

/**
 * Runs a TypeScript module in a fresh Node process (same loader and flags as this one) and resolves with
 * the one message it sends. A fresh process gives each measurement its own JIT feedback and heap, so
 * one contender's optimised code or garbage never colours another's numbers.
 */
export function runChild<T>(moduleUrl: URL, args: readonly string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(moduleUrl, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** The child side of runChild: sends `work()`'s value (or its error) to the parent, then exits. */
export function childMain<T>(work: () => Promise<T>): void {
  work().then(
    (value) => process.send?.({ ok: true, value }, () => process.exit(0)),
    (error: unknown) =>
      process.send?.(
        { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
        () => process.exit(1),
      ),
  );
}
