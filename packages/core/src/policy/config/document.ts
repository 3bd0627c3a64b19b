// The configuration document of issue 11, as TypeScript types. This is a contract: fields may be added,
// never renamed. schema.ts validates it and proves at compile time that it describes these same types.

/** The HTTP methods a rule may name in `match.methods`, upper-case as they travel on the wire. */
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
] as const;

/** One of HTTP_METHODS. */
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A rate string such as "100/minute", or a non-empty list of them (one limit per rate, all must allow). */
export type RateSpec = string | string[];

/** Where a request's API key is read from. */
export interface ApiKeySource {
  /** The request header holding the API key, e.g. "x-api-key" (compared case-insensitively). */
  header: string;
}

/** A tier: the limit every request of its keys is charged to. */
export interface TierConfig {
  /** The rate the bucket refills at; a list adds one limit per rate, all must allow. */
  rate: RateSpec;
  /** The bucket's size: how many requests may arrive at once. Default: the rate's count; never below it. */
  burst?: number;
  /** The tier's rate while the service is DEGRADED (applied by the load states of a later issue). */
  degraded?: string;
  /** Whether the tier's requests are refused first when the service sheds load (load states). */
  shed?: boolean;
}

/** How a rule counts a request: by the tier's identity, by client IP, or by a request header. */
export type RuleKeyBy = 'key' | 'ip' | { header: string };

/** Which requests a rule applies to; at least one of `methods` and `path`. */
export interface RuleMatch {
  /** The methods it applies to (every method when absent); a rule listing GET also counts HEAD. */
  methods?: HttpMethod[];
  /** The path pattern: starts with "/", `*` is one segment and `**` any number, e.g. "/api/search/**". */
  path?: string;
}

/** A rule's rate for one tier, replacing the rule's own `rate` for that tier's requests. */
export interface RuleTierOverride {
  /** The rate for this tier; a list adds one limit per rate. */
  rate: RateSpec;
}

/** A rule: a limit on matching requests, charged on top of the tier's. */
export interface RuleConfig {
  /** Names the rule in events and counts; unique in the document. Keep it to keep the counts on a reload. */
  id: string;
  /** Which requests the rule applies to. */
  match: RuleMatch;
  /** The rule's rate (per `keyBy` identity); a list adds one limit per rate. */
  rate: RateSpec;
  /** What a matching request costs, charged to the rule and to the tier. */
  cost: number;
  /** Whom the rule counts: "key" (the tier's identity), "ip", or `{ header }`. */
  keyBy: RuleKeyBy;
  /** "enforce" refuses over the limit; "shadow" counts and reports but never refuses. */
  mode: 'enforce' | 'shadow';
  /** Per-tier rates for this rule, by tier name. */
  tiers?: Record<string, RuleTierOverride>;
  /** The rule's rate while the service is DEGRADED, for every tier (default: the rule keeps its limits). */
  degraded?: RateSpec;
}

/** A validated configuration document, defaults filled in (what `parseConfig` returns). */
export interface ConfigDocument {
  /** The JSON Schema an editor checks the file against; ignored by distlimiter. */
  $schema?: string;
  /** The version of the document format: 1. */
  version: 1;
  /** Where the API key is read from (default: the "x-api-key" header). */
  keyBy: ApiKeySource;
  /** The tier of a request without a key (counted by client IP), and of an unlisted key under "default". */
  defaultTier: string;
  /** An unlisted key: "reject" answers 401; "default" treats it as no key (defaultTier, counted by IP). */
  unknownKey: 'reject' | 'default';
  /** The tiers, by name. */
  tiers: Record<string, TierConfig>;
  /** API keys and their tiers: a raw key, or "sha256:" and the 64 lowercase hex digits of its SHA-256. */
  keys: Record<string, string>;
  /** Limits on matching requests, each charged on top of the tier's. */
  rules: RuleConfig[];
}

/** A rule as written: `cost`, `keyBy` and `mode` may be left out. */
export interface RuleInput extends Omit<RuleConfig, 'cost' | 'keyBy' | 'mode'> {
  /** Default 1. */
  cost?: number;
  /** Default "key". */
  keyBy?: RuleKeyBy;
  /** Default "enforce". */
  mode?: 'enforce' | 'shadow';
}

/** A configuration document as written (in a file or in code): the fields with defaults may be left out. */
export interface ConfigInput extends Omit<ConfigDocument, 'keyBy' | 'unknownKey' | 'keys' | 'rules'> {
  /** Default: `{ "header": "x-api-key" }`. */
  keyBy?: ApiKeySource;
  /** Default "reject". */
  unknownKey?: 'reject' | 'default';
  /** Default: no keys. */
  keys?: Record<string, string>;
  /** Default: no rules. */
  rules?: RuleInput[];
}
