import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { StepOutcome } from '../algorithms/types.js';
import { type Bounded, Deadlines } from '../deadlines.js';
import { BackendError, BackendTimeoutError, ClosedError } from '../errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { composeScript, paramArgs, REPLY_KEPT_MS, readOutcome, type Script } from './lua.js';
import { evalshaCommand } from './ioredis.js';
import { NodePipelines, slotOf, turnedAway } from './node-pipelines.js';
import { type Client, isReady } from './redis-connection.js';
import type { Backend, Clock, Keyspace } from './types.js';

/** What the decision path has counted, for `health()`. */
export interface DecisionCounters {
  /** Batches sent again after their connection dropped with them in flight (each answered once). */
  resent: number;
  /**
   * Charges Redis applied for callers answered without it: replies that came after the caller's deadline,
   * and replies lost with a dropped connection that were read back (from the reply the script kept) once it
   * was back. The one over-count left, reported as a figure.
   */
  lateReplies: number;
  /** Batches the script refused because they reached Redis past their deadline (nothing charged). */
  refusedLate: number;
  /**
   * Decisions (peeks aside) of batches whose connection dropped with them in flight and came back too late
   * to tell whether they ran (their kept reply had expired; on a Cluster no reply is kept): an upper bound
   * on charges not in lateReplies.
   */
  unverified: number;
}

// A batch that was sent, failed without a reply, and could not be sent again in time: whether it ran is
// read back from the reply it kept, once the connection is back.
interface UnknownFate {
  readonly replyKey: string;
  readonly peeks: readonly boolean[];
  readonly members: number;
  // performance.now() after which the kept reply is gone.
  readonly until: number;
}

// One caller of evaluate. It is its own entry in the deadlines (no promise racing the answer's: that cost
// a promise, an entry and three closures per decision), rejected there when its time runs out.
class Waiter implements Bounded {
  resolve!: (outcomes: StepOutcome[]) => void;
  reject!: (error: unknown) => void;
  // Set when the caller's deadline passed first: its answer was given without Redis.
  answered = false;
  // Its place in the deadlines (set by track).
  seq: number | undefined = undefined;

  constructor(
    private readonly owner: RedisDecisions,
    readonly peek: boolean,
    // The breaker's token and the call's start, when a breaker watches the calls.
    readonly token: number,
    readonly started: number,
    readonly deadline: number,
  ) {}

  expire(): void {
    this.owner.expired(this);
  }
}

// A keyspace's script (shared by every keyspace of its shape) and its parameters as ARGV strings, made
// once per keyspace so a call only copies them; and its batches being filled.
interface SpaceScript {
  readonly script: Script;
  readonly params: readonly string[];
  // The batch being filled: on a standalone server the one; on a Cluster one per hash slot, in `bySlot`,
  // whose entry is set back to undefined when it goes out rather than deleted. Neither is a Map added to
  // and deleted from per batch: such churn replaces a Map's table every few hundred calls, and V8 links
  // each replaced table to the next, which keeps batches alive past young-generation collections (see
  // Deadlines).
  batch: Batch | undefined;
  readonly bySlot: Map<number, Batch | undefined> | undefined;
}

// The keyspace's batch being filled for a hash slot (the one batch on a standalone server).
function filling(s: SpaceScript, slot: number): Batch | undefined {
  return s.bySlot === undefined ? s.batch : s.bySlot.get(slot);
}

function setFilling(s: SpaceScript, slot: number, batch: Batch | undefined): void {
  if (s.bySlot === undefined) s.batch = batch;
  else s.bySlot.set(slot, batch);
}

