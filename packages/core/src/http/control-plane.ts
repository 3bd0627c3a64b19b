import { AuditLog, auditSources } from '../control/audit.js';
import type { IpBlock } from '../control/blocks.js';
import { KeyProtection } from '../control/protection.js';
import type { KeyProtectionOptions } from '../control/protection-options.js';
import { Statistics } from '../control/stats.js';
import { controlStoreOf } from '../control/store-of.js';
import { InvalidOptionError } from '../errors.js';
import type { RateLimiter } from '../limiter.js';
import { LoadState } from '../control/load-state.js';
import type { LoadMonitorOptions } from '../control/load-monitor.js';
import type { ConfigSourceLike } from './types.js';

/** The `audit` option: what to do besides keeping events in the backend's capped stream. */
export interface HttpAuditOptions {
  /** Each record as one JSON line (e.g. `console.log`, or `(line) => log.info(JSON.parse(line))`). */
  logger?: (line: string) => void;
  /** Entries the stream keeps, about (default 10000). */
  streamMaxLen?: number;
  /** Names this instance in every record (default `<hostname>:<pid>`). */
  instance?: string;
}

/** The `statistics` option: true (the default with `config`), false, or how often counts are flushed. */
export type HttpStatisticsOptions = boolean | { flushMs?: number };

/** The `load` option: the load state's automatic monitor (off by default) and how often it re-reads the shared state. */
export interface HttpLoadOptions {
  /**
   * The automatic state of this instance from sampled signals (event-loop delay, decisions in flight,
   * backend latency and errors, the breaker): true for the defaults, or options. Default false: NORMAL
   * unless an operator sets DEGRADED (admin API or `limiter.load.set`).
   */
  monitor?: boolean | LoadMonitorOptions;
  /** How often each instance re-reads the operator's setting, in ms (default 1000; changes are also announced). */
  pollMs?: number;
}

/** What a configured limiter keeps beside its decisions; built once, shared by limiters derived from it. */
export class ControlPlane {
  /** Audit events, in the backend's capped stream `<prefix>:audit` (and the logger, if given). */
  readonly audit: AuditLog | undefined;
  /** Allowed and limited counts per tier and rule, per minute, in the backend. */
  readonly statistics: Statistics | undefined;
  /** Key format, invalid attempts per IP and IP blocks, in the backend. */
  readonly protection: KeyProtection | undefined;
  /** The load state, NORMAL or DEGRADED: an operator's setting shared through the backend, else this instance's automatic state. */
  readonly load: LoadState | undefined;
  private readonly unwire: () => void;

  constructor(
    limiter: RateLimiter,
    source: ConfigSourceLike,
    options: {
      audit?: false | HttpAuditOptions;
      statistics?: HttpStatisticsOptions;
      protection?: false | KeyProtectionOptions;
      load?: false | HttpLoadOptions;
    },
  ) {
    const store = controlStoreOf(limiter.backend);
    const prefix = limiter.prefix;
    const audit = options.audit;
    if (audit !== undefined && audit !== false && (typeof audit !== 'object' || audit === null)) {
      throw new InvalidOptionError('audit', audit, 'false, or { logger?, streamMaxLen?, instance? }');
    }
    this.audit = audit === false ? undefined : new AuditLog({ ...(audit ?? {}), store, prefix });
    const stats = options.statistics ?? true;
    if (typeof stats !== 'boolean' && (typeof stats !== 'object' || stats === null)) {
      throw new InvalidOptionError('statistics', stats, 'true, false, or { flushMs }');
    }
    this.statistics =
      stats === false
        ? undefined
        : new Statistics({ store, prefix, ...(typeof stats === 'object' ? stats : {}) });
    const protection = options.protection;
    if (
      protection !== undefined &&
      protection !== false &&
      (typeof protection !== 'object' || protection === null)
    ) {
      throw new InvalidOptionError('protection', protection, 'false, or key protection options');
    }
    this.protection =
      protection === false
        ? undefined
        : new KeyProtection({ ...(protection ?? {}), backend: limiter.backend, prefix, store });
    this.protection?.start();
    const load = options.load;
    if (load !== undefined && load !== false && (typeof load !== 'object' || load === null)) {
      throw new InvalidOptionError('load', load, 'false, or { monitor?, pollMs? }');
    }
    if (load === false) {
      this.load = undefined;
    } else {
      const monitor = load?.monitor ?? false;
      this.load = new LoadState({
        store,
        prefix,
        audit: this.audit,
        pollMs: load?.pollMs,
        monitor:
          monitor === false ? false : { backend: limiter.backend, ...(monitor === true ? {} : monitor) },
      });
      this.load.start();
    }
    const log = this.audit;
    const unwire =
      log === undefined ? () => undefined : auditSources(log, { backend: limiter.backend, config: source });
    const blocked = (block: IpBlock) =>
      log?.record({
        type: 'ipBlocked',
        ip: block.ip,
        untilMs: block.untilMs,
        offence: block.offence,
        reason: block.reason,
        by: block.by,
      });
    const unblocked = (ip: string, by: string | undefined) => log?.record({ type: 'ipUnblocked', ip, by });
    this.protection?.on('blocked', blocked);
    this.protection?.on('unblocked', unblocked);
    this.unwire = () => {
      unwire();
      this.protection?.off('blocked', blocked);
      this.protection?.off('unblocked', unblocked);
    };
  }

  /** Flushes the statistics and the audit queue, and stops every timer and subscription. */
  async close(): Promise<void> {
    this.unwire();
    await Promise.allSettled([this.statistics?.close(), this.protection?.close(), this.load?.close()]);
    // Last: the others record into it as they close.
    await this.audit?.close();
  }
}
