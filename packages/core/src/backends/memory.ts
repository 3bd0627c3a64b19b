import type { Admission, AlgorithmStep, StepOutcome, StepResult } from '../algorithms/types.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { combine, combineDecisions, type Decision, decisionOf } from '../decision.js';
import { ClosedError, InvalidOptionError } from '../errors.js';
import { positiveIntegerOr } from '../policy/validate.js';
import { checkWellFormedKey } from '../well-formed.js';
import type { Backend, Clock, Keyspace } from './types.js';

/** Options of the embedded memory backend. */
export interface MemoryBackendOptions {
  /** Most keys held at once; the least recently used is evicted first (default 1,000,000). */
  maxKeys?: number;
  /** Time source in ms (default `Date.now`); inject one in tests. */
  clock?: Clock;
}

/** Every key MemoryBackendOptions accepts. */
export const MEMORY_BACKEND_OPTION_KEYS = keysOf<MemoryBackendOptions>()(['maxKeys', 'clock']);

// A node of the recency list; a class so every entry shares one shape (V8 keeps property access fast).
// Fields are declared, not defined: a defined field starts as undefined, and V8 would then store every
// expiresAt as a fresh heap number instead of in place (an allocation and a write barrier per decision).
class Entry {
  declare readonly table: Map<string, Entry>;
  declare readonly key: string;
  declare state: number[];
  declare expiresAt: number;
  declare prev: Entry | null;
  declare next: Entry | null;
  // The same key's entry in the next member's table, as a hybrid last found it: a hint that spares that
  // table's lookup (a cache miss at scale), trusted only while it is in that table and unexpired.
  declare sibling: Entry | null;
  constructor(table: Map<string, Entry>, key: string, state: number[], expiresAt: number) {
    this.table = table;
    this.key = key;
    this.state = state;
    this.expiresAt = expiresAt;
    this.prev = null;
    this.next = null;
    this.sibling = null;
  }
}

// Runs a member's step on the state this backend keeps for it: its memoryStep when it has one.
function stepOf(m: AlgorithmStep, state: number[] | undefined, now: number, cost: number): StepResult {
  return m.memoryStep !== undefined ? m.memoryStep(state, now, cost) : m.step(state, now, cost);
}

// A keyspace's members' tables, in member order, and whether two members share one (same namespace);
// the first member and its table are kept apart, so a single algorithm reads them without an index.
// `twins` says whether every member has a `decide` twin; `admissions`, `decisions` and `results` are
// decideAll's per-member scratch, one slot per member, so it neither allocates nor truncates arrays.
interface Layout {
  readonly tables: readonly Map<string, Entry>[];
  readonly shared: boolean;
  readonly first: AlgorithmStep;
  readonly table: Map<string, Entry>;
  readonly twins: boolean;
  readonly admissions: readonly Admitted[];
  readonly decisions: Decision[];
  readonly results: StepResult[];
}

// What a step's `decide` admitted, read right after each call: one per backend for a single algorithm,
// one per member in a hybrid's layout (its members' admissions are all written before any is stored).
class Admitted implements Admission {
  state: number[] | null = null;
  ttlMs = 0;
}

// Expired entries are dropped lazily: on read, and a few at a time from the LRU end on each write.
// No timer runs, so the backend never keeps a process alive and costs nothing while idle.
const SWEEP_PER_WRITE = 2;

/**
 * Embedded backend for one process, development and tests. Bounded (`maxKeys`, least recently used
 * evicted first), state expires when it no longer matters, and no timer keeps the process alive.
 */
