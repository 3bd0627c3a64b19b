import { EventEmitter } from 'node:events';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { BackendHealth, Clock } from '../backends/types.js';
import { InvalidOptionError } from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveIntegerOr } from '../policy/validate.js';
import {
  type AutomaticState,
  DEFAULT_DWELL_MS,
  initialAutomatic,
  type LoadSignalName,
  type LoadSignals,
  type LoadStatus,
  type LoadThreshold,
  type LoadThresholds,
  loadThresholds,
  stepAutomatic,
} from './load-signals.js';

export {
  DEFAULT_DWELL_MS,
  DEFAULT_LOAD_THRESHOLDS,
  type LoadSignalName,
  type LoadSignals,
  type LoadStatus,
  type LoadThreshold,
  type LoadThresholds,
} from './load-signals.js';

/** Options of a LoadMonitor: how often it samples, its thresholds and dwell, and where signals come from. */
export interface LoadMonitorOptions {
  /** Whether the automatic state runs at all (default true); disabled, it stays NORMAL and samples nothing. */
  enabled?: boolean;
  /** Time between samples, in ms (default 500); the timer is unref'd. */
  intervalMs?: number;
  /** Minimum time in a state, in ms (default 10000): DEGRADED is left only after this long calm. */
  dwellMs?: number;
  /**
   * Enter and exit thresholds per signal, laid over the defaults: eventLoopDelayMs 200/50,
   * inFlight 1000/500, backendLatencyMs 250/100, errorRatio 0.5/0.1.
   */
  thresholds?: Partial<Record<LoadSignalName, LoadThreshold>>;
  /**
   * Where every sample comes from, replacing the built-in sampling entirely (tests, or signals of one's
   * own). Default: event-loop delay, the enter()/leave() counter, and the backend's health.
   */
  signals?: () => LoadSignals;
  /** A backend (or CircuitBreaker) whose `health()` gives the backend latency (p99) and the breaker state. */
  backend?: { health?(): BackendHealth };
  /** Backend latency in ms, overriding the backend's health (undefined: not judged). */
  backendLatencyMs?: () => number | undefined;
  /** Backend error ratio 0..1, overriding the one counted from `leave(true)` (undefined: not judged). */
  errorRatio?: () => number | undefined;
  /** Calls that must complete within an interval before their error ratio is judged (default 20). */
  errorRatioMinCalls?: number;
  /** Time source in ms for `since` and the dwell (default Date.now); inject one in tests. */
  clock?: Clock;
}

/** Every key LoadMonitorOptions accepts. */
export const LOAD_MONITOR_OPTION_KEYS = keysOf<LoadMonitorOptions>()([
  'enabled',
  'intervalMs',
  'dwellMs',
  'thresholds',
  'signals',
  'backend',
  'backendLatencyMs',
  'errorRatio',
  'errorRatioMinCalls',
  'clock',
]);

/** Events of a LoadMonitor, by name, with their arguments. */
export interface LoadMonitorEvents {
  /** The automatic state moved, with the sample that moved it and why. */
  changed: [status: LoadStatus, signals: LoadSignals, reason: string];
}

/** The automatic state as shown: its status, since when, the last sample and why it last moved. */
export interface LoadMonitorView {
  status: LoadStatus;
  since: number;
  signals: LoadSignals;
  reason?: string;
}

const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_MIN_CALLS = 20;
// monitorEventLoopDelay's timer period: each recorded delta includes it, so it is taken off.
const RESOLUTION_MS = 10;

/**
 * The automatic load state of this instance. Every `intervalMs` it samples its signals (event-loop delay,
 * requests in flight, backend latency and error ratio, the circuit breaker) and steps the state with
 * hysteresis and a dwell time (see `stepAutomatic`), emitting `changed` on each transition.
 *
 * The HTTP layer calls `enter()` as a request starts and `leave(failed)` as it ends (`failed`: the backend
 * failed for it, e.g. `decision.fallback !== undefined`); both are a counter's increment.
 */
