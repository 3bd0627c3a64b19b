import { afterEach, beforeEach, expect, vi } from 'vitest';

// Code under a fault reports through events, status codes and decisions, never through the process or the
// console: an unhandled rejection, a warning or a log line during a fault is a defect of its own.

/**
 * Registers hooks (in the describe block or file it is called in) that fail a test on any unhandled
 * rejection, uncaught exception, process warning or console.error / console.warn output during it.
 */
export function failOnStrayOutput(): void {
  let problems: string[] = [];
  const onRejection = (reason: unknown) => problems.push(`unhandledRejection: ${describe(reason)}`);
  const onException = (error: unknown) => problems.push(`uncaughtException: ${describe(error)}`);
  const onWarning = (warning: Error) => problems.push(`process warning: ${describe(warning)}`);
  beforeEach(() => {
    problems = [];
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    process.on('warning', onWarning);
    vi.spyOn(console, 'error');
    vi.spyOn(console, 'warn');
  });
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
    const logged = [
      ...vi.mocked(console.error).mock.calls.map((c) => `console.error: ${c.map(describe).join(' ')}`),
      ...vi.mocked(console.warn).mock.calls.map((c) => `console.warn: ${c.map(describe).join(' ')}`),
    ];
    vi.restoreAllMocks();
    expect([...problems, ...logged], 'unhandled rejections, exceptions, warnings or error logs').toEqual([]);
  });
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