/** Decisions waiting to be sent together for one keyspace (and on a Cluster one hash slot), then in flight. */
interface Batch {
  readonly space: Keyspace;
  // The hash slot of every key in it on a Cluster; 0 on a standalone server.
  readonly slot: number;
  // Sent through the Cluster (which follows redirections) rather than straight to the node serving the slot.
  readonly viaCluster?: boolean;
  readonly keys: string[];
  readonly args: (number | string)[];
  readonly waiters: Waiter[];
  // The earliest caller's deadline (performance.now() ms): the whole batch is refused past it.
  readonly deadline: number;
  // Whether it went out at least once (so it may have run).
  sent?: boolean;
}

// Reads a kept reply back as a list of integers.
const UNPACK = `local v = redis.call('GET', KEYS[1]) if v then return cmsgpack.unpack(v) end return false`;

// Bounds how long one script runs (Redis serves nobody else meanwhile) and how large one command grows.
const MAX_BATCH = 256;
// On a Cluster a node's batches go out at the turn's end, each as up to this many script calls back to
// back, never smaller than SPLIT_MIN decisions, where a call's own cost would show: measured before batches
// streamed (standalone, 100 in flight), one call for 100 decisions reached about two thirds of the rate of
// four calls of 25.
const PIPELINE_PARTS = 4;
const SPLIT_MIN = 16;
// On a standalone server a batch that reaches this many decisions goes out at once, as one call, rather than
// at the turn's end, so that Redis runs it while Node is still producing the rest of the turn's decisions:
// with 100 in flight every reply releases its callers together, and a batch sent only at the turn's end left
// Redis idle while Node worked and Node idle while Redis did (their CPU times summed to one core). Node and
// Redis on a CPU each, 100 in flight: 96,000-120,000 decisions/s without, 135,000-155,000 with any value from
// 16 to 64. A streamed batch is not split: each script call costs Redis about 9 us of its own (the TIME
// call, the kept reply, the call itself) against about 2.6 us per fixed-window decision, and sending 32 as
// two calls of 16 gave 180,000-189,000 decisions/s where one call of 32 gave 214,000-231,000 and one of 40
// 224,000-239,000 (Redis at 3.4-3.8 us of CPU per decision, Node at 3.9-4.5; same machine and hour).
const STREAM_AT = 40;
// A sample of the clock offset is trusted over a larger older one once the older is this old, so a step
// of either clock is followed within this time.
const OFFSET_HOLD_MS = 5000;

/**
 * For the bench's baseline only (not exported by the package): a Cluster backend built while `oneCallEach`
 * is set sends every decision as its own call through the Cluster, as before per-slot batching.
 */
export const clusterBaseline = { oneCallEach: false };

/**
 * Runs decisions on one connection: batches them per keyspace (on a Cluster, per keyspace and hash slot)
 * into one script call, bounds every caller by `timeoutMs`, hands the script the deadline on Redis's clock
 * so that nothing runs after its caller was answered, and on a standalone server re-sends a batch whose
 * connection dropped (the script answers a re-send from the reply it kept, so nothing runs twice). On a
 * Cluster the batches for one master go out in one socket write straight to it (NodePipelines).
 */
