import type { AlgorithmStep } from './algorithms/types.js';
import type { Keyspace } from './backends/types.js';

/** The keyspace of one RateLimiter: namespaces built once, key names built per call. */
export class LimiterKeyspace implements Keyspace {
  readonly members: readonly AlgorithmStep[];
  readonly names: readonly string[];
  private readonly prefix: string;
  private readonly suffixes: readonly string[];

  constructor(prefix: string, members: readonly AlgorithmStep[]) {
    this.prefix = prefix;
    this.members = members;
    // The suffix names the algorithm and its parameters, so two limiters with different rules on one
    // backend and prefix never share (and corrupt) each other's state, while identical rules do share.
    this.suffixes = members.map((m) => `${m.id}${m.params.join('.')}`);
    this.names = this.suffixes.map((s) => `${prefix}:${s}`);
  }

  keys(key: string): string[] {
    // The {...} hash tag puts every member's key in one Redis Cluster slot, so one script can touch all.
    // Redis hashes the text between the first "{" and the next "}", or the whole name when that is empty,
    // as it would be for a key starting with "}": such keys get a shape of their own ("!" is never in a
    // prefix, so no other key can produce it) with a non-empty tag.
    const base = key.startsWith('}') ? `${this.prefix}:!{!${key}}:` : `${this.prefix}:{${key}}:`;
    const suffixes = this.suffixes;
    if (suffixes.length === 1) return [base + suffixes[0]];
    return suffixes.map((s) => base + s);
  }
}
