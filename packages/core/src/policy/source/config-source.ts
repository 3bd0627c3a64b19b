import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ClosedError, type ConfigProblem, InvalidConfigError, InvalidOptionError } from '../../errors.js';
import { sha256 } from '../../key-names.js';
import type { ConfigDocument, ConfigInput } from '../config/document.js';
import { checkConfigText, readConfigFileSync, unreadable } from '../config/load-file.js';
import { parseConfig } from '../config/validate.js';
import type { ConfigSnapshot } from '../snapshot.js';
import { FileWatch } from './file-watch.js';
import { type Composed, composeSnapshot } from './merge.js';
import { type CheckedOptions, checkOptions, type ConfigSourceOptions } from './options.js';
import {
  type ConfigOverlayChange,
  changeFields,
  changeProblems,
  decodeOverlay,
  EMPTY_OVERLAY,
  expiredKeyFields,
  keyEntryOf,
  type Overlay,
  withExpiredRemoved,
  withFields,
} from './overlay.js';
import { type OverlayHost, OverlaySync } from './overlay-sync.js';
import { ConfigVersionError } from './version-error.js';

/** Events of a ConfigSource, by name, with their arguments. */
export interface ConfigSourceEvents {
  /** A new snapshot is in force. */
  reloaded: [snapshot: ConfigSnapshot];
  /** A change could not be applied (its problems listed, each with its path); the last good snapshot stays. */
  rejected: [error: InvalidConfigError];
  /** Reading or listening to Redis failed (once per outage of each connection); the last good snapshot stays. */
  sourceError: [error: Error];
}

/** Options of ConfigSource.publish. */
export interface PublishOptions {
  /**
   * Writes only while the configuration is at this version (a snapshot's `version`), as an HTTP If-Match:
   * otherwise ConfigVersionError and nothing is written. On Redis it is judged against the overlay as
   * stored, in the same compare-and-set as the write, so two instances cannot both pass it.
   */
  ifVersion?: string;
}

/** An overlay key entry in force: the key as the overlay names it, its tier, and when it stops applying. */
export interface OverlayKeyInForce {
  /** The key as written in the overlay: "sha256:<hex>" (as the admin API writes it), or a raw key. */
  readonly key: string;
  readonly tier: string;
  /** When the entry stops applying (ms since the epoch), if it does. */
  readonly expiresAt: number | undefined;
}

/** What is in force and where it came from: for an admin view of the configuration. */
export interface ConfigInForce {
  /** The snapshot in force (what current() gives). */
  readonly snapshot: ConfigSnapshot;
  /** The validated document it was compiled from: the base with the overlay merged, expired keys left out. */
  readonly document: ConfigDocument;
  /** Where the base came from: a file (watched or not) or a document given in code. */
  readonly base: 'file' | 'document';
  /** The base's file, when it is one. */
  readonly file: string | undefined;
  /**
   * Where publish writes: "redis" (shared by every instance on it), "local" (this process only), or "none"
   * (publish throws).
   */
  readonly overlay: 'redis' | 'local' | 'none';
  /** The overlay's version counter as merged, or undefined when nothing was ever published. */
  readonly overlayVersion: number | undefined;
  /** The overlay's key entries in force. */
  readonly overlayKeys: readonly OverlayKeyInForce[];
  /**
   * The names the overlay holds as last read, even when its merge was rejected (then they are not in force,
   * and removing one is how an admin repairs it): tier names, rule ids and key names.
   */
  readonly overlayNames: {
    readonly tiers: readonly string[];
    readonly rules: readonly string[];
    readonly keys: readonly string[];
  };
}

/** How a source is doing: whether the configuration in force may be behind, and its last problem. */
export interface ConfigSourceStatus {
  /** Whether ready() has resolved: the Redis overlay was read once (or failed to be); true without Redis. */
  readonly ready: boolean;
  /**
   * Whether a newer configuration may exist than the one in force: the last read of the file or the
   * overlay was rejected, or Redis is out of reach. Cleared by the next reload, or when Redis answers again.
   */
  readonly stale: boolean;
  /** The last rejection or source error, with when it happened (the source's clock). */
  readonly lastError:
    | { readonly message: string; readonly at: number; readonly problems?: readonly ConfigProblem[] }
    | undefined;
}

