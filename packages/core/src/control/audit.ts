import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Clock } from '../backends/types.js';
import { InvalidOptionError } from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveIntegerOr } from '../policy/validate.js';
import { type AuditEvent, type AuditRecord, cleanEvent, parseRecord } from './audit-events.js';
import type { ControlStore } from './store.js';

export {
  type AuditEvent,
  type AuditEventType,
  type AuditProblem,
  type AuditRecord,
  keyHint,
} from './audit-events.js';
export { auditSources } from './audit-sources.js';

/** Options of an AuditLog. */
export interface AuditOptions {
  /** The stream sink: a capped stream `<prefix>:audit` that read() (and GET /audit) reads (omit for events and logger only). */
  store?: ControlStore;
  /** The stream's key is `<prefix>:audit`; the same prefix as the limiters', so every instance shares one stream. */
  prefix: string;
  /** Names this instance in every record (default `<hostname>:<pid>`). */
  instance?: string;
  /**
   * The JSON-lines sink: called with each record as one line of JSON, in the background (default: none).
   * `logger: console.log` prints them; for pino or a logger like it, `logger: (line) => log.info(JSON.parse(line), 'audit')`.
   * What it throws is contained and counted in `dropped`.
   */
  logger?: ((line: string) => void) | false;
  /** Records waiting for each sink at most (default 1000); beyond, new records are dropped for it and counted. */
  maxQueue?: number;
  /** Entries the stream keeps, about (XADD MAXLEN ~; default 10000); also the size of the in-memory ring without a store. */
  streamMaxLen?: number;
  /** Time source in ms for each record's `at` (default Date.now). */
  clock?: Clock;
}

/** Every key AuditOptions accepts. */
export const AUDIT_OPTION_KEYS = keysOf<AuditOptions>()([
  'store',
  'prefix',
  'instance',
  'logger',
  'maxQueue',
  'streamMaxLen',
  'clock',
]);

/** Events of an AuditLog, by name, with their arguments. */
export interface AuditLogEvents {
  /** A record, as soon as it was recorded (synchronously, inside record()). */
  event: [record: AuditRecord];
}

/** Records an AuditLog dropped, by cause. */
export interface AuditDrops {
  /** Not queued for the logger, its queue full. */
  loggerQueueFull: number;
  /** The logger threw (or its promise rejected). */
  loggerFailed: number;
  /** Not queued for the stream, its queue full. */
  streamQueueFull: number;
  /** The stream write failed (store down or slow past its timeout), or was given up on at flush after a failure. */
  streamFailed: number;
  /** Not an event of a known type, or recorded after close(). */
  refused: number;
}

const DEFAULT_MAX_QUEUE = 1000;
const DEFAULT_STREAM_MAX_LEN = 10_000;
const DEFAULT_READ = 100;
/** The most records one read() returns. */
export const AUDIT_READ_MAX = 1000;
// Stream writes in flight at once: ioredis sends them back to back, so a batch costs about one round trip.
const STREAM_BATCH = 64;
// Log lines written per turn of the event loop, so a long queue never holds up requests' I/O.
const LOG_BATCH = 256;
// After a failed stream write, one probe write per this long, doubling up to the cap: an outage costs
// Redis (and ioredis's offline queue) one command per interval, not one per record.
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The audit log: typed events (invalid keys, IP blocks, admin writes, configuration reloads, the breaker),
 * each stamped with the time, the instance and the client IP, delivered at once as an `event`, and in the
 * background to its sinks: JSON lines to a logger and a capped stream in the control store, which `read()`
 * reads back for every instance.
 *
 * record() is synchronous and never throws: it cleans the event (a full API key never enters a record,
 * only `keyHint`), emits it, and queues it per sink. Each sink has a bounded queue; a sink that is full,
 * failing or slow loses records, counted in `dropped`, and never slows or fails the request that recorded.
 */
export class AuditLog extends EventEmitter<AuditLogEvents> {
  /** The name of this instance in every record. */
  readonly instance: string;
  /** The stream's key, `<prefix>:audit`. */
  readonly streamKey: string;
  private readonly store: ControlStore | undefined;
  private readonly logger: ((line: string) => void) | undefined;
  private readonly maxQueue: number;
  private readonly streamMaxLen: number;
  private readonly clock: Clock;
  private readonly logQueue: AuditRecord[] = [];
  private readonly streamQueue: AuditRecord[] = [];
  private logTask: Promise<void> | undefined;
  private streamTask: Promise<void> | undefined;
  // Stream writes that failed in a row: while above 0, the writer probes one record per retry interval.
  private streamFailures = 0;
  private wakeStream: (() => void) | undefined;
  private flushing = 0;
  private closed = false;
  // Without a store: the last streamMaxLen records, oldest first from `ringStart`, with ids like a stream's.
  private readonly ring: AuditRecord[] = [];
  private ringStart = 0;
  private lastMs = 0;
  private seq = 0;
  private readonly drops: AuditDrops = {
    loggerQueueFull: 0,
    loggerFailed: 0,
    streamQueueFull: 0,
    streamFailed: 0,
    refused: 0,
  };

