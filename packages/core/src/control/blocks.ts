import { InvalidOptionError } from '../errors.js';
import { ipNetwork, normalizeIp } from '../http/ip.js';
import { jsonObject } from './json-object.js';

// IP blocks as stored and as mirrored. In the store every block is one field of one hash, named by the
// client, the time it began and its reason, so a field is written once and never changed: removing an
// expired field can never remove a newer block of the same client written meanwhile (there is no
// compare-and-delete in the store). A client may thus have several fields for a moment; the newest wins.

/** A client barred from presenting API keys until `untilMs`. */
export interface IpBlock {
  /** The client: an IPv4 address, or an IPv6 /64 network ("2001:db8:1:2::/64"), as `ipNetwork` gives it. */
  readonly ip: string;
  /** When the block ends (ms since the epoch, on the clock of the instance that made it). */
  readonly untilMs: number;
  /** Which offence of this client it answers: 1 for the first block, 2 for the next...; 0 for an admin block. */
  readonly offence: number;
  /** Why: too many invalid API keys, or an operator's decision. */
  readonly reason: 'invalid-keys' | 'admin';
  /** Who made an admin block (the admin token's name), when known. */
  readonly by?: string;
  /** When the block began (same clock as `untilMs`); the newest block of a client is the one in force. */
  readonly sinceMs: number;
}

/** The hash field a block is stored under: written once, never changed. */
export function blockField(block: IpBlock): string {
  return `${block.ip}|${block.sinceMs}|${block.reason}`;
}

/** A block as stored and announced. */
export function blockJson(block: IpBlock): string {
  return JSON.stringify(block);
}

/** A block read back from the store or a message, or undefined when it is not one. */
export function parseBlock(value: unknown): IpBlock | undefined {
  const b = jsonObject(value);
  if (b === undefined) return undefined;
  if (typeof b.ip !== 'string' || b.ip === '') return undefined;
  if (!Number.isFinite(b.untilMs) || !Number.isFinite(b.sinceMs)) return undefined;
  if (typeof b.offence !== 'number' || (b.reason !== 'invalid-keys' && b.reason !== 'admin'))
    return undefined;
  const block: IpBlock = {
    ip: b.ip,
    untilMs: b.untilMs as number,
    offence: b.offence,
    reason: b.reason,
    sinceMs: b.sinceMs as number,
  };
  return typeof b.by === 'string' ? { ...block, by: b.by } : block;
}

/** Whether `a` supersedes `b` for the same client: it began later (or at once and lasts longer). */
export function newer(a: IpBlock, b: IpBlock): boolean {
  return a.sinceMs > b.sinceMs || (a.sinceMs === b.sinceMs && a.untilMs > b.untilMs);
}

/** The blocks hash read whole: the block in force per client, every client's fields, and dead fields. */
export interface BlocksRead {
  /** The newest live block of each client. */
  readonly live: Map<string, IpBlock>;
  /** Every field of each client, live or not (what lifting a block deletes). */
  readonly fields: Map<string, string[]>;
  /** Fields that hold an expired block or no block at all: safe to delete, since fields never change. */
  readonly dead: string[];
}

/** Sorts the fields of the blocks hash out, at time `now`. */
export function readBlocks(hash: Readonly<Record<string, string>>, now: number): BlocksRead {
  const live = new Map<string, IpBlock>();
  const fields = new Map<string, string[]>();
  const dead: string[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const block = parseBlock(value);
    if (block === undefined) {
      dead.push(field);
      continue;
    }
    let own = fields.get(block.ip);
    if (own === undefined) {
      own = [];
      fields.set(block.ip, own);
    }
    own.push(field);
    if (block.untilMs <= now) {
      dead.push(field);
      continue;
    }
    const current = live.get(block.ip);
    if (current === undefined || newer(block, current)) live.set(block.ip, block);
  }
  return { live, fields, dead };
}

/**
 * An address an operator names for a block, normalised as the HTTP layer keys clients: an IPv4 address
 * (IPv4-mapped IPv6 folded to it), or an IPv6 network "<address>/64" (host bits dropped); a bare IPv6
 * address stands for its /64. Anything else throws InvalidOptionError naming `field`.
 */
export function blockTarget(value: unknown, field = 'ip'): string {
  const expected =
    'an IPv4 address such as "203.0.113.7", or an IPv6 /64 network such as "2001:db8:1:2::/64"';
  if (typeof value !== 'string') throw new InvalidOptionError(field, value, expected);
  const text = value.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  if (slash >= 0 && text.slice(slash + 1) !== '64') throw new InvalidOptionError(field, value, expected);
  const ip = address === '' ? undefined : normalizeIp(address);
  if (ip === undefined) throw new InvalidOptionError(field, value, expected);
  const v6 = ip.includes(':');
  // "/64" after an IPv4 address (or an IPv4-mapped one) names no network the HTTP layer keys by.
  if (slash >= 0 && !v6) throw new InvalidOptionError(field, value, expected);
  return v6 ? ipNetwork(ip)! : ip;
}

/**
 * This instance's copy of the blocks in force, read on every request without a round trip. Kept current
 * by announcements and by periodic full reads of the store; a change made here or announced while a full
 * read was under way stays as it is when that read lands, so a read that began before it cannot undo it.
 */
export class BlockMirror {
  private blocks = new Map<string, IpBlock>();
  // The last change to each client made or heard while a full read may have been under way.
  private readonly touched = new Map<string, number>();
  private seq = 0;

  /** The block in force on `ip` at `now`, if any (an expired one is dropped). */
  get(ip: string, now: number): IpBlock | undefined {
    const block = this.blocks.get(ip);
    if (block === undefined) return undefined;
    if (block.untilMs > now) return block;
    this.blocks.delete(ip);
    return undefined;
  }

  /** How many clients the mirror holds (expired ones included until read). */
  get size(): number {
    return this.blocks.size;
  }

  /** Records a block made here or announced, unless a newer one of that client is already held. */
  put(block: IpBlock): void {
    const current = this.blocks.get(block.ip);
    if (current !== undefined && !newer(block, current)) return;
    this.blocks.set(block.ip, block);
    this.touch(block.ip);
  }

  /** Drops `ip`'s block; whether one was in force at `now`. */
  remove(ip: string, now: number): boolean {
    const had = this.get(ip, now) !== undefined;
    this.blocks.delete(ip);
    this.touch(ip);
    return had;
  }

  /** Marks the start of a full read of the store; hand the mark to `replace`. */
  mark(): number {
    return this.seq;
  }

  /** Replaces the mirror with a full read begun at `mark`, keeping what changed here since. */
  replace(fromStore: ReadonlyMap<string, IpBlock>, mark: number): void {
    const next = new Map(fromStore);
    for (const [ip, seq] of this.touched) {
      if (seq <= mark) {
        this.touched.delete(ip);
        continue;
      }
      const kept = this.blocks.get(ip);
      const read = next.get(ip);
      if (kept === undefined) next.delete(ip);
      else if (read === undefined || newer(kept, read)) next.set(ip, kept);
    }
    this.blocks = next;
  }

  /** The blocks in force at `now`. */
  live(now: number): IpBlock[] {
    return [...this.blocks.values()].filter((b) => b.untilMs > now);
  }

  private touch(ip: string): void {
    this.touched.set(ip, ++this.seq);
  }
}
