import { createHash } from 'node:crypto';
import type { AlgorithmStep } from './algorithms/types.js';
import type { Keyspace } from './backends/types.js';
import { InvalidOptionError } from './errors.js';
import { isWellFormed, WELL_FORMED } from './well-formed.js';

// Every stored key name is built here, so the same client, options and route give the same name whatever
// the framework, the process or the adapter. The shape is
//
//   <prefix>:{<client>}:<member>              a limit that applies to every route (app-wide)
//   <prefix>:{<client>}:<scope>:<member>      a limit scoped to a route (or a scope the user named)
//
// The hash tag is the client identity alone, so every key of one client (its app-wide limit, its route
// limits, later its tier) lands in one Redis Cluster slot and one script may touch them all. No rate
// parameter appears in a name: a change of rate (a reload, a load state) acts on the counts already stored.

/** Client values longer than this are hashed, so a long header can never reach the limiter's 1 KiB key limit. */
export const MAX_RAW_KEY_LENGTH = 256;

// Scopes longer than this (in bytes) are hashed, keeping every key well under the limiter's 1 KiB limit.
const MAX_SCOPE_BYTES = 128;

/** Where a client identity came from: "ip", "h" (a header) or "k" (a user function). */
export type KeySource = 'ip' | 'h' | 'k';

/** The hex SHA-256 of `value`. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * A client identity as stored: `<source>:<value>`, or `<source>#<sha256 hex>` when the value is longer than
 * MAX_RAW_KEY_LENGTH. Each source gets its own prefix, so an API key that reads "1.2.3.4" never shares a
 * count with the client at 1.2.3.4; the different separator keeps a hashed value apart from a raw one.
 */
export function clientId(source: KeySource, value: string): string {
  return value.length > MAX_RAW_KEY_LENGTH ? hashedClientId(source, sha256(value)) : `${source}:${value}`;
}

/**
 * The client identity of a value known by its SHA-256 hex digest: what `clientId` gives for a long value,
 * and what an API key always gets (see `keyIdentity`), so the raw value never reaches a key name.
 */
export function hashedClientId(source: KeySource, digest: string): string {
  return `${source}#${digest}`;
}

/**
 * The scope of a route-level limit: the method (HEAD counted as GET, since every GET route answers HEAD
 * and must not double the allowance) and the route pattern the request matched, e.g. "POST /login".
 */
export function routeScope(method: string, pattern: string): string {
  const m = method === 'HEAD' ? 'GET' : method;
  return `${m} ${pattern}`;
}

// The characters that would make a name ambiguous: "%" (the escape itself), ":" (the separator), and the
// braces of the hash tag.
const SPECIAL = /[%:{}]/;

function escapeSegment(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(/%/g, '%25').replace(/:/g, '%3A').replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}

/**
 * Returns `scope` if it can name a count: a non-empty string, well-formed (lone surrogates would merge
 * distinct scopes in a key name); else throws InvalidOptionError naming `field`.
 */
export function checkScope(scope: unknown, field = 'scope'): string {
  if (typeof scope === 'string' && scope !== '' && isWellFormed(scope)) return scope;
  throw new InvalidOptionError(field, scope, `a non-empty, ${WELL_FORMED} string such as "POST /login"`);
}

/**
 * A scope as it appears in a key name: escaped so it holds no separator or brace, or `#<sha256 hex>` when
 * longer than MAX_SCOPE_BYTES (a scope's own leading "#" is escaped, so the two never meet).
 */
function scopeSegment(scope: string): string {
  if (Buffer.byteLength(scope) > MAX_SCOPE_BYTES) return `#${sha256(scope)}`;
  const escaped = escapeSegment(scope);
  return escaped.startsWith('#') ? `%23${escaped.slice(1)}` : escaped;
}

/**
 * The name of each member's state: the algorithm's id (state formats differ per algorithm), and for a
 * second or later member of the same algorithm in a hybrid, how many came before it ("fw", "fw1"), so
 * those keep apart. Never its parameters. A hybrid's first token bucket thus shares its state with a plain
 * token bucket on the same prefix, scope and client: a tier that grows from one rate to several keeps its
 * counts.
 */
export function memberNames(members: readonly AlgorithmStep[]): string[] {
  const seen = new Map<string, number>();
  return members.map((m) => {
    const n = seen.get(m.id) ?? 0;
    seen.set(m.id, n + 1);
    return n === 0 ? m.id : `${m.id}${n}`;
  });
}

/** Steps counted under one scope: one part of a PartsKeyspace. */
export interface KeyspacePart {
  /** The scope the part counts under; undefined for the app-wide count. */
  readonly scope: string | undefined;
  /** Its steps, named as in a LimiterKeyspace of the same scope. */
  readonly members: readonly AlgorithmStep[];
}

// The end of each member's key name after the client: the scope segment and the member's name.
function tailsOf(part: KeyspacePart): string[] {
  const scopePart = part.scope === undefined ? '' : `${scopeSegment(part.scope)}:`;
  return memberNames(part.members).map((m) => `}:${scopePart}${m}`);
}

/**
 * The keyspace of one RateLimiter under one scope: namespaces built once, key names built per call. The
 * memory backend keys its tables by `names` and stores the client as is; Redis stores `keys(client)`.
 */
export class LimiterKeyspace implements Keyspace {
  readonly members: readonly AlgorithmStep[];
  readonly names: readonly string[];
  /** The scope these keys belong to; undefined for an app-wide limit (or several scopes, see PartsKeyspace). */
  readonly scope: string | undefined;
  private readonly head: string;
  private readonly tails: readonly string[];

  constructor(
    prefix: string,
    members: readonly AlgorithmStep[],
    scope?: string,
    parts?: readonly KeyspacePart[],
  ) {
    const all = parts ?? [{ scope, members }];
    this.members = parts === undefined ? members : parts.flatMap((p) => p.members);
    this.scope = parts === undefined ? scope : undefined;
    this.tails = all.flatMap(tailsOf);
    // Memory namespaces: the same text as a key name with the client left out.
    this.names = this.tails.map((t) => `${prefix}:${t.slice(2)}`);
    this.head = `${prefix}:{`;
  }

  keys(client: string): string[] {
    const c = clientTag(client);
    const tails = this.tails;
    if (tails.length === 1) return [this.head + c + tails[0]];
    return tails.map((t) => this.head + c + t);
  }
}

/**
 * The keyspace of several limits on one client, each counted under its own scope (a tier and the rules a
 * request matches). Each part's keys are named exactly as its own LimiterKeyspace names them, and all share
 * the client's hash tag, so one atomic call charges them all or none and each keeps its count when the
 * others change.
 */
export function partsKeyspace(prefix: string, parts: readonly KeyspacePart[]): LimiterKeyspace {
  return new LimiterKeyspace(prefix, [], undefined, parts);
}

const TAG_SPECIAL = /[%{}]/;

// A client id's own ":" (as in "ip:1.2.3.4" or an IPv6 address) stays readable: the tag ends at the first
// "}", so only "%" and the braces are escaped. Escaping is rare, so it is tested for first.
function clientTag(client: string): string {
  if (!TAG_SPECIAL.test(client)) return client;
  return client.replace(/%/g, '%25').replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}
