import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../backends/types.js';
import { ClosedError, InvalidOptionError } from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveInteger, positiveIntegerOr } from '../policy/validate.js';
import type { AuditEvent } from './audit-events.js';
import { jsonObject } from './json-object.js';
import { LoadMonitor, type LoadMonitorOptions, type LoadMonitorView } from './load-monitor.js';
import {
  loadStatus,
  type OperatorLoadSetting,
  operatorText,
  parseSetting,
  sameSetting,
  settingJson,
} from './load-setting.js';
import type { LoadSignals, LoadStatus } from './load-signals.js';
import type { ControlStore } from './store.js';

export type { OperatorLoadSetting } from './load-setting.js';

/** Where the status in force comes from: an operator's setting, this instance's automatic state, or neither. */
export type LoadSource = 'operator' | 'automatic' | 'default';

/** The load state as shown (GET /admin/health): the status in force, why, and both of its sources. */
export interface LoadStateView {
  /** The status in force on this instance. */
  status: LoadStatus;
  /** When it came into force on this instance (its clock, ms since the epoch). */
  since: number;
  /** What put it in force. */
  source: LoadSource;
  /** Who: the operator's name for an operator setting, "automatic" for the automatic state. */
  by?: string;
  /** Why: the operator's reason, or the signals that moved the automatic state. */
  reason?: string;
  /** When the operator's setting lapses, if it does. */
  expiresAt?: number;
  /** The store could not be read at the last poll: this is the last state known. */
  stale: boolean;
  /** The operator's fleet-wide setting, if any. */
  operator?: OperatorLoadSetting;
  /** This instance's automatic state, when automatic mode is on. */
  automatic?: { status: LoadStatus; since: number; signals: LoadSignals; reason?: string };
}

/** What set() takes besides the status. */
export interface LoadSetOptions {
  /** The setting lapses after this many ms (default: until cleared). */
  expiresInMs?: number;
  /** Why, shown in the view and the audit. */
  reason?: string;
  /** Who, e.g. the admin token's name (never the token). */
  by?: string;
}

/** Options of a LoadState. */
export interface LoadStateOptions {
  /** Where the operator's setting is shared: `controlStoreOf(backend)`. */
  store: ControlStore;
  /** The limiters' key prefix: the setting lives at `<prefix>:load`, announced on the channel of that name. */
  prefix: string;
  /** Time source in ms (default Date.now); inject one in tests. */
  clock?: Clock;
  /**
   * Time between reads of the setting, in ms (default 1000): the catch-up for an announcement pub/sub
   * dropped, so every instance acts on a change within about pollMs plus the store's timeout.
   */
  pollMs?: number;
  /** Where transitions are recorded, e.g. an AuditLog (`type: 'loadState'`). */
  audit?: { record(event: Extract<AuditEvent, { type: 'loadState' }>): unknown };
  /**
   * The automatic state: a LoadMonitor (started by start(), left open by close()), options to build one
   * (closed by close(); its clock defaults to this clock), or false. Default: off, so the status is
   * NORMAL unless an operator says otherwise.
   */
  monitor?: LoadMonitor | LoadMonitorOptions | false;
}

/** Every key LoadStateOptions accepts. */
export const LOAD_STATE_OPTION_KEYS = keysOf<LoadStateOptions>()([
  'store',
  'prefix',
  'clock',
  'pollMs',
  'audit',
  'monitor',
]);

/** Events of a LoadState, by name, with their arguments. */
export interface LoadStateEvents {
  /** The status in force on this instance changed: the view now, and the one before. */
  changed: [view: LoadStateView, previous: LoadStateView];
}

const DEFAULT_POLL_MS = 1000;
// A lapse further away than setTimeout can wait is caught by the poll and by status() itself.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface InForce {
  status: LoadStatus;
  source: LoadSource;
  since: number;
}

interface Cause {
  by?: string;
  reason?: string;
}

