import type { Cluster, Redis } from 'ioredis';

// States are stored packed (see core's backends/lua.ts): two integers with struct behind a 1 byte, others
// with cmsgpack. Redis unpacks them itself, so the tests read what the scripts read without a decoder of
// their own.
const UNPACK_STATE = `local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if string.byte(raw, 1) == 1 then
  local x, y = struct.unpack('<i6i5', raw, 2)
  return {x, y}
end
return cmsgpack.unpack(raw)`;

/** The integers of a limiter state stored under `key` (e.g. a fixed window's [end, count]), or null. */
export async function storedState(client: Redis | Cluster, key: string): Promise<number[] | null> {
  const state = await client.eval(UNPACK_STATE, 1, key);
  if (state === null) return null;
  if (!Array.isArray(state) || state.some((n) => typeof n !== 'number')) {
    throw new Error(`${key} does not hold a limiter state: ${JSON.stringify(state)}`);
  }
  return state as number[];
}
