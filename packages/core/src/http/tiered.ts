import type { Decision } from '../decision.js';
import { BackendError } from '../errors.js';
import type { RateLimiter } from '../limiter.js';
import { keyIdentity } from '../policy/api-keys.js';
import type { KeyStore, KeyStoreOutcome } from '../policy/key-store.js';
import { type AuditLog, keyHint } from '../control/audit.js';
import type { IpBlock } from '../control/blocks.js';
import type { KeyProtection } from '../control/protection.js';
import type { Statistics } from '../control/stats.js';
import type { ConfigSnapshot, KeyTier, LoadStatus } from '../policy/snapshot.js';
import type { ClientKeys } from './client-key.js';
import type { RateHeaders } from './headers.js';
import type { Outcomes } from './outcome.js';
import { SERVICE_UNAVAILABLE_BODY } from './response.js';
import { clientId, partsKeyspace } from '../key-names.js';
import { type ChargeGroup, planFor, ruleScope, type TierPlan, tierScope } from './tier-plan.js';
import type { HeaderMode, HttpOutcome, HttpRequest } from './types.js';

/** The body of every 401 for an API key that is not valid: the same for any key, so it tells nothing. */
export const UNAUTHORIZED_BODY: Readonly<{ error: string; message: string }> = Object.freeze({
  error: 'Unauthorized',
  message: 'The API key is not valid.',
});

/** The body of a 403 for a client IP blocked after too many invalid API keys (or by an operator). */
export const BLOCKED_BODY: Readonly<{ error: string; message: string }> = Object.freeze({
  error: 'Forbidden',
  message: 'This address is blocked for a while after too many invalid API keys.',
});

/** The body of a 503 for a request of a tier shed while the service is DEGRADED. */
export const SHED_BODY: Readonly<{ error: string; message: string }> = Object.freeze({
  error: 'Service Unavailable',
  message: 'The service is under heavy load and is serving paid tiers first; try again shortly.',
});

/** The range of a shed request's Retry-After, in whole seconds: drawn evenly from it for each request. */
export const SHED_RETRY_S: readonly [number, number] = Object.freeze([5, 15]) as readonly [number, number];

/** The header naming the shadow rules that would have refused a request (comma-separated rule ids). */
export const SHADOW_HEADER = 'X-RateLimit-Shadow';

/** One limit on a client, read without spending (see TierRequests.inspect). */
export interface LimitReading {
  /** The tier's name or the rule's id. */
  readonly owner: string;
  readonly kind: 'tier' | 'rule';
  /** The bucket's size (or the binding rate's count, for several rates). */
  readonly limit: number;
  readonly remaining: number;
  readonly used: number;
  /** Until the limit is whole again, in ms. */
  readonly resetAfterMs: number;
}

/** Who a request is: its tier and the identity its tier counts it by (`k#<sha256>` or its IP). */
interface Client {
  readonly tier: string;
  readonly identity: string;
}

/** What the HttpLimiter lends the tier evaluation: its limiter, client keys, outcomes and reporting. */
export interface TierHost {
  readonly limiter: RateLimiter;
  readonly clients: ClientKeys;
  readonly outcomes: Outcomes;
  readonly headerMode: HeaderMode;
  readonly onBackendError: 'allow' | 'deny' | 'local';
  readonly keyStore: KeyStore | undefined;
  readonly audit: AuditLog | undefined;
  readonly statistics: Statistics | undefined;
  readonly protection: KeyProtection | undefined;
  /** The load state in force (NORMAL when the limiter has none); read once per request. */
  loadStatus(): LoadStatus;
  /** A refusal: onLimited, the 'limited' event, and the refusal outcome with these headers. */
  refuse(request: HttpRequest, decision: Decision, headers: RateHeaders): HttpOutcome | Promise<HttpOutcome>;
  /** A failed backend, answered as `onBackendError` says and reported. */
  backendFailure(cause: unknown, request: HttpRequest): HttpOutcome;
  /** Reports a backend failure whose request was still decided (the local fallback, a shadow rule). */
  reportBackendError(error: Error, request: HttpRequest): void;
  /** Reports a failing user callback (keyStore). */
  configError(callback: string, error: Error, request: HttpRequest): void;
  /** The 'unknownKey' event. */
  unknownKey(request: HttpRequest): void;
  /** The 'shadowLimited' event. */
  shadowLimited(request: HttpRequest, rule: string, decision: Decision): void;
}