/**
 * The load state, NORMAL or DEGRADED, shared by every instance. An operator's setting (set()/clear(),
 * the admin API) is written to the store, announced on `<prefix>:load` and re-read every pollMs, so every
 * instance acts on it within about a second even when the announcement is lost; it applies fleet-wide and
 * wins over this instance's automatic state (a LoadMonitor) until it lapses or is cleared.
 *
 * status() is synchronous and reads only this instance's copy: a request never waits on the store, and a
 * store that fails leaves the last known state in force (`stale: true` in the view). Every transition of
 * the status in force on this instance is a `changed` event and an audit record; an operator's set() or
 * clear() is recorded where it was made even when the status stays as it was.
 */
export class LoadState extends EventEmitter<LoadStateEvents> {
  /** The store key and channel: `<prefix>:load`. */
  readonly key: string;
  /** Time between reads of the setting, in ms. */
  readonly pollMs: number;
  /** The automatic state's monitor, when automatic mode is on: the HTTP layer calls its enter()/leave(). */
  readonly monitor: LoadMonitor | undefined;
  private readonly store: ControlStore;
  private readonly clock: Clock;
  private readonly audit: LoadStateOptions['audit'];
  private readonly ownsMonitor: boolean;
  private readonly instance = randomUUID();
  private operator: OperatorLoadSetting | undefined;
  // The operator setting's lapse, Infinity without one: status() compares it without a clock call otherwise.
  private lapse = Number.POSITIVE_INFINITY;
  private inForce: InForce;
  private stale = false;
  // Bumped by every change made or heard here: a read begun before one must not undo it.
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private lapseTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  // The monitor's view as of its last transition, for the `previous` of a change it causes.
  private automatic: LoadMonitorView | undefined;
  private readonly onAutomatic = (_status: LoadStatus, _signals: LoadSignals, reason: string) => {
    if (this.closed) return;
    const previous = this.render(this.operator, this.automatic);
    this.automatic = this.monitor?.view();
    this.settle({ by: 'automatic', reason }, previous);
  };

