import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fixedWindow } from '../algorithms/fixed-window.js';
import type { Clock } from '../backends/types.js';
import type { Decision } from '../decision.js';
import { ClosedError, InvalidOptionError } from '../errors.js';
import { ipNetwork } from '../http/ip.js';
import { clientId, sha256 } from '../key-names.js';
import { RateLimiter } from '../limiter.js';
import { isWellFormed } from '../well-formed.js';
import {
  BlockMirror,
  blockField,
  blockJson,
  blockTarget,
  type IpBlock,
  newer,
  parseBlock,
  readBlocks,
} from './blocks.js';
import { jsonObject } from './json-object.js';
import { LocalOffences } from './protection-offences.js';
import {
  blockDuration,
  type KeyProtectionSetup,
  type ProtectionSettings,
  protectionSettings,
} from './protection-options.js';
import { controlStoreOf } from './store-of.js';
import type { ControlStore } from './store.js';

/** What KeyProtection emits, on the instance where the change was made (not on those that hear of it). */
export interface KeyProtectionEvents {
  /** A client was blocked: by too many invalid keys, or by an operator. */
  blocked: [block: IpBlock];
  /** An operator lifted a block in force (a block that simply expires emits nothing). */
  unblocked: [ip: string, by: string | undefined];
}

// The invalid-key count is a scope of the prefix's limiter keys ("<prefix>:{ip:<client>}:invalid-keys:..."),
// so it never shares a count with a route's limit, and all of one client's keys stay in one Cluster slot.
const SCOPE = { scope: 'invalid-keys' } as const;
// Longest client value used as is; longer ones (never an address) are hashed.
const MAX_CLIENT_LENGTH = 256;

/**
 * Guards API keys against guessing. Before a key is looked up, `wellFormed` checks its format and `blockOf`
 * whether the client IP is blocked (from a local mirror: no round trip). Each invalid key is reported with
 * `invalidAttempt`; the `maxInvalid`-th within `window` from one IP (IPv6 by /64) blocks that IP for
 * `blockFor`, doubled per repeat offence up to `maxBlock`; a client's offences are forgotten once it has
 * gone `forgetAfter` after its last block ended without a new one. Blocks live in the backend (hash "<prefix>:blocks", announced on channel "<prefix>:blocks"), so
 * every instance enforces them; the mirror follows the announcements and re-reads the hash every
 * `refreshMs` once `start()`ed. The count of invalid keys is a RateLimiter on the backend that decides in
 * this process's memory while the backend fails (never open), and blocks made then are written once the
 * store answers again. Works alike on the memory backend (one process).
 */
export class KeyProtection extends EventEmitter<KeyProtectionEvents> {
  private readonly settings: ProtectionSettings;
  private readonly store: ControlStore;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly mirror = new BlockMirror();
  private readonly offences: LocalOffences;
  // Blocks made while the store failed, by field: enforced here, and written when the store answers.
  private readonly pending = new Map<string, IpBlock>();
  private readonly blocksKey: string;
  private readonly instance = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(options: KeyProtectionSetup) {
    super();
    const s = protectionSettings(options);
    this.settings = s;
    this.store = s.store ?? controlStoreOf(s.backend);
    this.clock = s.clock;
    this.blocksKey = `${s.prefix}:blocks`;
    this.offences = new LocalOffences();
    this.limiter = new RateLimiter({
      algorithm: fixedWindow({ limit: s.maxInvalid, window: s.windowMs }),
      backend: s.backend,
      prefix: s.prefix,
      // Whatever the limiters' own policy: a guessing client must never be waved through by an outage.
      onBackendError: 'local',
    });
  }

  /** Whether a presented key has an acceptable format (checked before any lookup); not: an invalid key. */
  wellFormed(key: string): boolean {
    return typeof key === 'string' && this.settings.keyPattern.test(key);
  }

  /** The block in force on this client IP (IPv6 by /64), from the local mirror (no round trip), or undefined. */
  blockOf(ip: string | undefined): IpBlock | undefined {
    if (this.mirror.size === 0) return undefined;
    const client = clientOf(ip);
    return client === undefined ? undefined : this.mirror.get(client, this.clock());
  }

  /**
   * Counts one invalid key from `ip`. The attempt that reaches `maxInvalid` within the window blocks the IP
   * (shared through the store; emits 'blocked') and resolves to the block; an IP already blocked here
   * resolves to its block without counting; otherwise undefined. Never rejects; an undefined or blank `ip`
   * is not counted.
   */
  async invalidAttempt(ip: string | undefined): Promise<IpBlock | undefined> {
    try {
      const client = clientOf(ip);
      if (client === undefined) return undefined;
      const held = this.mirror.get(client, this.clock());
      if (held !== undefined) return held;
      const decision = await this.count(client);
      if (decision.allowed && decision.remaining > 0) return undefined;
      // Past the count, the attempt that reached it made the block (maybe on another instance, its
      // announcement still on the way): blocking again would count one offence twice.
      if (!decision.allowed) return this.mirror.get(client, this.clock());
      return await this.impose(client);
    } catch {
      return undefined;
    }
  }

