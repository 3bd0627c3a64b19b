import { InvalidConfigError } from '../../errors.js';
import type { ConfigDocument } from '../config/document.js';
import type { ConfigSnapshot } from '../snapshot.js';
import { ConfigVersionError } from './version-error.js';
import type { CheckedOptions } from './options.js';
import {
  type ConfigOverlayChange,
  changeFields,
  decodeOverlay,
  expiredKeyFields,
  type Overlay,
  withExpiredRemoved,
  withFields,
} from './overlay.js';
import { RedisOverlayStore, type StoredOverlay } from './redis-overlay.js';

// Keeping a source's overlay in step with Redis: read at start, on every announcement, whenever a poll sees
// another version, and after a reconnect; written by publish with a compare-and-set.

/** Attempts at a publish that others keep overtaking before it gives up. */
const PUBLISH_ATTEMPTS = 5;

/** What OverlaySync needs of its source: the latest inputs, a dry-run merge, and putting a merge in force. */
export interface OverlayHost {
  /** The latest valid base and overlay. */
  inputs(): { base: ConfigDocument; overlay: Overlay };
  /** The version of merging these inputs, or its problems; nothing is put in force. */
  check(base: ConfigDocument, overlay: Overlay): { version: string } | InvalidConfigError;
  /** Puts the merge of these inputs in force (they become the latest either way): the snapshot, or the error. */
  apply(base: ConfigDocument, overlay: Overlay): ConfigSnapshot | InvalidConfigError;
  /** Emits `rejected`. */
  rejected(error: InvalidConfigError): void;
  /** Emits `sourceError`. */
  sourceError(error: Error): void;
  /** Redis answers again after a sourceError of the command connection. */
  recovered(): void;
  /** The time in ms, by which overlay keys expire. */
  now(): number;
}

/** The Redis side of a source: reads on start, on every announcement and whenever a poll sees a new version. */
export class OverlaySync {
  readonly ready: Promise<void>;
  private readonly store: RedisOverlayStore;
  private readonly poller: NodeJS.Timeout;
  // Redis work runs one task at a time, so a slow read can never put an older overlay over a newer one.
  private lane: Promise<unknown> = Promise.resolve();
  private readQueued = false;
  private polling = false;
  private subscribed = false;
  private subscribing: Promise<void> | undefined;
  // The version counter's text as last read (undefined before the first read): a poll that sees another reads.
  private seen: string | undefined;
  // One sourceError per outage of each connection, not one per failed attempt.
  private readonly down = { commands: false, subscriber: false };
  private closed = false;

  constructor(
    private readonly host: OverlayHost,
    options: NonNullable<CheckedOptions['redis']>,
  ) {
    this.store = new RedisOverlayStore(options.client, options.prefix);
    this.store.commands.on('error', (error: Error) => this.failed('commands', error));
    // Back after an outage: whatever was written meanwhile is read now rather than at the next poll.
    this.store.commands.on('ready', () => this.requestRead());
    this.store.subscriber.on('error', (error: Error) => this.failed('subscriber', error));
    this.store.subscriber.on('ready', () => {
      this.down.subscriber = false;
      if (!this.subscribed) void this.subscribe();
    });
    if (typeof options.client !== 'string') {
      // The app quitting its client expects Redis to hold nothing open; our duplicates would.
      options.client.once('end', () => void this.close());
    }
    // Subscribed before the first read, so nothing written after that read goes unannounced.
    this.store.listen((version) => {
      if (version !== this.seen) this.requestRead();
    });
    this.ready = this.subscribe().then(() => this.readNow());
    this.poller = setInterval(() => this.poll(), options.pollMs).unref();
  }

