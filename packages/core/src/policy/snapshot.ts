import { hybrid } from '../algorithms/hybrid.js';
import type { LoadStatus } from '../control/load-signals.js';
import { tokenBucket } from '../algorithms/token-bucket.js';
import type { Algorithm } from '../algorithms/types.js';
import { sha256 } from '../key-names.js';
import { ApiKeys, keyIdentityOfDigest, presentedKeyDigest } from './api-keys.js';
import type { ConfigDocument, RateSpec, RuleKeyBy } from './config/document.js';
import {
  compileMethods,
  compilePathPattern,
  type MethodMatcher,
  type PathMatcher,
  pathSegments,
} from './path-match.js';
import { parseRate } from './rate.js';

// A validated configuration document (parseConfig) compiled into what the HTTP layer reads per request:
// algorithms built, path patterns and methods compiled, keys turned into digests. The snapshot is pure
// data and frozen all the way down, so a reload builds a new one and swaps it whole, and a request keeps
// the snapshot it started with.

/** A tier compiled: the algorithm every request of its keys is charged to. */
export interface CompiledTier {
  /** The tier's name in the document. */
  readonly name: string;
  /**
   * A token bucket holding `burst` (default: the rate's count) refilled at `rate`; for a list of rates, one
   * bucket per rate (each holding its rate's count) combined with `hybrid`, so all must allow.
   */
  readonly algorithm: Algorithm;
  /** The tier's limit while DEGRADED (a bucket of the `degraded` rate's count), when it gives one. */
  readonly degraded: Algorithm | undefined;
  /** Its base rate without the burst: a bucket of the rate's own count (what a tier without `degraded` keeps while DEGRADED). */
  readonly base: Algorithm;
  /** The limit in force in a load state: `algorithm` in NORMAL; `degraded`, else `base`, in DEGRADED. */
  algorithmIn(status: LoadStatus): Algorithm;
  /** Whether the tier is shed first under load (load states); false unless the document says so. */
  readonly shed: boolean;
}

/** A rule compiled: which requests it applies to, whom it counts, and its algorithm per tier. */
export interface CompiledRule {
  /** The rule's id in the document. */
  readonly id: string;
  /** Tests the request method against `match.methods` (every method when absent). */
  readonly methods: MethodMatcher;
  /** Tests the request path against `match.path`; undefined when the rule names no path (every path). */
  readonly path: PathMatcher | undefined;
  /** What a matching request costs, charged to the rule and to the tier. */
  readonly cost: number;
  /** "enforce" refuses over the limit; "shadow" counts and reports but never refuses. */
  readonly mode: 'enforce' | 'shadow';
  /** Whom the rule counts: "key" (the tier's identity), "ip", or `{ header }` (name lower-cased). */
  readonly keyBy: RuleKeyBy;
  /** The algorithm of the rule's own `rate` (one bucket per rate, each holding its rate's count). */
  readonly algorithm: Algorithm;
  /** The per-tier algorithms of the rule's `tiers`, by tier name. */
  readonly tierAlgorithms: ReadonlyMap<string, Algorithm>;
  /** The algorithm that applies to a request of `tier`: its override if any, else the rule's own. */
  algorithmFor(tier: string): Algorithm;
  /** The rule's own limit while DEGRADED, when it gives one (it then applies to every tier). */
  readonly degraded: Algorithm | undefined;
  /** The algorithm in force for `tier` in a load state: the rule's `degraded` in DEGRADED if any, else `algorithmFor(tier)`. */
  algorithmIn(tier: string, status: LoadStatus): Algorithm;
}

/** The tier of a listed API key and the identity it is counted by (`k#<sha256>`, never the raw key). */
export interface KeyTier {
  readonly tier: string;
  readonly identity: string;
}

/** Where a tier or rule of a snapshot came from: the base document (an object or a file), or the Redis overlay. */
export type ConfigOrigin = 'base' | 'redis';

