import { createHash } from 'node:crypto';
import type { AlgorithmStep } from '../algorithms/types.js';

/** A composed script: its source and SHA1, as Redis names it in EVALSHA. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

// The driver every composed script shares. ARGV: now (empty = ask Redis TIME), cost, peek (0|1), then per
// member: step name, parameter count, parameters. KEYS: one per member, all in one hash slot.
// States are stored as ':'-joined integers formatted with %d, because tostring() would print 14
// significant digits and silently round large values.
const DRIVER = `
local function decode(raw)
  if not raw then return nil end
  local s = {}
  for v in string.gmatch(raw, '[^:]+') do s[#s + 1] = tonumber(v) end
  return s
end
local function encode(s)
  local parts = {}
  for i = 1, #s do parts[i] = string.format('%d', s[i]) end
  return table.concat(parts, ':')
end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cost = tonumber(ARGV[2])
local peek = ARGV[3] == '1'
local at = 4
local out, states, ttls = {}, {}, {}
local all = true
for i = 1, #KEYS do
  local step = STEPS[ARGV[at]]
  local n = tonumber(ARGV[at + 1])
  local p = {}
  for j = 1, n do p[j] = tonumber(ARGV[at + 1 + j]) end
  at = at + 2 + n
  local ns, allowed, remaining, reset, retry, ttl = step(decode(redis.call('GET', KEYS[i])), now, cost, p)
  if allowed ~= 1 then all = false end
  states[i] = ns
  ttls[i] = ttl
  local o = #out
  out[o + 1] = allowed; out[o + 2] = remaining; out[o + 3] = reset; out[o + 4] = retry
end
if all and not peek then
  for i = 1, #KEYS do
    if states[i] and ttls[i] > 0 then
      redis.call('SET', KEYS[i], encode(states[i]), 'PX', ttls[i])
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
return out
`;

/** Builds (once per distinct set of steps) the script that runs those steps atomically. */
export function composeScript(members: readonly AlgorithmStep[]): Script {
  const steps = new Map<string, string>();
  for (const m of members) steps.set(m.id, m.lua);
  const defs = [...steps].map(([id, lua]) => `STEPS[${JSON.stringify(id)}] = ${lua}`).join('\n');
  const source = `local STEPS = {}\n${defs}\n${DRIVER}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The ARGV for these members: now (undefined: Redis TIME), cost, peek flag, then each member's parameters. */
export function scriptArgs(
  members: readonly AlgorithmStep[],
  now: number | undefined,
  cost: number,
  peek: boolean,
): (string | number)[] {
  // An empty string, not 0, asks for Redis TIME: 0 is a valid instant for an injected clock.
  const args: (string | number)[] = [now ?? '', cost, peek ? 1 : 0];
  for (const m of members) args.push(m.id, m.params.length, ...m.params);
  return args;
}