/** Where the configuration in force comes from: a document or file, a Redis overlay on top, reloaded as they change. */
export interface ConfigSource extends EventEmitter<ConfigSourceEvents> {
  /** The snapshot in force. Never throws; a request keeps the snapshot it read, however many reloads follow. */
  current(): ConfigSnapshot;
  /** Resolves once the Redis overlay has been read once (or failed to be, after a sourceError); at once without Redis. */
  ready(): Promise<void>;
  /**
   * Changes the overlay: on Redis for every instance, with `localOverlay` in this process only. Validated
   * merged first (nothing is written if invalid: InvalidConfigError), then in force here.
   */
  publish(change: ConfigOverlayChange, options?: PublishOptions): Promise<ConfigSnapshot>;
  /** What is in force and where it came from. */
  inForce(): ConfigInForce;
  /** Whether the configuration in force may be behind, and the last problem. */
  status(): ConfigSourceStatus;
  /** Stops watching, polling and listening; idempotent. current() keeps answering. */
  close(): Promise<void>;
}

// Two copies of core in one app (its ESM and CommonJS builds) must still recognise each other's sources.
const BRAND = Symbol.for('distlimiter.ConfigSource');
const FILE_POLL_MS = 250;
const FILE_DEBOUNCE_MS = 25;
// setTimeout's longest delay; a later expiry is checked again when the timer fires.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Creates a configuration source. The document or file is read and validated now: an invalid one throws
 * InvalidConfigError listing every problem, so an app fails at start rather than with its first request.
 */
export function createConfigSource(options: ConfigSourceOptions): ConfigSource {
  return new Source(checkOptions(options));
}

/** Whether `value` is a ConfigSource (of this or another copy of distlimiter). */
export function isConfigSource(value: unknown): value is ConfigSource {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The source for a `config` option: a document (object) or a file path (string) gets a source of its own
 * with a local overlay (`owned`: the caller closes it), a ConfigSource is used as it is.
 */
export function configSourceOf(
  input: ConfigInput | string | ConfigSource,
  field = 'config',
): { source: ConfigSource; owned: boolean } {
  if (isConfigSource(input)) return { source: input, owned: false };
  // Without Redis, a limiter's own source keeps its overlay in process, so its admin API can still steer it.
  if (typeof input === 'string' && input.length > 0)
    return { source: createConfigSource({ file: input, localOverlay: true }), owned: true };
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return {
      source: createConfigSource({ document: input as ConfigInput, localOverlay: true }),
      owned: true,
    };
  }
  throw new InvalidOptionError(
    field,
    input,
    'a configuration document, the path of a JSON configuration file, or a ConfigSource',
  );
}

class Source extends EventEmitter<ConfigSourceEvents> implements ConfigSource {
  readonly [BRAND] = true;
  // What is in force: the snapshot with the document it came from, swapped whole.
  private composed: Composed;
  // The latest valid inputs, even when their merge was rejected: the next change merges onto them.
  private base: ConfigDocument;
  private overlay: Overlay = EMPTY_OVERLAY;
  // The local overlay's fields as a Redis hash would hold them (localOverlay only).
  private localFields: Record<string, string> = {};
  private readonly file: string | undefined;
  // The hash of the file's text as last read: a rewrite with the same text reloads nothing.
  private fileHash: string | undefined;
  private fileBusy = false;
  private fileAgain = false;
  private readonly watch: FileWatch | undefined;
  private readonly redis: OverlaySync | undefined;
  private readonly local: boolean;
  private readonly clock: () => number;
  // When an overlay key in force expires (checked by current(), and by a timer), if one does.
  private nextExpiry: number | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private isReady = false;
  private rejectedSinceApply = false;
  private redisDown = false;
  private lastError: ConfigSourceStatus['lastError'];
  private closing: Promise<void> | undefined;