export class LoadMonitor extends EventEmitter<LoadMonitorEvents> {
  /** Whether the automatic state runs. */
  readonly enabled: boolean;
  /** Time between samples, in ms. */
  readonly intervalMs: number;
  /** Minimum time in a state, in ms. */
  readonly dwellMs: number;
  /** The thresholds in use, per signal. */
  readonly thresholds: LoadThresholds;
  private readonly clock: Clock;
  private readonly source: (() => LoadSignals) | undefined;
  private readonly backend: { health?(): BackendHealth } | undefined;
  private readonly latencyOf: (() => number | undefined) | undefined;
  private readonly ratioOf: (() => number | undefined) | undefined;
  private readonly minCalls: number;
  private state: AutomaticState;
  private last: LoadSignals = {};
  private active = 0;
  private calls = 0;
  private failures = 0;
  private histogram: IntervalHistogram | undefined;
  private lastTick = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: LoadMonitorOptions = {}) {
    super();
    const o = knownKeys(options, LOAD_MONITOR_OPTION_KEYS, 'LoadMonitor options');
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean') {
      throw new InvalidOptionError('enabled', o.enabled, 'true or false');
    }
    for (const name of ['signals', 'backendLatencyMs', 'errorRatio', 'clock'] as const) {
      if (o[name] !== undefined && typeof o[name] !== 'function') {
        throw new InvalidOptionError(name, o[name], 'a function');
      }
    }
    const backend = o.backend as LoadMonitorOptions['backend'];
    if (backend !== undefined && (typeof backend !== 'object' || backend === null)) {
      throw new InvalidOptionError('backend', backend, 'a Backend with health(), such as a CircuitBreaker');
    }
    this.enabled = o.enabled !== false;
    this.intervalMs = positiveIntegerOr(o.intervalMs, 'intervalMs', DEFAULT_INTERVAL_MS);
    this.dwellMs = o.dwellMs === 0 ? 0 : positiveIntegerOr(o.dwellMs, 'dwellMs', DEFAULT_DWELL_MS);
    this.thresholds = loadThresholds(o.thresholds);
    this.minCalls = positiveIntegerOr(o.errorRatioMinCalls, 'errorRatioMinCalls', DEFAULT_MIN_CALLS);
    this.clock = (o.clock as Clock | undefined) ?? Date.now;
    this.source = o.signals as LoadMonitorOptions['signals'];
    this.backend = backend;
    this.latencyOf = o.backendLatencyMs as LoadMonitorOptions['backendLatencyMs'];
    this.ratioOf = o.errorRatio as LoadMonitorOptions['errorRatio'];
    this.state = initialAutomatic(this.clock());
  }

  /** The automatic status now (NORMAL while disabled). */
  status(): LoadStatus {
    return this.state.status;
  }

  /** The last sample's signals. */
  signals(): LoadSignals {
    return { ...this.last };
  }

  /** The status, since when, the last sample, and why it last moved. */
  view(): LoadMonitorView {
    const v: LoadMonitorView = {
      status: this.state.status,
      since: this.state.since,
      signals: this.signals(),
    };
    if (this.state.reason !== undefined) v.reason = this.state.reason;
    return v;
  }

  /** Requests in flight, as counted by enter()/leave() (or set). */
  get inFlight(): number {
    return this.active;
  }

  /** Sets the requests in flight, for a caller that counts them itself. */
  set inFlight(n: number) {
    this.active = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  }

  /** A request started. */
  enter(): void {
    this.active++;
  }

  /** A request ended; `backendFailed`: the backend failed for it (counted into the error ratio). */
  leave(backendFailed = false): void {
    if (this.active > 0) this.active--;
    this.calls++;
    if (backendFailed) this.failures++;
  }

  /** Samples the signals now and steps the state (what the timer does); the status after. Never throws. */
  sample(): LoadStatus {
    return this.step(false);
  }

  /** Starts sampling every intervalMs (and the event-loop delay histogram); the timer never holds the process. */
  start(): void {
    if (!this.enabled || this.closed || this.timer !== undefined) return;
    if (this.source === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      this.histogram.enable();
    }
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.step(true), this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling; the state stays as it was. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  private step(tick: boolean): LoadStatus {
    if (!this.enabled) return this.state.status;
    let signals: LoadSignals;
    let now: number;
    try {
      signals = this.source === undefined ? this.builtIn(tick) : { ...this.source() };
      now = this.clock();
    } catch {
      // A signal source that throws tells nothing: the state holds until a sample succeeds.
      return this.state.status;
    }
    this.last = signals;
    const before = this.state;
    this.state = stepAutomatic(before, signals, now, this.thresholds, this.dwellMs);
    if (this.state.status !== before.status) {
      try {
        this.emit('changed', this.state.status, { ...signals }, this.state.reason ?? '');
      } catch {
        // A listener's failure is its own.
      }
    }
    return this.state.status;
  }

  private builtIn(tick: boolean): LoadSignals {
    const out: LoadSignals = { inFlight: this.active };
    const h = this.histogram;
    if (h !== undefined) {
      let delay = h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
      h.reset();
      // reset() makes the histogram skip its next delta, so a block right after a sample may go unseen
      // there; a block across a tick shows as the sampler's own lateness instead.
      if (tick) {
        const t = performance.now();
        delay = Math.max(delay, t - this.lastTick - this.intervalMs);
        this.lastTick = t;
      }
      out.eventLoopDelayMs = Math.round(delay * 10) / 10;
    }
    const health = this.backend?.health?.();
    const latency =
      this.latencyOf !== undefined
        ? this.latencyOf()
        : health !== undefined && health.latencyMs.samples > 0
          ? health.latencyMs.p99
          : undefined;
    if (latency !== undefined) out.backendLatencyMs = latency;
    if (health !== undefined) out.breakerOpen = health.state !== 'closed';
    const ratio =
      this.ratioOf !== undefined
        ? this.ratioOf()
        : this.calls >= this.minCalls
          ? this.failures / this.calls
          : undefined;
    if (ratio !== undefined) out.errorRatio = ratio;
    this.calls = 0;
    this.failures = 0;
    return out;
  }
}