/** Where each tier and rule of a snapshot came from, so an admin view can show what the overlay changed. */
export interface ConfigOrigins {
  /** Every tier name of the snapshot, with its origin. */
  readonly tiers: ReadonlyMap<string, ConfigOrigin>;
  /** Every rule id of the snapshot, with its origin. */
  readonly rules: ReadonlyMap<string, ConfigOrigin>;
  /** The version counter of the Redis overlay merged in, or undefined when none was. */
  readonly overlayVersion: number | undefined;
}

/** The service's load state, NORMAL or DEGRADED (see LoadState). */
export type { LoadStatus };

/** A compiled, frozen configuration: what the HTTP layer reads per request, swapped whole on reload. */
export interface ConfigSnapshot {
  /** Names this snapshot: the `version` option, or a digest of the document it was compiled from. */
  readonly version: string;
  /** The request header holding the API key, lower-cased (as Node and most frameworks give header names). */
  readonly keyBy: string;
  /** The tier of a request without a key, and of an unlisted key under unknownKey "default". */
  readonly defaultTier: string;
  /** What an unlisted key gets: "reject" (401) or "default" (defaultTier, counted by IP). */
  readonly unknownKey: 'reject' | 'default';
  /** The tiers, by name, in document order. */
  readonly tiers: ReadonlyMap<string, CompiledTier>;
  /** The rules, in document order. */
  readonly rules: readonly CompiledRule[];
  /** The rules that apply to a request, in document order (the path is split once for all of them). */
  match(method: string, path: string): readonly CompiledRule[];
  /** The tier and identity of a presented API key, or undefined when the `keys` table does not list it. */
  tierOfKey(rawKey: string): KeyTier | undefined;
  /** Like `tierOfKey`, for a key known only by its SHA-256 (64 lowercase hex digits), as an admin knows it. */
  tierOfDigest(digest: string): KeyTier | undefined;
  /** Where each tier and rule came from: the base document, or the Redis overlay (and its version). */
  readonly origins: ConfigOrigins;
}

/** Options of compileConfig. */
export interface CompileConfigOptions {
  /** The snapshot's version (default: the first 16 hex digits of the SHA-256 of the document's JSON). */
  version?: string;
  /** The tier names and rule ids that came from the Redis overlay, and its version (default: none). */
  overlay?: { tiers: Iterable<string>; rules: Iterable<string>; version: number | undefined };
}

const NO_RULES: readonly CompiledRule[] = Object.freeze([]);

/**
 * Compiles a validated configuration document (from parseConfig) into a frozen snapshot. Pure: the same
 * document gives an equivalent snapshot, and the document is not changed or kept.
 */
export function compileConfig(doc: ConfigDocument, options: CompileConfigOptions = {}): ConfigSnapshot {
  const tierNames = Object.keys(doc.tiers);
  const tiers = frozenMap(
    Object.entries(doc.tiers).map(([name, tier]): [string, CompiledTier] => {
      const algorithm = rateAlgorithm(tier.rate, `tiers.${name}.rate`, tier.burst);
      const degraded =
        tier.degraded === undefined ? undefined : rateAlgorithm(tier.degraded, `tiers.${name}.degraded`);
      // Without a burst the base is the same bucket; built once either way.
      const base = tier.burst === undefined ? algorithm : rateAlgorithm(tier.rate, `tiers.${name}.rate`);
      const inDegraded = degraded ?? base;
      return [
        name,
        Object.freeze({
          name,
          algorithm,
          degraded,
          base,
          shed: tier.shed === true,
          algorithmIn: (status: LoadStatus) => (status === 'DEGRADED' ? inDegraded : algorithm),
        }),
      ];
    }),
  );
  const rules = Object.freeze(doc.rules.map((rule, i) => compileRule(rule, `rules[${i}]`)));
  const keys = new ApiKeys(doc.keys, { tiers: tierNames });
  const version = options.version ?? sha256(JSON.stringify(doc)).slice(0, 16);
  const fromRedis = {
    tiers: new Set(options.overlay?.tiers ?? []),
    rules: new Set(options.overlay?.rules ?? []),
  };
  const originOf = (set: Set<string>) => (name: string) =>
    [name, set.has(name) ? 'redis' : 'base'] as [string, ConfigOrigin];
  const origins: ConfigOrigins = Object.freeze({
    tiers: frozenMap(tierNames.map(originOf(fromRedis.tiers))),
    rules: frozenMap(doc.rules.map((r) => r.id).map(originOf(fromRedis.rules))),
    overlayVersion: options.overlay?.version,
  });

  const snapshot: ConfigSnapshot = {
    version,
    keyBy: doc.keyBy.header.toLowerCase(),
    defaultTier: doc.defaultTier,
    unknownKey: doc.unknownKey,
    tiers,
    rules,
    match(method, path) {
      if (rules.length === 0) return NO_RULES;
      const segments = pathSegments(path);
      return rules.filter(
        (r) => r.methods(method) && (r.path === undefined || r.path.matchSegments(segments)),
      );
    },
    tierOfKey(rawKey) {
      const digest = presentedKeyDigest(rawKey);
      if (digest === undefined) return undefined;
      const tier = keys.tierOfDigest(digest);
      return tier === undefined ? undefined : { tier, identity: keyIdentityOfDigest(digest) };
    },
    tierOfDigest(digest) {
      const tier = keys.tierOfDigest(digest);
      return tier === undefined ? undefined : { tier, identity: keyIdentityOfDigest(digest) };
    },
    origins,
  };
  return Object.freeze(snapshot);
}