  constructor(options: CheckedOptions) {
    super();
    this.clock = options.clock;
    this.local = options.localOverlay;
    if ('file' in options.base) {
      this.file = options.base.file;
      const { check, text } = readConfigFileSync(this.file);
      if (!check.ok) throw new InvalidConfigError(check.problems, this.file);
      this.base = check.config;
      this.fileHash = sha256(text!);
    } else {
      this.base = parseConfig(options.base.document);
    }
    const first = this.compose(this.base, this.overlay);
    if (!first.ok) throw first.error;
    this.composed = first;
    if (options.redis) {
      const host: OverlayHost = {
        inputs: () => ({ base: this.base, overlay: this.overlay }),
        check: (base, overlay) => {
          const result = this.compose(base, overlay);
          return result.ok ? { version: result.snapshot.version } : result.error;
        },
        apply: (base, overlay) => this.apply(base, overlay),
        rejected: (error) => this.reject(error),
        sourceError: (error) => {
          this.redisDown = true;
          this.lastError = { message: error.message, at: this.clock() };
          this.emit('sourceError', error);
        },
        recovered: () => {
          this.redisDown = false;
        },
        now: () => this.clock(),
      };
      this.redis = new OverlaySync(host, options.redis);
      void this.redis.ready.then(() => {
        this.isReady = true;
      });
    } else {
      this.isReady = true;
    }
    // After the Redis side, whose construction may throw (ioredis missing): no watcher is left behind.
    if (this.file !== undefined && options.watch) {
      this.watch = new FileWatch(this.file, () => void this.reloadFile(), {
        pollMs: FILE_POLL_MS,
        debounceMs: FILE_DEBOUNCE_MS,
      });
      // Whatever changed between the read above and the watch's start.
      void this.reloadFile();
    }
  }

  current(): ConfigSnapshot {
    // One comparison per request, and only while an overlay key with an expiry is in force.
    if (this.nextExpiry !== undefined && this.clock() >= this.nextExpiry) this.expire();
    return this.composed.snapshot;
  }

  ready(): Promise<void> {
    return this.redis?.ready ?? Promise.resolve();
  }

  inForce(): ConfigInForce {
    this.current();
    const { snapshot, document } = this.composed;
    const overlayKeys: OverlayKeyInForce[] = [];
    for (const [key, value] of this.overlay.keys) {
      const entry = keyEntryOf(value);
      // Only entries the document holds: an expired one was left out of it.
      if (entry !== undefined && document.keys[key] === entry.tier) {
        overlayKeys.push({ key, tier: entry.tier, expiresAt: entry.expiresAt });
      }
    }
    return {
      snapshot,
      document,
      base: this.file === undefined ? 'document' : 'file',
      file: this.file,
      overlay: this.redis !== undefined ? 'redis' : this.local ? 'local' : 'none',
      overlayVersion: snapshot.origins.overlayVersion,
      overlayKeys,
      overlayNames: {
        tiers: [...this.overlay.tiers.keys()],
        rules: [...this.overlay.rules.keys()],
        keys: [...this.overlay.keys.keys()],
      },
    };
  }

  status(): ConfigSourceStatus {
    return {
      ready: this.isReady,
      stale: this.rejectedSinceApply || this.redisDown,
      lastError: this.lastError,
    };
  }