// Keys remembered per snapshot: a busy API's active keys, while random keys cannot grow it without bound.
const MAX_LISTED = 10_000;

// A request whose key could not be looked up under onKeyStoreError "reject": tried again in a second.
const KEY_STORE_DOWN: HttpOutcome = Object.freeze({
  allowed: false,
  status: 503,
  headers: Object.freeze({ 'Retry-After': '1' }),
  body: SERVICE_UNAVAILABLE_BODY,
  decision: undefined,
  skipped: false,
});

/**
 * Decides requests under a configuration snapshot: finds the request's tier from its API key (the keys
 * table, then the keyStore), answers an unknown key, then charges the tier and the rules the request
 * matches as the snapshot's plan says (see tier-plan.ts). The snapshot is taken once per request, so a
 * reload never changes a request half-way.
 */
export class TierRequests {
  private readonly unauthorized = new Map<string, HttpOutcome>();
  // Presented keys and their tiers under one snapshot (null: not listed), so a client's key is hashed once
  // rather than on every request; started over when the snapshot changes or the map grows too big.
  private readonly listed = new Map<string, KeyTier | null>();
  private listedIn: ConfigSnapshot | undefined;

  constructor(private readonly host: TierHost) {}

  /**
   * Decides one request under `snapshot`: synchronously when it can (a listed key or none, one group to
   * charge, a synchronous backend), else a promise that never rejects.
   */
  evaluate(request: HttpRequest, snapshot: ConfigSnapshot): HttpOutcome | Promise<HttpOutcome> {
    const client = this.identify(request, snapshot);
    if (client instanceof Promise) return client.then((c) => this.identified(request, snapshot, c));
    return this.identified(request, snapshot, client);
  }

  private identified(
    request: HttpRequest,
    snapshot: ConfigSnapshot,
    client: Client | HttpOutcome,
  ): HttpOutcome | Promise<HttpOutcome> {
    if ('status' in client) return client;
    const status = this.host.loadStatus();
    if (status === 'DEGRADED' && snapshot.tiers.get(client.tier)?.shed === true)
      return this.shed(client.tier);
    const rules = snapshot.match(request.method, request.path);
    const plan = planFor(
      snapshot,
      client.tier,
      rules,
      this.host.limiter.prefix,
      this.host.headerMode,
      status,
    );
    if (plan.enforce.length > 1 || plan.shadow.length > 0) return this.charge(request, client, plan);
    // The common case, one group (the tier, and rules counted by the key): no await of our own.
    const group = plan.enforce[0]!;
    const key = this.keyOf(group, client, request);
    let decision: Decision | Promise<Decision>;
    try {
      decision = this.host.limiter.decideIn(group.space, key, group.cost);
    } catch (error) {
      return this.failedOver(error, request, plan, group, key);
    }
    if (decision instanceof Promise) {
      return decision.then(
        (d) => this.single(request, plan, group, d, key),
        (error: unknown) => this.failedOver(error, request, plan, group, key),
      );
    }
    return this.single(request, plan, group, decision, key);
  }

  private single(
    request: HttpRequest,
    plan: TierPlan,
    group: ChargeGroup,
    decision: Decision,
    key: string,
  ): HttpOutcome | Promise<HttpOutcome> {
    if (decision.allowed) {
      this.host.statistics?.record({ tier: plan.tier, rules: plan.rules, allowed: true });
      return this.host.outcomes.allowed(decision, group.headers, plan.tier, plan.rules);
    }
    return this.refused(request, plan, group, decision, key);
  }

  private refused(
    request: HttpRequest,
    plan: TierPlan,
    group: ChargeGroup,
    decision: Decision,
    key: string,
  ): HttpOutcome | Promise<HttpOutcome> {
    const limitedBy = group.owners[decision.binding];
    this.host.statistics?.record({
      tier: plan.tier,
      rules: plan.rules,
      allowed: false,
      limitedBy,
      identity: key,
    });
    const refused = this.host.refuse(request, decision, group.headers);
    const tag = (o: HttpOutcome): HttpOutcome => ({ ...o, tier: plan.tier, limitedBy, rules: plan.rules });
    return refused instanceof Promise ? refused.then(tag) : tag(refused);
  }

