import type { AuditLog } from './audit.js';

// Duck-typed on purpose: a backend or source of another copy of distlimiter (its ESM and CommonJS builds in
// one app) emits the same events, and anything without events (a MemoryBackend) is simply not wired.
interface Emitter {
  on(name: string, listener: (...args: never[]) => void): unknown;
  off(name: string, listener: (...args: never[]) => void): unknown;
}

const isEmitter = (value: unknown): value is Emitter =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Emitter).on === 'function' &&
  typeof (value as Emitter).off === 'function';

const messageOf = (error: unknown) =>
  error instanceof Error ? error.message : error === undefined ? undefined : String(error);

/**
 * Wires events into an AuditLog: a RedisBackend's (or CircuitBreaker's) `open` and `close` as breakerOpened
 * and breakerClosed, a ConfigSource's `reloaded` and `rejected` as configReloaded (with the snapshot's
 * version) and configRejected (with its problems). What has no `on`/`off` is left alone. Returns the
 * function that unwires them all.
 */
export function auditSources(log: AuditLog, sources: { backend?: unknown; config?: unknown }): () => void {
  const wired: [Emitter, string, (...args: never[]) => void][] = [];
  const wire = (emitter: Emitter, name: string, listener: (...args: never[]) => void) => {
    emitter.on(name, listener);
    wired.push([emitter, name, listener]);
  };
  const { backend, config } = sources ?? {};
  if (isEmitter(backend)) {
    wire(backend, 'open', (error: unknown) => log.record({ type: 'breakerOpened', error: messageOf(error) }));
    wire(backend, 'close', () => log.record({ type: 'breakerClosed' }));
  }
  if (isEmitter(config)) {
    wire(config, 'reloaded', (snapshot: { version?: unknown } | undefined) =>
      log.record({ type: 'configReloaded', version: String(snapshot?.version ?? '') }),
    );
    wire(config, 'rejected', (error: { problems?: unknown; message?: unknown } | undefined) => {
      const problems = Array.isArray(error?.problems)
        ? (error.problems as { path: string; message: string }[])
        : [{ path: '', message: String(messageOf(error) ?? 'rejected') }];
      log.record({ type: 'configRejected', problems });
    });
  }
  return () => {
    for (const [emitter, name, listener] of wired.splice(0)) emitter.off(name, listener);
  };
}