  async publish(change: ConfigOverlayChange, options: PublishOptions = {}): Promise<ConfigSnapshot> {
    if (this.redis === undefined && !this.local) {
      throw new InvalidOptionError(
        'redis',
        undefined,
        'a Redis overlay to publish to: create the ConfigSource with the redis option ({ client, prefix? }), ' +
          'or with localOverlay: true for an overlay in this process only',
      );
    }
    if (this.closing) throw new ClosedError('ConfigSource');
    const problems = changeProblems(change);
    if (problems.length) throw new InvalidConfigError(problems, 'the overlay change');
    const ifVersion = options?.ifVersion;
    if (ifVersion !== undefined && typeof ifVersion !== 'string') {
      throw new InvalidOptionError('ifVersion', ifVersion, "a configuration snapshot's version");
    }
    if (this.redis !== undefined) return this.redis.publish(change, ifVersion);
    return this.publishLocally(change, ifVersion);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watch?.close();
      clearTimeout(this.expiryTimer);
      this.expiryTimer = undefined;
      await this.redis?.close();
    })();
    return this.closing;
  }

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  // The local overlay: the same checks as on Redis, applied at once in this process.
  private publishLocally(change: ConfigOverlayChange, ifVersion: string | undefined): ConfigSnapshot {
    const current = this.current().version;
    if (ifVersion !== undefined && ifVersion !== current) throw new ConfigVersionError(ifVersion, current);
    const expired = expiredKeyFields(this.localFields, this.clock());
    const fields = withFields(this.localFields, withExpiredRemoved(changeFields(change), expired));
    const decoded = decodeOverlay(fields, (this.overlay.version ?? 0) + 1);
    if (!decoded.ok) throw new InvalidConfigError(decoded.problems, 'the local overlay after the change');
    const check = this.compose(this.base, decoded.overlay);
    if (!check.ok) throw check.error;
    this.localFields = fields;
    const result = this.apply(this.base, decoded.overlay);
    if (result instanceof InvalidConfigError) throw result;
    return result;
  }

  private compose(base: ConfigDocument, overlay: Overlay) {
    const label = this.redis === undefined && this.local ? 'local overlay' : 'Redis overlay';
    return composeSnapshot(base, overlay, this.file, this.clock(), label);
  }

  // The merge of these inputs put in force (they become the latest either way): the snapshot, or the error.
  private apply(base: ConfigDocument, overlay: Overlay): ConfigSnapshot | InvalidConfigError {
    this.base = base;
    this.overlay = overlay;
    const result = this.compose(base, overlay);
    if (!result.ok) {
      this.reject(result.error);
      return result.error;
    }
    // One assignment: a request that read the previous snapshot keeps it, the next one gets this.
    this.composed = result;
    this.rejectedSinceApply = false;
    this.scheduleExpiry(result.nextExpiry);
    this.emit('reloaded', result.snapshot);
    return result.snapshot;
  }

  private reject(error: InvalidConfigError): void {
    this.rejectedSinceApply = true;
    this.lastError = { message: error.message, at: this.clock(), problems: error.problems };
    this.emit('rejected', error);
  }

  // An overlay key's time is up: the same inputs merged again leave it out.
  private expire(): void {
    this.nextExpiry = undefined;
    this.apply(this.base, this.overlay);
  }

  // A timer puts an expiry in force even while no request reads current() (for listeners of `reloaded`).
  private scheduleExpiry(at: number | undefined): void {
    this.nextExpiry = at;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (at === undefined || this.closed) return;
    const delay = Math.min(Math.max(0, at - this.clock()), MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      if (this.nextExpiry === undefined) return;
      if (this.clock() >= this.nextExpiry) this.expire();
      // Not due yet (a long delay, or a clock that is not the timer's): look again later.
      else this.scheduleExpiry(this.nextExpiry);
    }, delay).unref();
  }

  // One read at a time; a change noticed during a read gets a read of its own after it.
  private async reloadFile(): Promise<void> {
    if (this.fileBusy) {
      this.fileAgain = true;
      return;
    }
    this.fileBusy = true;
    try {
      do {
        this.fileAgain = false;
        await this.readFileOnce();
      } while (this.fileAgain && !this.closed);
    } finally {
      this.fileBusy = false;
    }
  }

  private async readFileOnce(): Promise<void> {
    const file = this.file!;
    let text: string | undefined;
    let error: unknown;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      error = e;
    }
    // The hash of the text (or of the error): a rewrite with the same text, or the same failure again, is no news.
    const hash = text === undefined ? `error:${(error as Error).message}` : sha256(text);
    if (this.closed || hash === this.fileHash) return;
    this.fileHash = hash;
    const result = text === undefined ? unreadable(error) : checkConfigText(text);
    if (!result.ok) {
      this.reject(new InvalidConfigError(result.problems, file));
      return;
    }
    this.apply(result.config, this.overlay);
  }
}