  // A failed backend: decided locally under onBackendError "local" (a backend failure, not a bug), else
  // answered as the policy says.
  private failedOver(
    error: unknown,
    request: HttpRequest,
    plan: TierPlan,
    group: ChargeGroup,
    key: string,
  ): HttpOutcome | Promise<HttpOutcome> {
    const decision = this.locally(error, request, group, key);
    if (decision === undefined)
      return { ...this.host.backendFailure(error, request), tier: plan.tier, rules: plan.rules };
    return this.single(request, plan, group, decision, key);
  }

  private locally(
    error: unknown,
    request: HttpRequest,
    group: ChargeGroup,
    key: string,
  ): Decision | undefined {
    if (this.host.onBackendError !== 'local' || !(error instanceof BackendError)) return undefined;
    this.host.reportBackendError(error, request);
    return this.host.limiter.decideLocallyIn(group.space, key, group.cost);
  }

  /** The request's tier and identity under `snapshot`; undefined when its key is not valid. */
  async clientOf(request: HttpRequest, snapshot: ConfigSnapshot): Promise<Client | undefined> {
    const client = await this.identify(request, snapshot, true);
    return 'status' in client ? undefined : client;
  }

  /**
   * Reads, without spending, every limit that counts `identity` as a client of `tier`: the tier's own, and
   * each rule counting by the key (as for that tier).
   */
  async inspect(identity: string, tier: string, snapshot: ConfigSnapshot): Promise<LimitReading[]> {
    const compiled = snapshot.tiers.get(tier);
    if (compiled === undefined) return [];
    const status = this.host.loadStatus();
    const limits = [
      { owner: tier, scope: tierScope(tier), members: compiled.algorithmIn(status).members },
      ...snapshot.rules
        .filter((r) => r.keyBy === 'key')
        .map((r) => ({ owner: r.id, scope: ruleScope(r.id), members: r.algorithmIn(tier, status).members })),
    ];
    const prefix = this.host.limiter.prefix;
    return Promise.all(
      limits.map(async (l) => {
        const space = partsKeyspace(prefix, [{ scope: l.scope, members: l.members }]);
        const d = await this.host.limiter.decideIn(space, identity, 1, true);
        // A peek answers as for a request of cost 1: what would remain after it. Without that request,
        // one more remains (a refusal reports the key as it is).
        const remaining = d.allowed ? d.remaining + 1 : d.remaining;
        return {
          owner: l.owner,
          kind: l.owner === tier ? ('tier' as const) : ('rule' as const),
          limit: d.limit,
          remaining,
          used: Math.max(0, d.limit - remaining),
          resetAfterMs: d.resetAfterMs,
        };
      }),
    );
  }

  /** Forgets everything counted for `identity`: under every tier (a key may have moved), and every rule. */
  async forget(identity: string, snapshot: ConfigSnapshot): Promise<void> {
    const parts = [
      ...[...snapshot.tiers.values()].map((t) => ({
        scope: tierScope(t.name),
        members: t.algorithm.members,
      })),
      ...snapshot.rules.map((r) => ({ scope: ruleScope(r.id), members: r.algorithm.members })),
    ];
    await this.host.limiter.backend.delete(partsKeyspace(this.host.limiter.prefix, parts), identity);
  }

  /** Forgets the request's client's counts: its tier's, and those of every rule counting by its key. */
  async reset(request: HttpRequest, snapshot: ConfigSnapshot): Promise<void> {
    const client = await this.clientOf(request, snapshot);
    if (client === undefined) return;
    const rules = snapshot.rules.filter((r) => r.keyBy === 'key');
    const plan = planFor(snapshot, client.tier, rules, this.host.limiter.prefix, this.host.headerMode);
    for (const group of [...plan.enforce, ...plan.shadow]) {
      if (group.by === 'key') await this.host.limiter.backend.delete(group.space, client.identity);
    }
  }

