/** The answer for one request. All durations are whole milliseconds. */
export interface Decision {
  /** Whether the request may proceed (and was charged). */
  readonly allowed: boolean;
  /** The limit of the rule that binds this key most tightly. */
  readonly limit: number;
  /** Requests (cost units) still available right after this decision. */
  readonly remaining: number;
  /** Milliseconds until the binding rule's window resets (windows: its end; buckets and GCRA: full again). */
  readonly resetAfterMs: number;
  /** 0 when allowed; otherwise milliseconds until the same request would pass, `Infinity` if it never can. */
  readonly retryAfterMs: number;
}
