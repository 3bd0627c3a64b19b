import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ClosedError, InvalidConfigError, InvalidOptionError } from '../../errors.js';
import { sha256 } from '../../key-names.js';
import type { ConfigDocument, ConfigInput } from '../config/document.js';
import { checkConfigText, readConfigFileSync, unreadable } from '../config/load-file.js';
import { parseConfig } from '../config/validate.js';
import type { ConfigSnapshot } from '../snapshot.js';
import { FileWatch } from './file-watch.js';
import { composeSnapshot } from './merge.js';
import { type CheckedOptions, checkOptions, type ConfigSourceOptions } from './options.js';
import { type ConfigOverlayChange, changeProblems, EMPTY_OVERLAY, type Overlay } from './overlay.js';
import { type OverlayHost, OverlaySync } from './overlay-sync.js';

/** Events of a ConfigSource, by name, with their arguments. */
export interface ConfigSourceEvents {
  /** A new snapshot is in force. */
  reloaded: [snapshot: ConfigSnapshot];
  /** A change could not be applied (its problems listed, each with its path); the last good snapshot stays. */
  rejected: [error: InvalidConfigError];
  /** Reading or listening to Redis failed (once per outage of each connection); the last good snapshot stays. */
  sourceError: [error: Error];
}

/** Where the configuration in force comes from: a document or file, a Redis overlay on top, reloaded as they change. */
export interface ConfigSource extends EventEmitter<ConfigSourceEvents> {
  /** The snapshot in force. Never throws; a request keeps the snapshot it read, however many reloads follow. */
  current(): ConfigSnapshot;
  /** Resolves once the Redis overlay has been read once (or failed to be, after a sourceError); at once without Redis. */
  ready(): Promise<void>;
  /** Changes the Redis overlay for every instance: validated merged first (nothing is written if invalid), then in force here. */
  publish(change: ConfigOverlayChange): Promise<ConfigSnapshot>;
  /** Stops watching, polling and listening; idempotent. current() keeps answering. */
  close(): Promise<void>;
}

// Two copies of core in one app (its ESM and CommonJS builds) must still recognise each other's sources.
const BRAND = Symbol.for('distlimiter.ConfigSource');
const FILE_POLL_MS = 250;
const FILE_DEBOUNCE_MS = 25;

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
 * (`owned`: the caller closes it), a ConfigSource is used as it is.
 */
export function configSourceOf(
  input: ConfigInput | string | ConfigSource,
  field = 'config',
): { source: ConfigSource; owned: boolean } {
  if (isConfigSource(input)) return { source: input, owned: false };
  if (typeof input === 'string' && input.length > 0)
    return { source: createConfigSource({ file: input }), owned: true };
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return { source: createConfigSource({ document: input as ConfigInput }), owned: true };
  }
  throw new InvalidOptionError(
    field,
    input,
    'a configuration document, the path of a JSON configuration file, or a ConfigSource',
  );
}

class Source extends EventEmitter<ConfigSourceEvents> implements ConfigSource {
  readonly [BRAND] = true;
  private snapshot: ConfigSnapshot;
  // The latest valid inputs, even when their merge was rejected: the next change merges onto them.
  private base: ConfigDocument;
  private overlay: Overlay = EMPTY_OVERLAY;
  private readonly file: string | undefined;
  // The hash of the file's text as last read: a rewrite with the same text reloads nothing.
  private fileHash: string | undefined;
  private fileBusy = false;
  private fileAgain = false;
  private readonly watch: FileWatch | undefined;
  private readonly redis: OverlaySync | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: CheckedOptions) {
    super();
    if ('file' in options.base) {
      this.file = options.base.file;
      const { check, text } = readConfigFileSync(this.file);
      if (!check.ok) throw new InvalidConfigError(check.problems, this.file);
      this.base = check.config;
      this.fileHash = sha256(text!);
    } else {
      this.base = parseConfig(options.base.document);
    }
    const first = composeSnapshot(this.base, this.overlay, this.file);
    if (!first.ok) throw first.error;
    this.snapshot = first.snapshot;
    if (options.redis) {
      const host: OverlayHost = {
        inputs: () => ({ base: this.base, overlay: this.overlay }),
        check: (base, overlay) => this.check(base, overlay),
        apply: (base, overlay) => this.apply(base, overlay),
        rejected: (error) => this.emit('rejected', error),
        sourceError: (error) => this.emit('sourceError', error),
      };
      this.redis = new OverlaySync(host, options.redis);
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
    return this.snapshot;
  }

  ready(): Promise<void> {
    return this.redis?.ready ?? Promise.resolve();
  }

  async publish(change: ConfigOverlayChange): Promise<ConfigSnapshot> {
    if (this.redis === undefined) {
      throw new InvalidOptionError(
        'redis',
        undefined,
        'a Redis overlay to publish to: create the ConfigSource with the redis option ({ client, prefix? })',
      );
    }
    if (this.closing) throw new ClosedError('ConfigSource');
    const problems = changeProblems(change);
    if (problems.length) throw new InvalidConfigError(problems, 'the overlay change');
    return this.redis.publish(change);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watch?.close();
      await this.redis?.close();
    })();
    return this.closing;
  }

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  // The merge of these inputs put in force (they become the latest either way): the snapshot, or the error.
  private apply(base: ConfigDocument, overlay: Overlay): ConfigSnapshot | InvalidConfigError {
    this.base = base;
    this.overlay = overlay;
    const result = composeSnapshot(base, overlay, this.file);
    if (!result.ok) {
      this.emit('rejected', result.error);
      return result.error;
    }
    // One assignment: a request that read the previous snapshot keeps it, the next one gets this.
    this.snapshot = result.snapshot;
    this.emit('reloaded', result.snapshot);
    return result.snapshot;
  }

  // The problems of merging these inputs, or undefined when the merge is valid; nothing is put in force.
  private check(base: ConfigDocument, overlay: Overlay): InvalidConfigError | undefined {
    const result = composeSnapshot(base, overlay, this.file);
    return result.ok ? undefined : result.error;
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
      this.emit('rejected', new InvalidConfigError(result.problems, file));
      return;
    }
    this.apply(result.config, this.overlay);
  }
}