  // The request's tier and identity, or the answer for a key that is not valid.
  private identify(
    request: HttpRequest,
    snapshot: ConfigSnapshot,
    quiet = false,
  ): Client | HttpOutcome | Promise<Client | HttpOutcome> {
    const protection = this.host.protection;
    if (protection !== undefined) {
      // A blocked client is answered before anything is looked up, with or without a key.
      const block = protection.blockOf(request.ip);
      if (block !== undefined && !quiet) return this.blocked(block);
    }
    const raw = request.header(snapshot.keyBy);
    if (raw === undefined || raw === '') return this.anonymous(request, snapshot);
    const listed = this.listedTier(raw, snapshot);
    if (listed !== null) return listed;
    // A key of the wrong format is not looked up anywhere: it is as unknown as a key can be.
    if (protection !== undefined && !protection.wellFormed(raw))
      return this.unknown(request, snapshot, quiet, raw);
    const store = this.host.keyStore;
    if (store === undefined) return this.unknown(request, snapshot, quiet, raw);
    const found = store.lookup(raw);
    if (found instanceof Promise) return found.then((o) => this.stored(o, raw, request, snapshot, quiet));
    return this.stored(found, raw, request, snapshot, quiet);
  }

  private listedTier(raw: string, snapshot: ConfigSnapshot): KeyTier | null {
    if (this.listedIn !== snapshot) {
      this.listed.clear();
      this.listedIn = snapshot;
    }
    let tier = this.listed.get(raw);
    if (tier === undefined) {
      tier = snapshot.tierOfKey(raw) ?? null;
      if (this.listed.size >= MAX_LISTED) this.listed.clear();
      this.listed.set(raw, tier);
    }
    return tier;
  }

  private stored(
    found: KeyStoreOutcome,
    raw: string,
    request: HttpRequest,
    snapshot: ConfigSnapshot,
    quiet = false,
  ): Client | HttpOutcome {
    if (found.kind === 'tier') {
      if (snapshot.tiers.has(found.tier)) return { tier: found.tier, identity: keyIdentity(raw) };
      // The app named a tier the configuration does not have: its bug, handled like a failed lookup.
      this.host.configError(
        'keyStore',
        new Error(
          `keyStore returned the tier "${found.tier}", which configuration ${snapshot.version} does not define`,
        ),
        request,
      );
    } else if (found.kind === 'unknown') {
      return this.unknown(request, snapshot, quiet, raw);
    } else {
      this.host.configError('keyStore', found.error, request);
    }
    return this.host.keyStore!.onKeyStoreError === 'reject'
      ? KEY_STORE_DOWN
      : this.anonymous(request, snapshot);
  }

  private anonymous(request: HttpRequest, snapshot: ConfigSnapshot): Client {
    return { tier: snapshot.defaultTier, identity: this.host.clients.ip(request) };
  }

  // An unlisted key: 401 under "reject"; under "default", a request without a key (so it buys nothing).
  private unknown(
    request: HttpRequest,
    snapshot: ConfigSnapshot,
    quiet = false,
    raw?: string,
  ): Client | HttpOutcome {
    if (snapshot.unknownKey === 'default') return this.anonymous(request, snapshot);
    if (!quiet) this.invalidKey(request, raw);
    let outcome = this.unauthorized.get(snapshot.keyBy);
    if (outcome === undefined) {
      outcome = Object.freeze({
        allowed: false,
        status: 401,
        headers: Object.freeze({ 'WWW-Authenticate': `ApiKey header="${snapshot.keyBy}"` }),
        body: UNAUTHORIZED_BODY,
        decision: undefined,
        skipped: false,
      });
      this.unauthorized.set(snapshot.keyBy, outcome);
    }
    return outcome;
  }

  // An invalid key: the event, an audit record (a hint of the key, never the key), and one more invalid
  // attempt counted against the client's IP, which may block it (in the background: the 401 never waits).
  private invalidKey(request: HttpRequest, raw: string | undefined): void {
    this.host.unknownKey(request);
    this.host.audit?.record({ type: 'invalidKey', keyHint: keyHint(raw ?? '') }, request.ip);
    const protection = this.host.protection;
    if (protection !== undefined) {
      protection.invalidAttempt(request.ip).catch(() => {
        // invalidAttempt never rejects by contract; a bug there must not become an unhandled rejection.
      });
    }
  }

