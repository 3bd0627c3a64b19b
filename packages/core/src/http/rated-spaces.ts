import type { Keyspace } from '../backends/types.js';
import { LimiterKeyspace } from '../key-names.js';
import type { RateLimiter } from '../limiter.js';
import type { Callbacks } from './callbacks.js';
import { isPromiseLike } from './callbacks.js';
import { RateHeaders } from './headers.js';
import { algorithmOfRate } from './options.js';
import type { HeaderMode, HttpRequest, RateFunction } from './types.js';

/** Where a request with a computed rate is counted, and the headers its decisions get. */
export interface RatedSpace {
  readonly space: Keyspace;
  readonly headers: RateHeaders;
}

// Rates seen are few (one per plan, say); past this many, the cache starts over rather than grow.
const MAX_RATES = 1000;

/**
 * The `rate: (request) => ...` option: each request's rate, turned into a keyspace with the same key names
 * as every other rate's (names never carry parameters), so a client whose rate changes keeps its count.
 * Keyspaces and headers are built once per rate and scope. The RateLimiter holds the default rate, which a
 * failing function falls back to.
 */
export class RatedSpaces {
  private readonly cache = new Map<string, RatedSpace>();
  private readonly fallback = new Map<string | undefined, RatedSpace>();

  constructor(
    private readonly fn: RateFunction,
    private readonly limiter: RateLimiter,
    private readonly mode: HeaderMode,
    private readonly policyName: string,
    private readonly callbacks: Callbacks,
  ) {}

  /** The keyspace and headers of `request`'s rate in `scope`; never rejects (failures fall back). */
  of(request: HttpRequest, scope: string | undefined): RatedSpace | Promise<RatedSpace> {
    let rate: unknown;
    try {
      rate = this.fn(request);
    } catch (error) {
      return this.failed(error, request, scope);
    }
    if (!isPromiseLike(rate)) return this.spaceOf(rate, request, scope);
    return this.callbacks.bounded('rate', rate).then(
      (r) => this.spaceOf(r, request, scope),
      (error: unknown) => this.failed(error, request, scope),
    );
  }

  private spaceOf(rate: unknown, request: HttpRequest, scope: string | undefined): RatedSpace {
    if (typeof rate !== 'string')
      return this.failed(new TypeError(`rate returned ${typeof rate}, not a rate string`), request, scope);
    const id = scope === undefined ? rate : `${rate}\n${scope}`;
    let rated = this.cache.get(id);
    if (rated !== undefined) return rated;
    let algorithm: ReturnType<typeof algorithmOfRate>;
    try {
      algorithm = algorithmOfRate(rate, 'rate');
    } catch (error) {
      return this.failed(error, request, scope);
    }
    rated = this.build(algorithm.members, scope);
    if (this.cache.size >= MAX_RATES) this.cache.clear();
    this.cache.set(id, rated);
    return rated;
  }

  // A failing rate function counts the request at the default rate, and is reported.
  private failed(error: unknown, request: HttpRequest, scope: string | undefined): RatedSpace {
    this.callbacks.failed('rate', error, request);
    let rated = this.fallback.get(scope);
    if (rated === undefined) {
      rated = {
        space: this.limiter.space(scope),
        headers: new RateHeaders(this.mode, this.policyName, this.limiter.algorithm.members),
      };
      this.fallback.set(scope, rated);
    }
    return rated;
  }

  private build(members: LimiterKeyspace['members'], scope: string | undefined): RatedSpace {
    return {
      space: new LimiterKeyspace(this.limiter.prefix, members, scope),
      headers: new RateHeaders(this.mode, this.policyName, members),
    };
  }
}