function compileRule(rule: ConfigDocument['rules'][number], at: string): CompiledRule {
  const algorithm = rateAlgorithm(rule.rate, `${at}.rate`);
  const tierAlgorithms = frozenMap(
    Object.entries(rule.tiers ?? {}).map(([tier, o]): [string, Algorithm] => [
      tier,
      rateAlgorithm(o.rate, `${at}.tiers.${tier}.rate`),
    ]),
  );
  const degraded = rule.degraded === undefined ? undefined : rateAlgorithm(rule.degraded, `${at}.degraded`);
  const algorithmFor = (tier: string) => tierAlgorithms.get(tier) ?? algorithm;
  const keyBy: RuleKeyBy =
    typeof rule.keyBy === 'object' ? Object.freeze({ header: rule.keyBy.header.toLowerCase() }) : rule.keyBy;
  return Object.freeze({
    id: rule.id,
    methods: compileMethods(rule.match.methods, `${at}.match.methods`),
    path: rule.match.path === undefined ? undefined : compilePathPattern(rule.match.path, `${at}.match.path`),
    cost: rule.cost ?? 1,
    mode: rule.mode ?? 'enforce',
    keyBy,
    algorithm,
    tierAlgorithms,
    algorithmFor,
    degraded,
    algorithmIn: (tier: string, status: LoadStatus) =>
      status === 'DEGRADED' && degraded !== undefined ? degraded : algorithmFor(tier),
  });
}

/**
 * The algorithm of a rate or list of rates: one token bucket per rate, refilling at that rate and holding
 * its count (or `burst`, for a single rate), combined with `hybrid` when there are several.
 */
export function rateAlgorithm(spec: RateSpec, field = 'rate', burst?: number): Algorithm {
  const rates = Array.isArray(spec) ? spec : [spec];
  const buckets = rates.map((rate, i) => {
    const f = Array.isArray(spec) ? `${field}[${i}]` : field;
    const capacity = rates.length === 1 && burst !== undefined ? burst : parseRate(rate, f).limit;
    return tokenBucket({ capacity, refillRate: rate });
  });
  return buckets.length === 1 ? buckets[0]! : hybrid(...buckets);
}

// A Map that refuses changes, frozen: a snapshot is shared by requests in flight and never edited.
function frozenMap<K, V>(entries: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  const map = new Map<K, V>(entries);
  const refuse = () => {
    throw new TypeError('a compiled configuration snapshot cannot be changed; compile a new one');
  };
  Object.assign(map, { set: refuse, delete: refuse, clear: refuse });
  return Object.freeze(map);
}