  // A tier shed while DEGRADED: 503, not a quota's 429, with a Retry-After spread over SHED_RETRY_S so the
  // shed clients do not all come back in the same second.
  private shed(tier: string): HttpOutcome {
    this.host.statistics?.record({ tier, allowed: false });
    const [least, most] = SHED_RETRY_S;
    const seconds = least + Math.floor(Math.random() * (most - least + 1));
    return {
      allowed: false,
      status: 503,
      headers: { 'Retry-After': String(seconds) },
      body: SHED_BODY,
      decision: undefined,
      skipped: false,
      tier,
      shed: true,
    };
  }

  // A blocked client: 403 with Retry-After until the block ends, whatever it asked.
  private blocked(block: IpBlock): HttpOutcome {
    const seconds = Math.max(1, Math.ceil((block.untilMs - Date.now()) / 1000));
    return {
      allowed: false,
      status: 403,
      headers: { 'Retry-After': String(seconds) },
      body: BLOCKED_BODY,
      decision: undefined,
      skipped: false,
    };
  }

  // Charges the plan's groups in order and stops at the first refusal; then counts the shadow rules.
  private async charge(request: HttpRequest, client: Client, plan: TierPlan): Promise<HttpOutcome> {
    let best: Decision | undefined;
    let bestGroup: ChargeGroup | undefined;
    for (const group of plan.enforce) {
      const key = this.keyOf(group, client, request);
      let decision: Decision;
      try {
        decision = await this.host.limiter.decideIn(group.space, key, group.cost);
      } catch (error) {
        const local = this.locally(error, request, group, key);
        if (local === undefined)
          return { ...this.host.backendFailure(error, request), tier: plan.tier, rules: plan.rules };
        decision = local;
      }
      if (!decision.allowed) return this.refused(request, plan, group, decision, key);
      if (best === undefined || tighter(decision, best)) {
        best = decision;
        bestGroup = group;
      }
    }
    this.host.statistics?.record({ tier: plan.tier, rules: plan.rules, allowed: true });
    const outcome = this.host.outcomes.allowed(best!, bestGroup!.headers, plan.tier, plan.rules);
    const shadowed = plan.shadow.length === 0 ? undefined : await this.shadow(request, client, plan);
    if (shadowed !== undefined) (outcome.headers as Record<string, string>)[SHADOW_HEADER] = shadowed;
    return outcome;
  }

  // Counts each shadow rule as if it were enforced alone; returns the ids of those that would refuse.
  private async shadow(request: HttpRequest, client: Client, plan: TierPlan): Promise<string | undefined> {
    let ids: string | undefined;
    for (const group of plan.shadow) {
      let decision: Decision;
      try {
        decision = await this.host.limiter.decideIn(
          group.space,
          this.keyOf(group, client, request),
          group.cost,
        );
      } catch (error) {
        // A shadow rule never changes an answer, a failed one included; the failure is still reported.
        if (error instanceof Error) this.host.reportBackendError(error, request);
        continue;
      }
      if (decision.allowed) continue;
      const id = group.owners[0]!;
      this.host.shadowLimited(request, id, decision);
      ids = ids === undefined ? id : `${ids}, ${id}`;
    }
    return ids;
  }

  // The client a group counts: the tier's identity, the client IP, or a header's value (else the IP).
  private keyOf(group: ChargeGroup, client: Client, request: HttpRequest): string {
    const by = group.by;
    if (by === 'key') return client.identity;
    if (by === 'ip') return this.host.clients.ip(request);
    const value = request.header(by.header);
    return value === undefined || value === '' ? this.host.clients.ip(request) : clientId('h', value);
  }
}

// Whether decision a binds an allowed request more than b: less remaining, then the smaller limit.
function tighter(a: Decision, b: Decision): boolean {
  if (a.remaining !== b.remaining) return a.remaining < b.remaining;
  return a.limit < b.limit;
}