export class RedisDecisions implements Backend {
  /**
   * The breaker that watches every call, run inline: admitted here, recorded where the call settles (no
   * extra promise per call: wrapped, it cost about a fifth of the throughput at 100 decisions in flight).
   */
  breaker: CircuitBreaker | undefined;
  /** What happened on the way, for health(). */
  readonly counters: DecisionCounters = { resent: 0, lateReplies: 0, refusedLate: 0, unverified: 0 };
  private readonly unknown: UnknownFate[] = [];
  private readonly deadlines: Deadlines;
  private readonly scripts = new WeakMap<Keyspace, SpaceScript>();
  // Batches started in this event-loop turn, which flushAll sends unless they went out already.
  private due: Batch[] = [];
  // Whether a flush of every pending batch is due at the end of this event-loop turn.
  private flushDue = false;
  private readonly batching: boolean;
  // On a Cluster (but for the bench's baseline), the per-node pipelines batches go out in.
  private readonly nodes: NodePipelines | undefined;
  // Whether batches carry a reply key, which makes re-sends safe. Not on a Cluster, even though a reply key
  // tagged like the batch's first key would share its slot: while a slot migrates, a script with some of
  // its keys missing on the source (the reply key always is, being new) is refused with TRYAGAIN until the
  // move ends, where today's call, whose state keys are all there, runs on the source. So every decision
  // of a migrating slot would wait out the move, mostly past its deadline. There a batch is never re-sent,
  // and a lost reply counts as unverified.
  private readonly keepsReplies: boolean;
  private readonly late: () => Error;
  // Redis's clock minus performance.now(), a lower bound (see calibrate); NaN until the first sample.
  private offset = Number.NaN;
  private offsetAt = 0;
  // Callers waiting for the connection (first connect, or a re-send after a drop); a re-send is given up
  // (`true`) when a reconnect attempt fails, as the server is then down, not blinking.
  private readonly waitingReady = new Set<(giveUp?: boolean) => void>();
  private everReady = false;
  private readonly batchTag = randomBytes(4).toString('hex');
  private batchCount = 0;
  private closed = false;
  private clockTimer: NodeJS.Timeout | undefined;

