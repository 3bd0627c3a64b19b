import { InvalidOptionError } from '../errors.js';
import { knownKeys } from '../policy/known-keys.js';

// The automatic load state as a pure step: signals in, status out, with hysteresis (separate enter and
// exit thresholds) and a dwell time, so LoadMonitor only samples and tests can drive it exactly.

/** The load state: `NORMAL` (tiers may burst) or `DEGRADED` (the free tier gives way first). */
export type LoadStatus = 'NORMAL' | 'DEGRADED';

/** One sample of what the automatic load state watches; a signal left undefined is not judged. */
export interface LoadSignals {
  /** Event-loop delay over the last interval, in ms (p99 of monitorEventLoopDelay, or a tick's lateness). */
  eventLoopDelayMs?: number;
  /** Requests in flight in this process. */
  inFlight?: number;
  /** Backend latency, in ms (e.g. `backend.health().latencyMs.p99`). */
  backendLatencyMs?: number;
  /** Share of backend calls that failed over the last interval, 0..1. */
  errorRatio?: number;
  /** The backend's circuit breaker is open (or half-open, still probing): DEGRADED until it closes. */
  breakerOpen?: boolean;
}

/** The numeric signals, which have thresholds. */
export type LoadSignalName = 'eventLoopDelayMs' | 'inFlight' | 'backendLatencyMs' | 'errorRatio';

/** A signal's thresholds: at or above `enter` it degrades; at or below `exit` it counts as calm (exit <= enter). */
export interface LoadThreshold {
  enter: number;
  exit: number;
}

/** Every numeric signal's thresholds. */
export type LoadThresholds = Readonly<Record<LoadSignalName, Readonly<LoadThreshold>>>;

/**
 * The default thresholds: event-loop delay enter 200 ms / exit 50 ms; requests in flight enter 1000 /
 * exit 500; backend latency (p99) enter 250 ms / exit 100 ms; backend error ratio enter 0.5 / exit 0.1.
 * An open breaker always enters, and counts as calm only once it closed.
 */
export const DEFAULT_LOAD_THRESHOLDS: LoadThresholds = Object.freeze({
  eventLoopDelayMs: Object.freeze({ enter: 200, exit: 50 }),
  inFlight: Object.freeze({ enter: 1000, exit: 500 }),
  backendLatencyMs: Object.freeze({ enter: 250, exit: 100 }),
  errorRatio: Object.freeze({ enter: 0.5, exit: 0.1 }),
});

/** The default minimum time in a state, in ms (10 s). */
export const DEFAULT_DWELL_MS = 10_000;

const SIGNAL_NAMES = Object.keys(DEFAULT_LOAD_THRESHOLDS) as LoadSignalName[];

/** The defaults with `given` laid over them, validated (typed errors naming the field). */
export function loadThresholds(given: unknown, field = 'thresholds'): LoadThresholds {
  if (given === undefined) return DEFAULT_LOAD_THRESHOLDS;
  const o = knownKeys(given, SIGNAL_NAMES, field, `${field}.`);
  const out = { ...DEFAULT_LOAD_THRESHOLDS };
  for (const name of SIGNAL_NAMES) {
    const t = o[name];
    if (t === undefined) continue;
    const path = `${field}.${name}`;
    const pair = knownKeys(t, ['enter', 'exit'], path, `${path}.`);
    const top = name === 'errorRatio' ? 1 : Number.POSITIVE_INFINITY;
    const check = (key: 'enter' | 'exit') => {
      const v = pair[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > top) {
        throw new InvalidOptionError(
          `${path}.${key}`,
          v,
          top === 1 ? 'a number from 0 to 1' : 'a finite number at or above 0',
        );
      }
      return v;
    };
    const enter = check('enter');
    const exit = check('exit');
    if (exit > enter) {
      throw new InvalidOptionError(`${path}.exit`, exit, `a number at or below enter (${enter})`);
    }
    out[name] = Object.freeze({ enter, exit });
  }
  return Object.freeze(out);
}

/** Where the automatic state stands: its status, and the times hysteresis and dwell work from. */
export interface AutomaticState {
  readonly status: LoadStatus;
  /** When this status began (construction time at first). */
  readonly since: number;
  /** When the last transition happened; -Infinity before the first, so a fresh monitor may enter at once. */
  readonly changedAt: number;
  /** While DEGRADED: since when every signal has been calm, if it is. */
  readonly calmSince?: number;
  /** Why the last transition happened. */
  readonly reason?: string;
}

/** The automatic state before any sample. */
export function initialAutomatic(now: number): AutomaticState {
  return { status: 'NORMAL', since: now, changedAt: Number.NEGATIVE_INFINITY };
}

/**
 * One step of the automatic state at `now`. NORMAL becomes DEGRADED on a sample where a signal is at or
 * above its enter threshold (or the breaker is open), once NORMAL has lasted `dwellMs` since the last
 * transition. DEGRADED becomes NORMAL once every signal has stayed at or below its exit threshold (and the
 * breaker closed) on every sample for `dwellMs`, so it too lasts at least `dwellMs`; a signal between the
 * thresholds holds the state, whichever it is.
 */
export function stepAutomatic(
  state: AutomaticState,
  signals: LoadSignals,
  now: number,
  thresholds: LoadThresholds,
  dwellMs: number,
): AutomaticState {
  if (state.status === 'NORMAL') {
    const over = overThresholds(signals, thresholds);
    if (over.length === 0 || now - state.changedAt < dwellMs) return state;
    return { status: 'DEGRADED', since: now, changedAt: now, reason: over.join(', ') };
  }
  if (!calm(signals, thresholds)) {
    return state.calmSince === undefined ? state : { ...state, calmSince: undefined };
  }
  const calmSince = state.calmSince ?? now;
  if (now - calmSince >= dwellMs && now - state.changedAt >= dwellMs) {
    return {
      status: 'NORMAL',
      since: now,
      changedAt: now,
      reason: `every signal at or below its exit threshold for ${now - calmSince} ms`,
    };
  }
  return calmSince === state.calmSince ? state : { ...state, calmSince };
}

/** The signals at or above their enter thresholds, described ("eventLoopDelayMs 230 >= 200"). */
export function overThresholds(signals: LoadSignals, thresholds: LoadThresholds): string[] {
  const over: string[] = [];
  if (signals.breakerOpen === true) over.push('breaker open');
  for (const name of SIGNAL_NAMES) {
    const v = signals[name];
    const enter = thresholds[name].enter;
    if (typeof v === 'number' && v >= enter) over.push(`${name} ${round(v)} >= ${enter}`);
  }
  return over;
}

function calm(signals: LoadSignals, thresholds: LoadThresholds): boolean {
  if (signals.breakerOpen === true) return false;
  for (const name of SIGNAL_NAMES) {
    const v = signals[name];
    if (typeof v === 'number' && v > thresholds[name].exit) return false;
  }
  return true;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