export class MemoryBackend implements Backend {
  /** Most keys held at once. */
  readonly maxKeys: number;
  /** The time source states are read and written by (the `clock` option, or Date.now). */
  readonly clock: Clock;
  // One table per namespace (see `table`); `count` is their total size, kept for the maxKeys bound.
  private readonly tables = new Map<string, Map<string, Entry>>();
  private count = 0;
  private readonly layouts = new WeakMap<Keyspace, Layout>();
  private lastSpace: Keyspace | undefined;
  private lastLayout: Layout | undefined;
  // The entries a multi-member evaluate found, kept for its writes; emptied before it returns.
  private readonly entries: (Entry | undefined)[] = [];
  // The states decideAll let members write in place, saved for a refusal to put back: member i's values
  // from marks[i] on, marks[i] = -1 when it had no state.
  private readonly saved: number[] = [];
  private readonly marks: number[] = [];
  private readonly admitted = new Admitted();
  // Recency list, least recently used (written, or refused) first. Kept by hand rather than by re-inserting into the Map:
  // a Map re-inserted on every write leaves deleted slots at its front, and iterating from there to find
  // the oldest entry costs O(deleted slots) per write.
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    knownKeys(options, MEMORY_BACKEND_OPTION_KEYS, 'MemoryBackend options');
    this.maxKeys = positiveIntegerOr(options.maxKeys, 'maxKeys', 1_000_000);
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new InvalidOptionError('clock', options.clock, 'a function returning milliseconds');
    }
    this.clock = options.clock ?? Date.now;
  }

  /** Number of live (not yet swept) keys; expired ones may linger until touched or swept. */
  get size(): number {
    return this.count;
  }

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): StepOutcome[] {
    if (this.closed) throw new ClosedError('MemoryBackend');
    const now = this.clock();
    const members = space.members;
    const layout = this.layoutOf(space);
    if (members.length === 1) return [this.runOne(members[0]!, layout.tables[0]!, key, now, cost, peek)];
    const tables = layout.tables;
    const entries = this.entries;
    const results: StepResult[] = [];
    let all = true;
    for (let i = 0; i < members.length; i++) {
      const e = this.live(tables[i]!, key, now);
      entries[i] = e;
      // Copies: a member may write its admitted state in place, yet another member may still refuse.
      const r = stepOf(members[i]!, e?.state.slice(), now, cost);
      results.push(r);
      if (!r.allowed) all = false;
    }
    for (let i = 0; i < results.length; i++) {
      const table = tables[i]!;
      // Members sharing a table share an entry, which an earlier member's write may have just created.
      const e = layout.shared ? table.get(key) : entries[i];
      entries[i] = undefined;
      if (!all) this.markUsed(e);
      else if (!peek) this.store(table, key, e, results[i]!, now);
    }
    return results;
  }

  /**
   * `combine(space.members, evaluate(space, key, cost, false))`, answered without the outcome array: a
   * single algorithm through its step's `decide` when it has one, several on their stored states in place.
   */
  decide(space: Keyspace, key: string, cost: number): Decision {
    return space.members.length === 1
      ? this.decideOne(space, key, cost, false)
      : this.decideAll(space, key, cost);
  }

  /**
   * `evaluate` of a one-member keyspace, answered as that member's Decision: a single algorithm's
   * decision then allocates no outcome array and needs no combining.
   */
  decideOne(space: Keyspace, key: string, cost: number, peek: boolean): Decision {
    if (this.closed) throw new ClosedError('MemoryBackend');
    const now = this.clock();
    const layout = this.layoutOf(space);
    const member = layout.first;
    const table = layout.table;
    if (peek || member.decide === undefined) {
      return decisionOf(member.limit, this.runOne(member, table, key, now, cost, peek));
    }
    const e = this.live(table, key, now);
    const out = this.admitted;
    const d = member.decide(e === undefined ? undefined : e.state, now, cost, out);
    if (!d.allowed) this.markUsed(e);
    else this.write(table, key, e, out.state, out.ttlMs, now);
    return d;
  }

  // Several members on distinct tables, charged only if all allow. Each runs on its stored state in place
  // (no copy), its values saved first; when one refuses, the members before it get their values back.
  // When every member has a `decide` twin, each answers as its own Decision and the binding one is the
  // answer (combineDecisions): no outcome object per member.
  private decideAll(space: Keyspace, key: string, cost: number): Decision {
    if (this.closed) throw new ClosedError('MemoryBackend');
    const layout = this.layoutOf(space);
    const members = space.members;
    if (layout.shared) return combine(members, this.evaluate(space, key, cost, false));
    const now = this.clock();
    const tables = layout.tables;
    const entries = this.entries;
    const twins = layout.twins;
    const admissions = layout.admissions;
    const decisions = layout.decisions;
    const results = layout.results;
    const saved = this.saved;
    const marks = this.marks;
    const n = members.length;
    let top = 0;
    let all = true;
    let before: Entry | undefined;
    for (let i = 0; i < n; i++) {
      const e = this.found(tables[i]!, key, now, before);
      entries[i] = e;
      before = e;
      let state: number[] | undefined;
      marks[i] = -1;
      if (e !== undefined) {
        state = e.state;
        // The last member, when all before it allowed, either allows too or writes nothing: nothing to save.
        if (i < n - 1 || !all) {
          marks[i] = top;
          for (let j = 0; j < state.length; j++) saved[top++] = state[j]!;
        }
      }
      const m = members[i]!;
      if (twins) {
        const d = m.decide!(state, now, cost, admissions[i]!);
        decisions[i] = d;
        if (!d.allowed) all = false;
      } else {
        const r = stepOf(m, state, now, cost);
        results[i] = r;
        if (!r.allowed) all = false;
      }
    }
    if (!all) {
      for (let i = 0; i < n; i++) {
        const e = entries[i];
        entries[i] = undefined;
        const at = marks[i]!;
        if (e !== undefined && at >= 0) {
          e.state = saved.slice(at, nextMark(marks, i + 1, n, top));
        }
        this.markUsed(e);
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (twins) {
          const a = admissions[i]!;
          this.write(tables[i]!, key, entries[i], a.state, a.ttlMs, now);
        } else {
          this.store(tables[i]!, key, entries[i], results[i]!, now);
        }
        entries[i] = undefined;
      }
    }
    return twins ? combineDecisions(members, decisions) : combine(members, results);
  }

  // One member on its table: one lookup serves the read, the write and the recency update.
  private runOne(
    member: AlgorithmStep,
    table: Map<string, Entry>,
    key: string,
    now: number,
    cost: number,
    peek: boolean,
  ): StepResult {
    const e = this.live(table, key, now);
    // The step may write an admitted state into the array it is given; a peek must not, so it gets a copy.
    const state = e === undefined ? undefined : peek ? e.state.slice() : e.state;
    const r = stepOf(member, state, now, cost);
    if (r.allowed ? !peek : e !== undefined) this.store(table, key, e, r, now);
    return r;
  }

  // The tables of a keyspace's members, derived once per keyspace (a limiter's keyspaces live as long as
  // it does); most processes run one limiter per backend, so the last one is remembered.
  private layoutOf(space: Keyspace): Layout {
    if (space === this.lastSpace) return this.lastLayout!;
    let layout = this.layouts.get(space);
    if (layout === undefined) {
      const names = space.names;
      const members = space.members;
      const tables = names.map((name) => this.table(name));
      layout = {
        tables,
        shared: new Set(names).size < names.length,
        first: members[0]!,
        table: tables[0]!,
        twins: members.every((m) => m.decide !== undefined),
        admissions: members.map(() => new Admitted()),
        decisions: new Array<Decision>(members.length),
        results: new Array<StepResult>(members.length),
      };
      this.layouts.set(space, layout);
    }
    this.lastSpace = space;
    this.lastLayout = layout;
    return layout;
  }

  // One table per namespace, so the per-request lookup hashes only the client key (whose hash V8 caches on
  // the string) and never a built-up name. Tables are emptied, never replaced, so layouts stay valid.
  private table(name: string): Map<string, Entry> {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  // The entry for `key` if it still matters at `now`; an expired one is dropped on the way. A key with no
  // entry is checked for well-formedness here (the limiter's fast path leaves that to this backend): every
  // key a table holds went through here, so a key found needs no scan.
  private live(table: Map<string, Entry>, key: string, now: number): Entry | undefined {
    const e = table.get(key);
    if (e === undefined) {
      checkWellFormedKey(key);
      return undefined;
    }
    if (e.expiresAt <= now) {
      this.remove(e);
      return undefined;
    }
    return e;
  }

  // `live`, answered from the previous member's entry's sibling hint when that still holds: a removed
  // entry reads as expired (see remove), so a stale hint only costs the lookup it failed to spare.
  private found(
    table: Map<string, Entry>,
    key: string,
    now: number,
    before: Entry | undefined,
  ): Entry | undefined {
    if (before === undefined) return this.live(table, key, now);
    const hint = before.sibling;
    if (hint !== null && hint.table === table && hint.expiresAt > now) return hint;
    const e = this.live(table, key, now);
    // Null when absent, so a hint never keeps a removed entry alive.
    before.sibling = e ?? null;
    return e;
  }

  // A refused key is "used" too: without this, a client hammering a full limit would drift to the old
  // end of the list and, under maxKeys pressure, be evicted first and come back with a fresh allowance.
  private markUsed(e: Entry | undefined): void {
    if (e !== undefined && e !== this.tail) {
      this.unlink(e);
      this.append(e);
    }
  }

  // Writes an allowed result's state, or (for a refusal) only marks the entry as recently used.
  private store(
    table: Map<string, Entry>,
    key: string,
    e: Entry | undefined,
    r: StepResult,
    now: number,
  ): void {
    if (!r.allowed) this.markUsed(e);
    else this.write(table, key, e, r.state, r.ttlMs, now);
  }

  // Writes an admitted state for ttlMs; a state that no longer matters (none, or no TTL) is dropped.
  private write(
    table: Map<string, Entry>,
    key: string,
    e: Entry | undefined,
    state: number[] | null,
    ttlMs: number,
    now: number,
  ): void {
    if (state === null || ttlMs <= 0) {
      if (e !== undefined) this.remove(e);
      return;
    }
    if (e === undefined) {
      const added = new Entry(table, key, state, now + ttlMs);
      table.set(key, added);
      this.count++;
      this.append(added);
    } else {
      // A state written in place is the same array: storing it again would only cost a write barrier.
      if (e.state !== state) e.state = state;
      e.expiresAt = now + ttlMs;
      this.markUsed(e);
      return;
    }
    // Only a new entry grows the backend, so only then is anything swept: updates leave the size alone.
    this.sweep(now);
  }

  // Evicts over maxKeys, then drops up to SWEEP_PER_WRITE expired entries, always from the oldest end.
  private sweep(now: number): void {
    let budget = SWEEP_PER_WRITE;
    for (let e = this.head; e !== null; e = this.head) {
      if (this.count > this.maxKeys) {
        this.remove(e);
        continue;
      }
      if (budget-- <= 0 || e.expiresAt > now) break;
      this.remove(e);
    }
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail === null) this.head = e;
    else this.tail.next = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev === null) this.head = e.next;
    else e.prev.next = e.next;
    if (e.next === null) this.tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = null;
    e.next = null;
  }

  private remove(e: Entry): void {
    // Out of its table: a sibling hint that still points here must read it as gone.
    e.expiresAt = Number.NEGATIVE_INFINITY;
    e.table.delete(e.key);
    this.count--;
    this.unlink(e);
  }

  delete(space: Keyspace, key: string): void {
    if (this.closed) throw new ClosedError('MemoryBackend');
    for (const name of space.names) {
      const e = this.tables.get(name)?.get(key);
      if (e !== undefined) this.remove(e);
    }
  }

  /** Drops every key. */
  clear(): void {
    for (const table of this.tables.values()) table.clear();
    this.count = 0;
    this.head = null;
    this.tail = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clear();
  }
}

// Where the values saved after member `from` end: the next member's mark, or the top of the saved values.
function nextMark(marks: readonly number[], from: number, n: number, top: number): number {
  for (let i = from; i < n; i++) if (marks[i]! >= 0) return marks[i]!;
  return top;
}