  constructor(options: LoadStateOptions) {
    super();
    const o = knownKeys(options, LOAD_STATE_OPTION_KEYS, 'LoadState options');
    const store = o.store as Partial<ControlStore> | undefined;
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof store.get !== 'function' ||
      typeof store.subscribe !== 'function'
    ) {
      throw new InvalidOptionError('store', store, 'a ControlStore, such as controlStoreOf(backend)');
    }
    if (typeof o.prefix !== 'string' || o.prefix.length === 0) {
      throw new InvalidOptionError('prefix', o.prefix, 'a non-empty key prefix, such as "dl"');
    }
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError('clock', o.clock, 'a function returning milliseconds');
    }
    const audit = o.audit as LoadStateOptions['audit'];
    if (audit !== undefined && typeof audit?.record !== 'function') {
      throw new InvalidOptionError('audit', audit, 'an AuditLog, or an object with record(event)');
    }
    this.store = store as ControlStore;
    this.key = `${o.prefix}:load`;
    this.clock = (o.clock as Clock | undefined) ?? Date.now;
    this.pollMs = positiveIntegerOr(o.pollMs, 'pollMs', DEFAULT_POLL_MS);
    this.audit = audit;
    const m = o.monitor as LoadStateOptions['monitor'];
    if (m !== undefined && m !== false && (typeof m !== 'object' || m === null)) {
      throw new InvalidOptionError('monitor', m, 'a LoadMonitor, LoadMonitor options, or false');
    }
    if (m instanceof LoadMonitor) {
      this.monitor = m;
      this.ownsMonitor = false;
    } else if (m === undefined || m === false || m.enabled === false) {
      this.monitor = undefined;
      this.ownsMonitor = false;
    } else {
      this.monitor = new LoadMonitor({ clock: this.clock, ...m });
      this.ownsMonitor = true;
    }
    this.monitor?.on('changed', this.onAutomatic);
    this.automatic = this.monitor?.enabled ? this.monitor.view() : undefined;
    this.inForce = { ...this.next(), since: this.clock() };
  }

  /** The status in force now, from this instance's copy: synchronous, cheap, never throws. */
  status(): LoadStatus {
    if (this.lapse !== Number.POSITIVE_INFINITY) this.checkLapse();
    return this.inForce.status;
  }

  /** The status in force, where it comes from, since when, and both sources. */
  view(): LoadStateView {
    this.status();
    return this.render(this.operator, this.monitor?.enabled ? this.monitor.view() : undefined);
  }

  private render(op: OperatorLoadSetting | undefined, auto: LoadMonitorView | undefined): LoadStateView {
    const { status, source, since } = this.inForce;
    const v: LoadStateView = { status, since, source, stale: this.stale };
    if (source === 'operator' && op !== undefined) {
      if (op.by !== undefined) v.by = op.by;
      if (op.reason !== undefined) v.reason = op.reason;
      if (op.expiresAt !== undefined) v.expiresAt = op.expiresAt;
    } else if (source === 'automatic') {
      v.by = 'automatic';
      if (auto?.reason !== undefined) v.reason = auto.reason;
    }
    if (op !== undefined) v.operator = { ...op };
    if (auto !== undefined) v.automatic = { ...auto, signals: { ...auto.signals } };
    return v;
  }

  /**
   * Sets the fleet-wide status (an operator, from the admin API or code), optionally lapsing after
   * `expiresInMs`: written to the store, applied here at once, announced to the other instances. Rejects,
   * changing nothing here, when the store fails or times out (a write that timed out may still land
   * later: the next poll then applies it).
   */
  async set(status: LoadStatus, options: LoadSetOptions = {}): Promise<LoadStateView> {
    if (this.closed) throw new ClosedError('LoadState');
    const o = knownKeys(options, ['expiresInMs', 'reason', 'by'], 'LoadState.set options');
    const s = loadStatus(status);
    const ttl = o.expiresInMs === undefined ? undefined : positiveInteger(o.expiresInMs, 'expiresInMs');
    const by = operatorText(o.by, 'by');
    const reason = operatorText(o.reason, 'reason');
    const now = this.clock();
    const setting: { -readonly [K in keyof OperatorLoadSetting]: OperatorLoadSetting[K] } = {
      status: s,
      since: now,
    };
    if (by !== undefined) setting.by = by;
    if (reason !== undefined) setting.reason = reason;
    if (ttl !== undefined) setting.expiresAt = now + ttl;
    await this.store.set(this.key, settingJson(setting), ttl);
    this.operatorAct(setting, { by, reason });
    await this.announce(setting);
    return this.view();
  }

  /** Clears the operator's setting fleet-wide: the automatic state (or NORMAL) applies again. Rejects as set(). */
  async clear(by?: string): Promise<LoadStateView> {
    if (this.closed) throw new ClosedError('LoadState');
    const who = operatorText(by, 'by');
    await this.store.delete(this.key);
    this.operatorAct(undefined, { by: who, reason: 'operator setting cleared' });
    await this.announce(undefined, who);
    return this.view();
  }

  /**
   * Starts following the fleet: listens to announcements, reads the setting every pollMs (timers unref'd)
   * and now, and starts the monitor's sampling.
   */
  start(): void {
    if (this.closed) throw new ClosedError('LoadState');
    if (this.timer !== undefined) return;
    this.unsubscribe = this.store.subscribe(this.key, (message) => this.hear(message));
    this.timer = setInterval(() => void this.refresh(), this.pollMs);
    this.timer.unref();
    this.monitor?.start();
    void this.refresh();
  }

  /** Reads the setting from the store now (what the poll does); resolves when applied, never rejects. */
  refresh(): Promise<void> {
    if (this.refreshing === undefined && !this.closed) {
      this.refreshing = this.refreshOnce().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing ?? Promise.resolve();
  }

  /** Stops following (timers, subscription, a monitor it built) and waits for a read under way; the store stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.lapseTimer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.monitor?.off('changed', this.onAutomatic);
    if (this.ownsMonitor) this.monitor?.close();
    await this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    this.checkLapse();
    const generation = this.generation;
    let raw: string | undefined;
    try {
      raw = await this.store.get(this.key);
    } catch {
      // The store is down or slow: the last known state stays in force, and the view says so.
      this.stale = true;
      return;
    }
    this.stale = false;
    if (this.closed || generation !== this.generation) return;
    const setting = this.live(parseSetting(raw));
    if (sameSetting(setting, this.operator)) return;
    this.apply(
      setting,
      setting === undefined
        ? { reason: this.lapsed(this.operator) ? 'operator setting expired' : 'operator setting cleared' }
        : causeOf(setting),
    );
  }

  // An announcement from another instance: applied at once (the poll confirms it).
  private hear(message: string): void {
    if (this.closed) return;
    const m = jsonObject(message);
    if (m === undefined || m.from === this.instance) return;
    const setting = m.setting === null ? undefined : parseSetting(m.setting);
    if (setting === undefined && m.setting !== null) return;
    this.generation++;
    const live = this.live(setting);
    if (sameSetting(live, this.operator)) return;
    const by = typeof m.by === 'string' ? m.by : undefined;
    this.apply(live, live === undefined ? { by, reason: 'operator setting cleared' } : causeOf(live));
  }

  // Tells the other instances; a lost message is caught up by their next poll.
  private async announce(setting: OperatorLoadSetting | undefined, by?: string): Promise<void> {
    const message: Record<string, unknown> = { from: this.instance, setting: setting ?? null };
    if (by !== undefined) message.by = by;
    try {
      await this.store.publish(this.key, JSON.stringify(message));
    } catch {
      // Best effort, as pub/sub always is.
    }
  }

  // A set() or clear() made here: applied at once, and recorded even when the status stays.
  private operatorAct(setting: OperatorLoadSetting | undefined, cause: Cause): void {
    this.generation++;
    if (!this.apply(setting, cause)) this.record(this.inForce.status, cause);
  }

  // Puts `setting` in place of the operator's; whether the status in force changed.
  private apply(setting: OperatorLoadSetting | undefined, cause: Cause): boolean {
    const previous = this.render(this.operator, this.monitor?.enabled ? this.monitor.view() : undefined);
    this.operator = setting;
    clearTimeout(this.lapseTimer);
    this.lapseTimer = undefined;
    this.lapse = setting?.expiresAt ?? Number.POSITIVE_INFINITY;
    if (this.lapse !== Number.POSITIVE_INFINITY && !this.closed) {
      const wait = this.lapse - this.clock();
      if (wait < MAX_TIMER_MS) {
        this.lapseTimer = setTimeout(() => this.checkLapse(), Math.max(0, wait));
        this.lapseTimer.unref();
      }
    }
    return this.settle(cause, previous);
  }

  private checkLapse(): void {
    if (this.lapse <= this.clock()) this.apply(undefined, { reason: 'operator setting expired' });
  }

  // Moves the status in force to what its sources say; a change is an event and an audit record.
  private settle(cause: Cause, previous: LoadStateView): boolean {
    const next = this.next();
    const current = this.inForce;
    if (next.status === current.status) {
      if (next.source !== current.source) this.inForce = { ...current, source: next.source };
      return false;
    }
    this.inForce = { ...next, since: this.clock() };
    this.record(next.status, cause);
    try {
      this.emit('changed', this.view(), previous);
    } catch {
      // A listener's failure is its own.
    }
    return true;
  }

  private next(): Omit<InForce, 'since'> {
    if (this.operator !== undefined) return { status: this.operator.status, source: 'operator' };
    if (this.monitor?.enabled) return { status: this.monitor.status(), source: 'automatic' };
    return { status: 'NORMAL', source: 'default' };
  }

  private record(state: LoadStatus, cause: Cause): void {
    if (this.audit === undefined) return;
    const event: Extract<AuditEvent, { type: 'loadState' }> = { type: 'loadState', state };
    if (cause.by !== undefined) event.by = cause.by;
    if (cause.reason !== undefined) event.reason = cause.reason;
    try {
      this.audit.record(event);
    } catch {
      // An audit sink never fails a transition.
    }
  }

  private live(setting: OperatorLoadSetting | undefined): OperatorLoadSetting | undefined {
    return setting === undefined || this.lapsed(setting) ? undefined : setting;
  }

  private lapsed(setting: OperatorLoadSetting | undefined): boolean {
    return setting?.expiresAt !== undefined && setting.expiresAt <= this.clock();
  }
}

function causeOf(setting: OperatorLoadSetting): Cause {
  const cause: Cause = {};
  if (setting.by !== undefined) cause.by = setting.by;
  if (setting.reason !== undefined) cause.reason = setting.reason;
  return cause;
}