  constructor(
    /** The connection decisions run on (the backend's own). */
    readonly connection: Client,
    /** Every call is answered within this many ms. */
    readonly timeoutMs: number,
    private readonly clock: Clock | undefined,
  ) {
    this.deadlines = new Deadlines(timeoutMs);
    this.late = () => new BackendTimeoutError(timeoutMs);
    const cluster = connection.isCluster === true;
    this.nodes =
      cluster && !clusterBaseline.oneCallEach ? new NodePipelines(connection as Cluster) : undefined;
    this.batching = !cluster || this.nodes !== undefined;
    this.keepsReplies = !cluster;
    connection.on('ready', this.onReady);
    if (isReady(connection)) this.onReady();
    // A Cluster's clocks are read on a timer (a standalone server's are sampled from every reply).
    if (connection.isCluster) {
      this.clockTimer = setInterval(() => {
        if (isReady(connection)) this.readClock().catch(() => {});
      }, OFFSET_HOLD_MS).unref();
    }
  }

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): Promise<StepOutcome[]> {
    if (this.closed) return Promise.reject(new ClosedError('RedisBackend'));
    const keys = space.keys(key);
    const breaker = this.breaker;
    // Refused at once (synchronously) while the breaker is open.
    const token = breaker === undefined ? 0 : breaker.admit();
    const now = performance.now();
    const started = breaker === undefined ? 0 : now;
    const waiter = new Waiter(this, peek, token, started, now + this.timeoutMs);
    const answer = new Promise<StepOutcome[]>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    this.deadlines.track(waiter);
    // Every key of one client key is in one slot (its `{...}` tag), so the first one names the slot.
    const slot = this.nodes === undefined ? 0 : slotOf(keys[0]!);
    const state = this.scriptFor(space);
    let batch = filling(state, slot);
    if (batch === undefined) {
      batch = { space, slot, keys: [], args: [], waiters: [], deadline: waiter.deadline };
      setFilling(state, slot, batch);
      // Every decision asked for in this turn of the event loop joins this batch: one round trip for all of
      // them. A turn, not a tick: an HTTP server reads each socket in a callback of its own, so requests
      // arriving together on many connections only meet in one batch at the turn's end (setImmediate).
      if (this.batching) {
        this.due.push(batch);
        if (!this.flushDue) {
          this.flushDue = true;
          setImmediate(this.flushAll);
        }
      }
    }
    for (const k of keys) batch.keys.push(k);
    batch.args.push(cost, peek ? 1 : 0);
    batch.waiters.push(waiter);
    const size = batch.waiters.length;
    // On a Cluster, a node's batches of one turn are pipelined together at the turn's end instead.
    if (!this.batching || size >= MAX_BATCH || (size >= STREAM_AT && this.nodes === undefined)) {
      this.flush(batch);
    }
    return answer;
  }

  /** A caller's deadline passed before its answer: it is refused now, and its answer ignored when it comes. */
  expired(waiter: Waiter): void {
    waiter.answered = true;
    const error = this.late();
    this.breaker?.record(waiter.token, waiter.started, false, error);
    waiter.reject(error);
  }

  async delete(space: Keyspace, key: string): Promise<void> {
    if (this.closed) throw new ClosedError('RedisBackend');
    if (!isReady(this.connection)) throw notConnected();
    await this.deadlines.race(this.connection.del(...space.keys(key)), this.late, wrap);
  }

  /** Stops taking calls; the connection is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.clockTimer);
    this.connection.off('ready', this.onReady);
  }

  // Takes a sample of Redis's clock, `redisMs`, read by a command whose reply arrived at `receivedAt`
  // (performance.now()): the command ran before its reply arrived, so `redisMs - receivedAt` can only be
  // below the true offset, and deadlines mapped with it reach Redis early, never late. The largest recent
  // sample is the tightest bound; an old one gives way, so a step of either clock is followed.
  private calibrate(redisMs: number, receivedAt: number): void {
    const sample = redisMs - receivedAt;
    if (Number.isNaN(this.offset) || sample > this.offset || receivedAt - this.offsetAt > OFFSET_HOLD_MS) {
      this.offset = sample;
      this.offsetAt = receivedAt;
    }
  }

  /**
   * The server refused or could not be reached on a reconnect attempt (the backend passes on such errors
   * of a connection it owns): it is down, not blinking, so re-sends waiting for it are answered now rather
   * than at their deadline; whether they had run is read back once it is up (verifyUnknown). A connection
   * dropped by the server (CLIENT KILL, a timeout) reconnects at once and keeps its re-sends.
   */
  serverUnreachable(): void {
    for (const go of [...this.waitingReady]) go(true);
  }

  private readonly onReady = (): void => {
    this.everReady = true;
    // The server may be another machine now (a restart, a failover): read its clock before anything else.
    this.readClock().then(
      () => this.wake(),
      () => this.wake(),
    );
    this.verifyUnknown();
  };

  // Reads back the kept replies of batches whose fate was unknown: those that ran were charged in Redis
  // after their callers were answered without it, the over-count that lateReplies reports.
  private verifyUnknown(): void {
    const now = performance.now();
    for (const fate of this.unknown.splice(0)) {
      if (now >= fate.until) {
        this.counters.unverified += charging(fate.peeks);
        continue;
      }
      // Unpacked by Redis itself (the reply is kept with cmsgpack), so nothing here parses MessagePack.
      this.connection.eval(UNPACK, 1, fate.replyKey).then(
        (kept) => {
          if (Array.isArray(kept))
            this.counters.lateReplies += chargedIn(kept as number[], fate.peeks, fate.members);
        },
        // The read itself was lost (another drop): tried again on the next connect, while the reply is kept.
        () => {
          this.unknown.push(fate);
        },
      );
    }
  }

  // Fails a batch whose fate is unknown (sent, no reply) and remembers to find out what became of it.
  private lost(batch: Batch, error: unknown): void {
    this.fail(batch, error);
    if (!batch.sent || batch.waiters.every((w) => w.peek)) return;
    if (!this.keepsReplies) {
      this.counters.unverified += charging(batch.waiters.map((w) => w.peek));
      return;
    }
    this.unknown.push({
      replyKey: batch.keys[batch.keys.length - 1]!,
      peeks: batch.waiters.map((w) => w.peek),
      members: batch.space.members.length,
      until: batch.deadline + REPLY_KEPT_MS,
    });
    if (isReady(this.connection)) setImmediate(() => this.verifyUnknown());
  }

  private wake(): void {
    // Each waiter leaves the set itself once it has sent or given up; one that finds the connection
    // gone again stays for the next ready.
    for (const go of [...this.waitingReady]) go();
  }

  // Reads the server's clock. A Cluster's masters may run on machines whose clocks disagree, and a batch
  // may run on any of them: the lowest offset among them is the bound, read again on every (re)connect and
  // every OFFSET_HOLD_MS (its replies are not sampled, since which node sent one is unknown).
  private async readClock(): Promise<void> {
    if (!this.connection.isCluster) {
      const [s, us] = await (this.connection as Redis).time();
      this.calibrate(Number(s) * 1000 + Math.floor(Number(us) / 1000), performance.now());
      return;
    }
    const samples = await Promise.all(
      (this.connection as Cluster).nodes('master').map(async (node) => {
        const [s, us] = await node.time();
        return Number(s) * 1000 + Math.floor(Number(us) / 1000) - performance.now();
      }),
    );
    if (samples.length) {
      this.offset = Math.min(...samples);
      this.offsetAt = performance.now();
    }
  }

  private readonly flushAll = (): void => {
    this.flushDue = false;
    const due = this.due;
    this.due = [];
    for (const batch of due) this.flush(batch);
  };

  private flush(batch: Batch): void {
    const script = this.scriptFor(batch.space);
    // Gone out already (it filled up, or the turn ended): only the batch being filled is sent.
    if (filling(script, batch.slot) !== batch) return;
    setFilling(script, batch.slot, undefined);
    // A standalone server's batch is one call (STREAM_AT bounds it); a Cluster node's, of a whole turn, may
    // be split, its parts written together by NodePipelines.
    const parts = this.nodes === undefined ? [batch] : splitForPipeline(batch);
    for (const part of parts) {
      if (this.keepsReplies) {
        part.keys.push(`${part.keys[0]}~${this.batchTag}.${(this.batchCount++).toString(36)}`);
      }
      this.send(part, script, false);
    }
  }

  // Sends when the connection can take it: at once when ready; after the first connect (or, for a re-send,
  // a reconnect) within the deadline; otherwise fails the batch at once, as an outage is known.
  private send(batch: Batch, script: SpaceScript, resend: boolean): void {
    if (isReady(this.connection) && !Number.isNaN(this.offset)) {
      this.run(batch, script);
      return;
    }
    // Known to be down (it was ready once, and is not now): fail at once, a re-send excepted.
    const down = this.everReady && !isReady(this.connection) && !resend && !this.connection.isCluster;
    if (this.closed || down) {
      this.fail(batch, this.closed ? new ClosedError('RedisBackend') : notConnected());
      return;
    }
    const remaining = batch.deadline - performance.now();
    if (remaining <= 0) {
      this.lost(batch, this.late());
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const go = (giveUp?: boolean) => {
      // A first send keeps waiting through failed attempts until its deadline (the app is starting).
      if (giveUp && !resend) return;
      const usable = isReady(this.connection) && !Number.isNaN(this.offset);
      const overdue = performance.now() >= batch.deadline;
      // Woken while the connection dropped again (CLIENT KILL in a loop): wait for the next ready.
      if (!giveUp && !overdue && !usable) return;
      clearTimeout(timer);
      this.waitingReady.delete(go);
      if (giveUp || overdue || !usable) {
        this.lost(batch, giveUp ? notConnected() : this.late());
      } else {
        this.run(batch, script);
      }
    };
    this.waitingReady.add(go);
    timer = setTimeout(go, Math.ceil(remaining)).unref();
  }

  private run(batch: Batch, script: SpaceScript): void {
    const deadline = Math.floor(batch.deadline + this.offset);
    // A batch sent before may have run: only then does the script look for the reply it kept.
    const replies = this.keepsReplies ? (batch.sent ? 2 : 1) : 0;
    const head = [this.clock ? this.clock() : '', deadline, replies, ...script.params];
    const args = plainCosts(batch.args) ? [...head, '*'] : [...head, ...batch.args];
    batch.sent = true;
    const node = batch.viaCluster ? undefined : this.nodes?.nodeFor(batch.slot);
    const reply = node
      ? this.nodes!.evalsha(node, script.script.sha, batch.keys, args)
      : this.call(script.script, batch.keys, args);
    reply.then(
      (raw) => this.answer(batch, raw),
      (error: unknown) => {
        // Turned away unrun by the node (the slot moved or is moving, no script there yet): sent again the
        // way it was before per-slot batching, one call per client key through the Cluster, which follows
        // redirections. Several client keys in one script would be refused TRYAGAIN for as long as their
        // slot migrates, as soon as some of their keys have moved and others not.
        if (node && turnedAway(error)) {
          for (const part of perClientKey(batch)) this.run(part, script);
          return;
        }
        // A dropped connection may or may not have run the batch: sending it again is safe (the script
        // answers from the reply it kept), and it is worth it while the callers still wait.
        if (this.keepsReplies && !isReplyError(error) && !this.closed && performance.now() < batch.deadline) {
          this.counters.resent++;
          this.send(batch, script, true);
          return;
        }
        // An error reply means the batch did not run; anything else leaves its fate unknown.
        if (isReplyError(error)) this.fail(batch, wrap(error));
        else this.lost(batch, wrap(error));
      },
    );
  }

  private answer(batch: Batch, raw: number[]): void {
    const receivedAt = performance.now();
    if (!this.connection.isCluster) this.calibrate(raw[0]!, receivedAt);
    if (raw.length === 2 && raw[1] === -1) {
      this.counters.refusedLate++;
      this.fail(batch, this.late());
      return;
    }
    const members = batch.space.members.length;
    const breaker = this.breaker;
    let at = 1;
    for (const w of batch.waiters) {
      this.deadlines.untrack(w);
      const outcomes: StepOutcome[] = [];
      for (let m = 0; m < members; m++) at = readOutcome(raw, at, outcomes);
      if (w.answered) {
        if (!w.peek && outcomes.every((o) => o.allowed)) this.counters.lateReplies++;
      } else if (breaker !== undefined) {
        breaker.record(w.token, w.started, true, undefined);
      }
      w.resolve(outcomes);
    }
  }

  private fail(batch: Batch, error: unknown): void {
    const breaker = this.breaker;
    for (const w of batch.waiters) {
      this.deadlines.untrack(w);
      // A caller answered at its deadline was recorded then.
      if (breaker !== undefined && !w.answered) breaker.record(w.token, w.started, false, error);
      w.reject(error);
    }
  }

  private scriptFor(space: Keyspace): SpaceScript {
    let s = this.scripts.get(space);
    if (!s) {
      s = {
        script: composeScript(space.members),
        params: paramArgs(space.members),
        batch: undefined,
        bySlot: this.nodes === undefined ? undefined : new Map(),
      };
      this.scripts.set(space, s);
    }
    return s;
  }

  // On a standalone server whose client auto-pipelines, the call is written straight to the connection past
  // ioredis's auto-pipelining: a batch is already one call per turn, and what ioredis builds around a call
  // to pipeline it (a Pipeline object with its own promises, a tick to flush it) outweighs the call's own
  // writing. A Cluster client keeps its own path: it routes the call by slot and follows redirections.
  private evalsha(sha: string, keys: readonly string[], args: (string | number)[]): Promise<unknown> {
    const connection = this.connection;
    // Without auto-pipelining, ioredis's evalsha is this same direct write.
    if (connection.isCluster || !connection.options.enableAutoPipelining) {
      return connection.evalsha(sha, keys.length, ...keys, ...args);
    }
    // The Command class is loaded then, not imported: core runs without ioredis on the memory backend.
    return connection.sendCommand(evalshaCommand(connection as Redis, sha, keys, args)) as Promise<unknown>;
  }

  // EVALSHA first; on NOSCRIPT (first use, SCRIPT FLUSH, restart, a new cluster node) EVAL loads it again.
  private async call(script: Script, keys: readonly string[], args: (string | number)[]): Promise<number[]> {
    try {
      return (await this.evalsha(script.sha, keys, args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    }
    return (await this.connection.eval(script.source, keys.length, ...keys, ...args)) as number[];
  }
}

// An error reply from Redis: the server answered, so the batch did not run and sending it again would
// only get the same error. Anything else (a closed or unwritable connection) may be worth a re-send.
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

function notConnected(): BackendError {
  return new BackendError('Redis is not connected: the backend is waiting to reconnect.');
}

/** Wraps a Redis failure in a BackendError, keeping the original as its cause. */
export function wrap(error: unknown): BackendError {
  if (error instanceof BackendError || error instanceof ClosedError) return error as BackendError;
  return new BackendError(`Redis call failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

// How many decisions of a batch could charge (peeks never do).
function charging(peeks: readonly boolean[]): number {
  return peeks.filter((peek) => !peek).length;
}

// How many charging decisions a kept reply (time, then each member's outcome of each decision) allowed.
function chargedIn(kept: readonly number[], peeks: readonly boolean[], members: number): number {
  let charged = 0;
  let at = 1;
  for (const peek of peeks) {
    const outcomes: StepOutcome[] = [];
    for (let m = 0; m < members; m++) at = readOutcome(kept, at, outcomes);
    if (!peek && outcomes.every((o) => o.allowed)) charged++;
  }
  return charged;
}

// Every decision adds its cost and peek flag to a batch's args (see evaluate).
const ARGS_PER_DECISION = 2;

// Whether every decision of a batch costs 1 and is no peek: the script is then sent '*' instead of its
// args, two arguments fewer per decision for ioredis to write and Redis to parse.
function plainCosts(args: readonly (number | string)[]): boolean {
  for (let i = 0; i < args.length; i += ARGS_PER_DECISION) {
    if (args[i] !== 1 || args[i + 1] !== 0) return false;
  }
  return true;
}

// Appends decision `d` of `from` (its keys, args and waiter) to `into`.
function moveDecision(from: Batch, d: number, into: Batch): void {
  const m = from.space.members.length;
  for (let i = d * m; i < (d + 1) * m; i++) into.keys.push(from.keys[i]!);
  for (let i = d * ARGS_PER_DECISION; i < (d + 1) * ARGS_PER_DECISION; i++) into.args.push(from.args[i]!);
  into.waiters.push(from.waiters[d]!);
}

// An empty batch like `batch` (same keyspace, slot, deadline and sending history).
function emptyLike(batch: Batch, viaCluster?: boolean): Batch {
  return { ...batch, ...(viaCluster ? { viaCluster } : {}), keys: [], args: [], waiters: [] };
}

// A batch (without a reply key) split into one batch per client key, in the order of their decisions.
function perClientKey(batch: Batch): Batch[] {
  const parts = new Map<string, Batch>();
  const m = batch.space.members.length;
  for (let d = 0; d < batch.waiters.length; d++) {
    const first = batch.keys[d * m]!;
    let part = parts.get(first);
    if (part === undefined) {
      part = emptyLike(batch, true);
      parts.set(first, part);
    }
    moveDecision(batch, d, part);
  }
  return [...parts.values()];
}

// Splits a batch into PIPELINE_PARTS parts in order (decisions later in the batch still run after earlier
// ones: the parts go out on one connection, one after the other), or returns it whole when small.
function splitForPipeline(batch: Batch): Batch[] {
  const n = batch.waiters.length;
  if (n < 2 * SPLIT_MIN) return [batch];
  const size = Math.max(SPLIT_MIN, Math.ceil(n / PIPELINE_PARTS));
  const parts: Batch[] = [];
  for (let d = 0; d < n; d++) {
    if (d % size === 0) parts.push(emptyLike(batch));
    moveDecision(batch, d, parts[parts.length - 1]!);
  }
  return parts;
}
