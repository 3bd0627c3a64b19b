import type { StepOutcome } from '../algorithms/types.js';
import { retryOf } from '../decision.js';
import { paramArgs, shapeOf } from './lua.js';
import type { Client } from './redis-connection.js';
import { ResetChannel } from './reset-channel.js';
import type { Clock, Keyspace } from './types.js';

/** What the deny cache has counted, for `health()`. */
export interface DenyCacheCounters {
  /** Decisions refused in this process from an earlier refusal by Redis, without a Redis call. */
  deniedLocally: number;
}

/** How many client keys the deny cache holds refusals for at most; the least recently refused go first. */
export const DENY_CACHE_KEYS = 10_000;

// One refusal by Redis: every cost from `cost` up is refused until `until` (the local clock).
interface Denial {
  readonly cost: number;
  // When the refused call was sent: its retry counts from there, so the cache never outlasts Redis's refusal.
  readonly sentAt: number;
  readonly until: number;
  readonly outcomes: readonly StepOutcome[];
}

// What the cache derives from a keyspace, once.
interface SpaceFacts {
  // Its names and its members' parameters.
  readonly id: string;
  // The most any request may cost and still be allowed some day, as far as every member is concerned.
  readonly smallestLimit: number;
}

// The decision path the cache sits in front of.
type Evaluate = (
  space: Keyspace,
  key: string,
  cost: number,
  peek: boolean,
) => Promise<readonly StepOutcome[]>;

/**
 * Remembers Redis's refusals in process: once a key is refused for a cost until a known time, requests for
 * it at that cost or more are refused here until then, so a client hammering past its limit costs no Redis
 * call. A cheaper request, a peek, and anything after that time ask Redis.
 *
 * It never refuses longer than Redis would: a refusal counts from when its call was sent, and a reset
 * (this instance's, or another's heard on the reset channel) forgets the key. Entries exist only while
 * the reset channel is listening, since a reset announced while it is not would be missed.
 */
export class DenyCache {
  /** What the cache has counted. */
  readonly counters: DenyCacheCounters = { deniedLocally: 0 };
  // Client key -> keyspace id -> refusal. By client key first, so a reset (under whatever keyspace) finds
  // every limit of the key; the keyspace id holds the parameters, so a changed rate never hits an old entry.
  private readonly denials = new Map<string, Map<string, Denial>>();
  private readonly spaces = new WeakMap<Keyspace, SpaceFacts>();
  private readonly channel: ResetChannel;
  private readonly now: Clock;
  private listening = false;
  // Moves on every forget: a refusal from a call sent before it may predate the reset, so is not kept.
  private generation = 0;

  constructor(
    connection: Client,
    clock: Clock | undefined,
    private readonly maxKeys = DENY_CACHE_KEYS,
  ) {
    this.now = clock ?? (() => performance.now());
    this.channel = new ResetChannel(connection, {
      heard: (key) => this.forget(key),
      listening: (on) => {
        this.listening = on;
        this.forgetAll();
      },
    });
  }

  /**
   * Answers from a refusal still in force for this cost (synchronously), or else asks `next` and learns
   * from its answer. Peeks are never answered here: they read, and a reader wants Redis's view.
   */
  evaluate(
    next: Evaluate,
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
  ): readonly StepOutcome[] | Promise<readonly StepOutcome[]> {
    if (!peek) {
      const refused = this.refusal(space, key, cost);
      if (refused !== undefined) return refused;
    }
    // Taken before the call goes out, so the retry Redis gives is counted from no later than it ran.
    const sentAt = this.now();
    const generation = this.generation;
    return next(space, key, cost, peek).then((outcomes) => {
      this.learn(space, key, cost, peek, sentAt, generation, outcomes);
      return outcomes;
    });
  }

  /** Forgets `key` once `deleted` settles, here and (when it succeeded) on every instance sharing the Redis. */
  async forgetAfter(key: string, deleted: void | Promise<void>): Promise<void> {
    try {
      await deleted;
    } finally {
      // After the delete, not before: a refusal sent in between would be learnt again.
      this.forget(key);
    }
    // Best effort: an instance that misses it refuses no longer than Redis said when it cached the refusal.
    await this.channel.announce(key).catch(() => {});
  }