  constructor(options: AuditOptions) {
    super();
    const o = knownKeys(options, AUDIT_OPTION_KEYS, 'AuditLog options');
    if (typeof o.prefix !== 'string' || o.prefix.length === 0) {
      throw new InvalidOptionError('prefix', o.prefix, 'a non-empty key prefix, such as "dl"');
    }
    if (o.store !== undefined && !looksLikeStore(o.store)) {
      throw new InvalidOptionError('store', o.store, 'a ControlStore, such as controlStoreOf(backend)');
    }
    if (o.instance !== undefined && (typeof o.instance !== 'string' || o.instance.length === 0)) {
      throw new InvalidOptionError('instance', o.instance, 'a non-empty name for this instance');
    }
    if (o.logger !== undefined && o.logger !== false && typeof o.logger !== 'function') {
      throw new InvalidOptionError('logger', o.logger, 'a function taking one line of JSON, or false');
    }
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError('clock', o.clock, 'a function returning milliseconds');
    }
    this.streamKey = `${o.prefix}:audit`;
    this.store = o.store as ControlStore | undefined;
    this.instance = (o.instance as string | undefined) ?? `${os.hostname()}:${process.pid}`;
    this.logger = typeof o.logger === 'function' ? (o.logger as (line: string) => void) : undefined;
    this.maxQueue = positiveIntegerOr(o.maxQueue, 'maxQueue', DEFAULT_MAX_QUEUE);
    this.streamMaxLen = positiveIntegerOr(o.streamMaxLen, 'streamMaxLen', DEFAULT_STREAM_MAX_LEN);
    this.clock = (o.clock as Clock | undefined) ?? Date.now;
  }

  /** Records dropped by any sink (a full queue, a failed write), or refused; `dropCounts` has them by cause. */
  get dropped(): number {
    const d = this.drops;
    return d.loggerQueueFull + d.loggerFailed + d.streamQueueFull + d.streamFailed + d.refused;
  }

  /** Records dropped, by cause. */
  get dropCounts(): Readonly<AuditDrops> {
    return { ...this.drops };
  }

  /** Records waiting for a sink. */
  get pending(): number {
    return this.logQueue.length + this.streamQueue.length;
  }

  /**
   * Records an event: stamps it (`at`, `instance`, and `ip` when the event has none of its own), emits
   * `event` (a listener's failure is contained) and queues it for the sinks; a full queue drops it, counted.
   * Synchronous, never throws, never waits.
   */
  record(event: AuditEvent, ip?: string): void {
    try {
      const clean = this.closed ? undefined : cleanEvent(event);
      if (clean === undefined) {
        this.drops.refused++;
        return;
      }
      const record: AuditRecord = { at: this.clock(), instance: this.instance, ...clean };
      if (record.ip === undefined && ip !== undefined && ip !== null) record.ip = String(ip).slice(0, 256);
      deepFreeze(record);
      if (this.store === undefined) this.remember(record);
      this.deliver(record);
      if (this.logger !== undefined) {
        if (this.logQueue.length < this.maxQueue) this.logQueue.push(record);
        else this.drops.loggerQueueFull++;
      }
      if (this.store !== undefined) {
        if (this.streamQueue.length < this.maxQueue) this.streamQueue.push(record);
        else this.drops.streamQueueFull++;
      }
      this.kick();
    } catch {
      // A clock that throws, or anything else unforeseen: the request that recorded must not notice.
      this.drops.refused++;
    }
  }

  /**
   * Records written at or after `sinceMs` (the stream's time: the Redis server's on Redis), oldest first, at
   * most `limit` (default 100, at most 1000). Without a store, from the in-memory ring of the last
   * `streamMaxLen`. Rejects when the store does.
   */
  async read(sinceMs: number, limit = DEFAULT_READ): Promise<AuditRecord[]> {
    const since = Number.isFinite(sinceMs) ? Math.max(0, sinceMs) : sinceMs > 0 ? Number.MAX_SAFE_INTEGER : 0;
    const count = Number.isFinite(limit)
      ? Math.min(AUDIT_READ_MAX, Math.max(1, Math.floor(limit)))
      : DEFAULT_READ;
    if (this.store === undefined) {
      const out: AuditRecord[] = [];
      for (let i = 0; i < this.ring.length && out.length < count; i++) {
        const record = this.ring[(this.ringStart + i) % this.ring.length]!;
        // The time it was written, as a stream's id carries it (never before the previous one's).
        if (Number(record.id!.slice(0, record.id!.indexOf('-'))) >= since) out.push({ ...record });
      }
      return out;
    }
    const entries = await this.store.streamRead(this.streamKey, since, count);
    const out: AuditRecord[] = [];
    for (const entry of entries) {
      const record = parseRecord(entry.fields.record, entry.id);
      if (record !== undefined) out.push(record);
    }
    return out;
  }

  /**
   * Delivers what is queued: resolves once every sink's queue is empty. A stream that failed is not waited
   * for: what is queued for it then is dropped and counted, so a shutdown with Redis down does not hang.
   */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.wakeStream?.();
      this.kick();
      while (this.logTask !== undefined || this.streamTask !== undefined) {
        await Promise.all([this.logTask, this.streamTask]);
        this.kick();
      }
    } finally {
      this.flushing--;
    }
  }

  /** Delivers what is queued (as flush) and refuses records from now on. Leaves the store open: it is not the log's. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private deliver(record: AuditRecord): void {
    for (const listener of this.rawListeners('event') as ((r: AuditRecord) => unknown)[]) {
      try {
        contain(listener.call(this, record));
      } catch {
        // A listener's failure is its own: the others, the sinks and the request go on.
      }
    }
  }

  private remember(record: AuditRecord): void {
    const at = Math.max(record.at, this.lastMs);
    this.seq = at === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = at;
    const stored = Object.freeze({ ...record, id: `${at}-${this.seq}` }) as AuditRecord;
    if (this.ring.length < this.streamMaxLen) this.ring.push(stored);
    else {
      this.ring[this.ringStart] = stored;
      this.ringStart = (this.ringStart + 1) % this.ring.length;
    }
  }

  // Starts a sink's writer when it has work and none runs; each restarts itself if work came as it ended.
  private kick(): void {
    if (this.logQueue.length > 0 && this.logTask === undefined) {
      this.logTask = this.runLogger().finally(() => {
        this.logTask = undefined;
        this.kick();
      });
    }
    if (this.streamQueue.length > 0 && this.streamTask === undefined) {
      this.streamTask = this.runStream().finally(() => {
        this.streamTask = undefined;
        this.kick();
      });
    }
  }

  private async runLogger(): Promise<void> {
    const logger = this.logger!;
    try {
      while (this.logQueue.length > 0) {
        // Never inside record(): the request's own work comes first.
        await nextTurn();
        for (const record of this.logQueue.splice(0, LOG_BATCH)) {
          try {
            contain(logger(JSON.stringify(record)), () => this.drops.loggerFailed++);
          } catch {
            this.drops.loggerFailed++;
          }
        }
      }
    } catch {
      // Nothing above throws; a writer that did must still not leave an unhandled rejection.
    }
  }

  private async runStream(): Promise<void> {
    try {
      while (this.streamQueue.length > 0) {
        if (this.streamFailures > 0) {
          if (this.flushing > 0) {
            this.drops.streamFailed += this.streamQueue.splice(0).length;
            break;
          }
          await this.retryPause(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.streamFailures - 1)));
          if (this.flushing > 0) continue;
        } else {
          await nextTurn();
        }
        // After a failure, one record probes: an outage costs one command per interval, not one per record.
        const batch = this.streamQueue.splice(0, this.streamFailures > 0 ? 1 : STREAM_BATCH);
        if (batch.length === 0) continue;
        const failed = await this.write(batch);
        this.drops.streamFailed += failed;
        this.streamFailures = failed === batch.length ? this.streamFailures + 1 : 0;
      }
    } catch {
      // Nothing above throws; a writer that did must still not leave an unhandled rejection.
    }
  }

  // Writes a batch to the stream (ioredis sends it back to back: about one round trip); how many failed.
  private async write(batch: readonly AuditRecord[]): Promise<number> {
    const store = this.store!;
    const results = await Promise.allSettled(
      batch.map(async (record) => {
        await store.streamAdd(
          this.streamKey,
          { type: record.type, record: JSON.stringify(record) },
          this.streamMaxLen,
        );
      }),
    );
    return results.filter((r) => r.status === 'rejected').length;
  }

  // Waits `ms` before the next write after a failure, or less when flush() asks; the timer never holds the process.
  private retryPause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeStream = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakeStream = done;
    });
  }
}

// A promise a listener or logger returned is followed, so its rejection is counted rather than unhandled.
function contain(result: unknown, failed: () => void = () => undefined): void {
  if (
    typeof result === 'object' &&
    result !== null &&
    typeof (result as PromiseLike<unknown>).then === 'function'
  ) {
    (result as PromiseLike<unknown>).then(undefined, failed);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function looksLikeStore(value: unknown): boolean {
  const s = value as Partial<ControlStore> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.streamAdd === 'function' &&
    typeof s.streamRead === 'function'
  );
}