  /**
   * Writes `change` with a compare-and-set on the overlay's version; with `ifVersion`, only while the
   * configuration as stored (this base, the overlay as read in the same attempt) still has that version.
   */
  async publish(change: ConfigOverlayChange, ifVersion?: string): Promise<ConfigSnapshot> {
    return this.enqueue(async () => {
      const changed = changeFields(change);
      for (let attempt = 1; ; attempt++) {
        const stored = await this.store.read();
        const { base } = this.host.inputs();
        if (ifVersion !== undefined) this.checkVersion(base, stored.fields, stored.version, ifVersion);
        // Expired key entries go with any write, so the overlay does not keep them for ever.
        const fields = withExpiredRemoved(changed, expiredKeyFields(stored.fields, this.host.now()));
        // The change applies to the fields as stored, so a change can also repair a field that cannot be read.
        const decoded = decodeOverlay(withFields(stored.fields, fields), stored.version);
        if (!decoded.ok) throw new InvalidConfigError(decoded.problems, 'the Redis overlay after the change');
        const check = this.host.check(base, decoded.overlay);
        if (check instanceof InvalidConfigError) throw check;
        const version = await this.store.write(stored.version, fields.set, fields.remove);
        if (version === undefined) {
          if (attempt < PUBLISH_ATTEMPTS) continue;
          throw new Error(
            `The Redis overlay changed under ${PUBLISH_ATTEMPTS} attempts to publish in a row; nothing was written. Try again.`,
          );
        }
        this.seen = String(version);
        const overlay = { ...decoded.overlay, version };
        // A file reload during the awaits above could make the merge fail now; the write stands, and every
        // instance rejects it alike (rejected event), as it would any overlay written with another base.
        const result = this.host.apply(this.host.inputs().base, overlay);
        this.store.announce(version).catch((error: Error) => this.failed('commands', error));
        if (result instanceof InvalidConfigError) throw result;
        return result;
      }
    });
  }

  // Throws ConfigVersionError unless the configuration as stored has the version the caller expects.
  private checkVersion(
    base: ConfigDocument,
    fields: Record<string, string>,
    version: number | undefined,
    expected: string,
  ): void {
    const decoded = decodeOverlay(fields, version);
    const check = decoded.ok ? this.host.check(base, decoded.overlay) : undefined;
    const current = check === undefined || check instanceof InvalidConfigError ? undefined : check.version;
    if (current !== expected) throw new ConfigVersionError(expected, current);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    this.store.close();
    await this.lane.catch(() => {});
  }

  // Never rejects: a failure is a sourceError, and the subscriber's next 'ready' tries again.
  private subscribe(): Promise<void> {
    this.subscribing ??= this.store.subscribe().then(
      () => {
        this.subscribed = true;
        this.subscribing = undefined;
      },
      (error: Error) => {
        this.subscribing = undefined;
        this.failed('subscriber', error);
      },
    );
    return this.subscribing;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.catch(() => {});
    return run;
  }

  private readNow(): Promise<void> {
    this.readQueued = true;
    return this.enqueue(() => this.read());
  }

  private requestRead(): void {
    if (this.readQueued || this.closed) return;
    void this.readNow();
  }

  private poll(): void {
    if (this.polling || this.closed) return;
    this.polling = true;
    this.store.readVersion().then(
      (version) => {
        this.polling = false;
        this.up();
        if (version !== this.seen) this.requestRead();
      },
      (error: Error) => {
        this.polling = false;
        this.failed('commands', error);
      },
    );
  }

  private async read(): Promise<void> {
    this.readQueued = false;
    if (this.closed) return;
    let stored: StoredOverlay;
    try {
      stored = await this.store.read();
    } catch (error) {
      this.failed('commands', error as Error);
      return;
    }
    this.up();
    if (this.closed) return;
    this.seen = stored.version === undefined ? '' : String(stored.version);
    const decoded = decodeOverlay(stored.fields, stored.version);
    if (!decoded.ok) {
      this.host.rejected(
        new InvalidConfigError(decoded.problems, `the Redis overlay (version ${stored.version})`),
      );
      return;
    }
    const { base, overlay } = this.host.inputs();
    if (decoded.overlay.digest === overlay.digest && decoded.overlay.version === overlay.version) return;
    this.host.apply(base, decoded.overlay);
  }

  // The command connection answered: after an outage, the host hears that it is over.
  private up(): void {
    if (!this.down.commands) return;
    this.down.commands = false;
    if (!this.closed) this.host.recovered();
  }

  private failed(connection: 'commands' | 'subscriber', error: Error): void {
    if (this.closed || this.down[connection]) return;
    this.down[connection] = true;
    this.host.sourceError(error);
  }
}