  /** Stops listening for resets and forgets everything. */
  close(): void {
    this.channel.close();
    this.forgetAll();
  }

  private refusal(space: Keyspace, key: string, cost: number): StepOutcome[] | undefined {
    const bySpace = this.denials.get(key);
    if (bySpace === undefined) return undefined;
    const facts = this.factsOf(space);
    const id = facts.id;
    const denial = bySpace.get(id);
    if (denial === undefined) return undefined;
    const now = this.now();
    if (now >= denial.until) {
      bySpace.delete(id);
      if (bySpace.size === 0) this.denials.delete(key);
      return undefined;
    }
    if (cost < denial.cost) return undefined;
    // A dearer request than the one refused may cost more than a member holds, which Redis answers with
    // "never" rather than this refusal's retry: it asks, unless this refusal already says never.
    if (cost > denial.cost && cost > facts.smallestLimit && denial.until !== Number.POSITIVE_INFINITY) {
      return undefined;
    }
    this.counters.deniedLocally++;
    return aged(denial.outcomes, now - denial.sentAt);
  }

  private learn(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
    sentAt: number,
    generation: number,
    outcomes: readonly StepOutcome[],
  ): void {
    // The longest any refusing member refuses: Redis refuses the request as long as one of them does.
    let refused = false;
    let horizon = 0;
    for (const o of outcomes) {
      if (o.allowed) continue;
      refused = true;
      const h = retryOf(o);
      if (h > horizon) horizon = h;
    }
    const bySpace = this.denials.get(key);
    const id = bySpace === undefined ? undefined : this.factsOf(space).id;
    const known = id === undefined ? undefined : bySpace!.get(id);
    if (!refused) {
      // Allowed at this cost, asked after the refusal was: the key was reset, and the refusal is stale.
      if (known !== undefined && cost >= known.cost && sentAt >= known.sentAt) this.forget(key);
      return;
    }
    if (peek || horizon === 0) return;
    if (!this.listening) {
      this.channel.listen();
      return;
    }
    if (generation !== this.generation) return;
    // A live refusal at a lower cost says more than this one.
    if (known !== undefined && known.cost < cost && this.now() < known.until) return;
    const denial: Denial = { cost, sentAt, until: sentAt + horizon, outcomes };
    if (bySpace === undefined) {
      this.denials.set(key, new Map([[this.factsOf(space).id, denial]]));
      if (this.denials.size > this.maxKeys) this.denials.delete(this.denials.keys().next().value!);
    } else {
      bySpace.set(id!, denial);
      // Most recently refused last, so the oldest key is the first to go.
      this.denials.delete(key);
      this.denials.set(key, bySpace);
    }
  }

  private forget(key: string): void {
    this.generation++;
    this.denials.delete(key);
  }

  private forgetAll(): void {
    this.generation++;
    this.denials.clear();
  }

  private factsOf(space: Keyspace): SpaceFacts {
    let facts = this.spaces.get(space);
    if (facts === undefined) {
      facts = {
        // Names alone leave out the rate, which may change (a reload, a tier) while the names stay.
        id: `${space.names.join(' ')}|${shapeOf(space.members)}|${paramArgs(space.members).join(' ')}`,
        smallestLimit: Math.min(...space.members.map((m) => m.limit)),
      };
      this.spaces.set(space, facts);
    }
    return facts;
  }
}

// Redis's outcomes `elapsed` ms later: durations shortened, and a member whose refusal ran out shown as
// allowing (the decision stays refused while another member refuses).
function aged(outcomes: readonly StepOutcome[], elapsed: number): StepOutcome[] {
  return outcomes.map((o) => {
    const resetAfterMs = Math.max(0, Math.ceil(o.resetAfterMs - elapsed));
    if (o.allowed || o.retryAfterMs < 0) return { ...o, resetAfterMs };
    const retryAfterMs = Math.ceil(o.retryAfterMs - elapsed);
    if (retryAfterMs <= 0) return { allowed: true, remaining: o.remaining, resetAfterMs, retryAfterMs: 0 };
    return { allowed: false, remaining: o.remaining, resetAfterMs, retryAfterMs };
  });
}
