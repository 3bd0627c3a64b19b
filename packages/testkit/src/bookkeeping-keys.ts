// Keys a RedisBackend writes beside the limiters' state: a batch's reply, kept about a second for re-sends
// ("<first key of the batch>~<8 hex>.<n>"), and the instances' heartbeat set ("<prefix>:instances").
const BOOKKEEPING = /~[0-9a-f]{8}\.[0-9a-z]+$|^[^{]*:instances$/;

/** Whether a Redis key is the backend's bookkeeping rather than a limiter's state, for tests that count keys. */
export function isBookkeepingKey(name: string): boolean {
  return BOOKKEEPING.test(name);
}

/** The state keys among `names`: the bookkeeping keys left out. */
export function stateKeys(names: readonly string[]): string[] {
  return names.filter((n) => !isBookkeepingKey(n));
}