  /**
   * The blocks in force, one per client, sorted by IP: read from the store, with blocks this instance made
   * while the store failed. When the store cannot be read, the blocks this instance's mirror enforces.
   */
  async list(): Promise<IpBlock[]> {
    const now = this.clock();
    let live: Map<string, IpBlock>;
    try {
      const [hash] = await this.store.hashesRead([this.blocksKey]);
      live = readBlocks(hash ?? {}, now).live;
    } catch {
      live = new Map(this.mirror.live(now).map((b) => [b.ip, b]));
    }
    this.withPending(live, now);
    return [...live.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }

  /**
   * Blocks `ip` (an IPv4 address, or an IPv6 /64 network "<address>/64"; a bare IPv6 address stands for its
   * /64) for `durationMs` from now, replacing any block it had, shorter or longer. Rejects with
   * InvalidOptionError naming `ip` or `durationMs`, or with the store's failure. Emits 'blocked'.
   */
  async block(ip: string, durationMs: number, by?: string): Promise<IpBlock> {
    const client = blockTarget(ip, 'ip');
    if (typeof durationMs !== 'number' || !Number.isSafeInteger(durationMs) || durationMs <= 0) {
      throw new InvalidOptionError('durationMs', durationMs, 'a positive integer number of milliseconds');
    }
    if (by !== undefined && typeof by !== 'string') {
      throw new InvalidOptionError('by', by, 'a string naming who blocks, or undefined');
    }
    const now = this.clock();
    const block: IpBlock = {
      ip: client,
      untilMs: now + durationMs,
      offence: 0,
      reason: 'admin',
      sinceMs: now,
      ...(by === undefined ? {} : { by }),
    };
    const field = blockField(block);
    const [hash] = await this.store.hashesRead([this.blocksKey]);
    const others = (readBlocks(hash ?? {}, now).fields.get(client) ?? []).filter((f) => f !== field);
    await this.store.hashSet(this.blocksKey, field, blockJson(block));
    await Promise.all(others.map((f) => this.store.hashDelete(this.blocksKey, f)));
    this.dropPending(client);
    this.mirror.remove(client, now);
    this.mirror.put(block);
    await this.announce({ block });
    this.tell('blocked', block);
    return block;
  }

  /**
   * Lifts the block on `ip` (as `block` names it) on every instance, and forgets the client's offences
   * and its current count of invalid keys, so its next block is a first one: an operator lifting a block
   * means it was a mistake. Resolves to whether a block was in force; emits 'unblocked' when one was.
   * Rejects with InvalidOptionError naming `ip`, or with the store's failure.
   */
  async unblock(ip: string, by?: string): Promise<boolean> {
    const client = blockTarget(ip, 'ip');
    const now = this.clock();
    const [hash] = await this.store.hashesRead([this.blocksKey]);
    const read = readBlocks(hash ?? {}, now);
    await Promise.all((read.fields.get(client) ?? []).map((f) => this.store.hashDelete(this.blocksKey, f)));
    await this.store.delete(this.offenceKey(client));
    try {
      await this.limiter.reset(clientId('ip', client), SCOPE);
    } catch {
      // The count runs out with its window anyway.
    }
    let had = read.live.has(client);
    if (this.dropPending(client, now)) had = true;
    if (this.mirror.remove(client, now)) had = true;
    this.offences.forget(client);
    await this.announce({ unblock: client });
    if (had) this.tell('unblocked', client, by);
    return had;
  }

  /**
   * Starts the mirror: listens to announcements and re-reads every block each `refreshMs` (timers unref'd,
   * so they never keep a process alive). Without it, an instance enforces only the blocks it made itself.
   */
  start(): void {
    if (this.closed) throw new ClosedError('KeyProtection');
    if (this.timer !== undefined) return;
    this.unsubscribe = this.store.subscribe(this.blocksKey, (message) => this.hear(message));
    this.timer = setInterval(() => void this.refresh(), this.settings.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  /** Stops the mirror (timer and subscription) and waits for a read under way; the store stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.refreshing;
  }

  /** Reads every block into the mirror now (what the timer does); resolves when done, never rejects. */
  refresh(): Promise<void> {
    if (this.refreshing === undefined && !this.closed) {
      this.refreshing = this.refreshOnce().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing ?? Promise.resolve();
  }

  private async refreshOnce(): Promise<void> {
    const mark = this.mirror.mark();
    let hash: Record<string, string> | undefined;
    try {
      [hash] = await this.store.hashesRead([this.blocksKey]);
    } catch {
      // Unreachable store: the mirror stays as it is, and its blocks end by their own untilMs.
      return;
    }
    const now = this.clock();
    const read = readBlocks(hash ?? {}, now);
    const live = new Map(read.live);
    this.withPending(live, now);
    this.mirror.replace(live, mark);
    // Fields never change, so a dead one can be deleted without losing a block written meanwhile.
    const work = read.dead.map((f) => this.store.hashDelete(this.blocksKey, f));
    for (const [field, block] of this.pending) {
      work.push(this.persist(block).then(() => this.pending.delete(field)));
    }
    await Promise.allSettled(work);
  }

  // One count of the client's invalid keys; a failure the limiter's local fallback does not cover (a
  // closed backend) is decided locally all the same.
  private async count(client: string): Promise<Decision> {
    const key = clientId('ip', client);
    try {
      return await this.limiter.limit(key, SCOPE);
    } catch {
      return this.limiter.decideLocally(key, SCOPE);
    }
  }

  private async impose(client: string): Promise<IpBlock> {
    const now = this.clock();
    const s = this.settings;
    const key = this.offenceKey(client);
    const { n, stored } = await this.nextOffence(client, key, now);
    const durationMs = blockDuration(n, s.blockForMs, s.maxBlockMs);
    const block: IpBlock = {
      ip: client,
      untilMs: now + durationMs,
      offence: n,
      reason: 'invalid-keys',
      sinceMs: now,
    };
    this.mirror.put(block);
    // Offences are forgotten forgetAfter after the block ends: a blocked client cannot offend, so only
    // time it spends free without offending clears its record.
    this.offences.record(client, n, block.untilMs + s.forgetAfterMs);
    let written = false;
    if (stored) {
      try {
        await Promise.all([this.store.hashAdd(key, {}, durationMs + s.forgetAfterMs), this.persist(block)]);
        written = true;
      } catch {
        // Kept below and written by the next refresh that reaches the store.
      }
    }
    if (!written) this.pending.set(blockField(block), block);
    this.tell('blocked', block);
    return block;
  }

  // The number of this offence: counted in the store, never below what this process remembers; here
  // alone when the store fails. The count's TTL covers the longest block until impose sets the real one.
  private async nextOffence(
    client: string,
    key: string,
    now: number,
  ): Promise<{ n: number; stored: boolean }> {
    const local = this.offences.next(client, now);
    const s = this.settings;
    try {
      await this.store.hashAdd(key, { n: 1 }, s.maxBlockMs + s.forgetAfterMs);
      const [hash] = await this.store.hashesRead([key]);
      const counted = Number(hash?.n);
      return {
        n: Number.isSafeInteger(counted) && counted > 0 ? Math.max(counted, local) : local,
        stored: true,
      };
    } catch {
      return { n: local, stored: false };
    }
  }

  private async persist(block: IpBlock): Promise<void> {
    await Promise.all([
      this.store.hashSet(this.blocksKey, blockField(block), blockJson(block)),
      this.store.publish(this.blocksKey, JSON.stringify({ from: this.instance, block })),
    ]);
  }

  // Tells the other instances; a lost message is caught up by their next refresh.
  private async announce(change: { block: IpBlock } | { unblock: string }): Promise<void> {
    try {
      await this.store.publish(this.blocksKey, JSON.stringify({ from: this.instance, ...change }));
    } catch {
      // Best effort, as pub/sub always is.
    }
  }

  private hear(message: string): void {
    if (this.closed) return;
    const m = jsonObject(message);
    if (m === undefined || m.from === this.instance) return;
    const now = this.clock();
    if (typeof m.unblock === 'string') {
      this.mirror.remove(m.unblock, now);
      this.dropPending(m.unblock);
      this.offences.forget(m.unblock);
      return;
    }
    const block = parseBlock(m.block);
    if (block === undefined || block.untilMs <= now) return;
    // An operator's block replaces whatever the client had; an earned one only a less recent one.
    if (block.reason === 'admin') this.mirror.remove(block.ip, now);
    this.mirror.put(block);
  }

  // Adds the blocks made here while the store failed to `live` (they are enforced here all the same).
  private withPending(live: Map<string, IpBlock>, now: number): void {
    for (const [field, block] of this.pending) {
      if (block.untilMs <= now) {
        this.pending.delete(field);
        continue;
      }
      const current = live.get(block.ip);
      if (current === undefined || newer(block, current)) live.set(block.ip, block);
    }
  }

  // Drops `client`'s blocks waiting to be written; whether one was in force at `now` (when given).
  private dropPending(client: string, now?: number): boolean {
    let had = false;
    for (const [field, block] of this.pending) {
      if (block.ip !== client) continue;
      if (now !== undefined && block.untilMs > now) had = true;
      this.pending.delete(field);
    }
    return had;
  }

  private offenceKey(client: string): string {
    return `${this.settings.prefix}:offences:${client}`;
  }

  // A listener's failure is its own: it never turns an invalid attempt into an unblocked client.
  private tell<E extends keyof KeyProtectionEvents>(event: E, ...args: KeyProtectionEvents[E]): void {
    try {
      (this.emit as (e: E, ...a: KeyProtectionEvents[E]) => boolean)(event, ...args);
    } catch {
      // Ignored on purpose.
    }
  }
}

/** The client an IP is counted and blocked as: ipNetwork's value (IPv6 by /64), hashed when odd or long. */
function clientOf(ip: string | undefined): string | undefined {
  const network = ipNetwork(ip);
  if (network === undefined) return undefined;
  if (network.length > MAX_CLIENT_LENGTH || !isWellFormed(network)) return `#${sha256(network)}`;
  return network;
}
