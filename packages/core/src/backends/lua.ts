import { createHash } from 'node:crypto';
import type { AlgorithmStep } from '../algorithms/types.js';

/** A composed script: its source and SHA1, as Redis names it in EVALSHA. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

// Shared by every script. States are stored as ':'-joined integers formatted with %d, because tostring()
// would print 14 significant digits and silently round large values.
const PRELUDE = `local function decode(raw)
  if not raw then return nil end
  local s, i, n = {}, 1, 1
  while true do
    local j = string.find(raw, ':', i, true)
    if not j then s[n] = tonumber(string.sub(raw, i)); return s end
    s[n] = tonumber(string.sub(raw, i, j - 1))
    n = n + 1
    i = j + 1
  end
end
local FORMATS = {'%d', '%d:%d', '%d:%d:%d', '%d:%d:%d:%d'}
local function encode(s)
  local n = #s
  if n >= 1 and n <= 4 then return string.format(FORMATS[n], unpack(s)) end
  local parts = {}
  for i = 1, n do parts[i] = string.format('%d', s[i]) end
  return table.concat(parts, ':')
end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// Runs a batch of decisions for one keyspace in order: KEYS holds M keys per decision, ARGV after `now`
// holds each decision's cost and peek flag. Each decision is all-or-nothing on its own M keys; decisions
// later in the batch see what earlier ones wrote, exactly as if they had arrived one by one.
const BATCH = `local M = #STEPS
local out, at = {}, 1
for d = 0, #KEYS / M - 1 do
  local cost = tonumber(ARGV[2 + 2 * d])
  local write = ARGV[3 + 2 * d] ~= '1'
  local base = d * M
  if M == 1 then
    local key = KEYS[base + 1]
    local ns, allowed, remaining, reset, retry, ttl = STEPS[1](decode(redis.call('GET', key)), now, cost, PARAMS[1])
    if allowed == 1 and write then
      if ns and ttl > 0 then redis.call('SET', key, encode(ns), 'PX', ttl) else redis.call('DEL', key) end
    end
    out[at] = allowed; out[at + 1] = remaining; out[at + 2] = reset; out[at + 3] = retry
    at = at + 4
  else
    local states, ttls, all = {}, {}, true
    for i = 1, M do
      local ns, allowed, remaining, reset, retry, ttl = STEPS[i](decode(redis.call('GET', KEYS[base + i])), now, cost, PARAMS[i])
      if allowed ~= 1 then all = false end
      states[i] = ns
      ttls[i] = ttl
      out[at] = allowed; out[at + 1] = remaining; out[at + 2] = reset; out[at + 3] = retry
      at = at + 4
    end
    if all and write then
      for i = 1, M do
        if states[i] and ttls[i] > 0 then
          redis.call('SET', KEYS[base + i], encode(states[i]), 'PX', ttls[i])
        else
          redis.call('DEL', KEYS[base + i])
        end
      end
    end
  end
end
return out
`;

/**
 * Builds the script that runs a batch of decisions over these steps, with their parameters written into
 * it. ARGV: now (empty = ask Redis TIME), then cost and peek (0|1) per decision; KEYS: one per member per
 * decision. Returns 4 integers per member per decision: allowed, remaining, reset, retry. A limiter's
 * steps never change, so this is composed once per limiter.
 */
export function composeScript(members: readonly AlgorithmStep[]): Script {
  const ids = [...new Set(members.map((m) => m.id))];
  const fns = ids.map((id) => `local F_${id} = ${members.find((m) => m.id === id)!.lua}`).join('\n');
  const params = (m: AlgorithmStep) => `{${m.params.map((p) => String(p)).join(', ')}}`;
  const tables = `local STEPS = {${members.map((m) => `F_${m.id}`).join(', ')}}\nlocal PARAMS = {${members.map(params).join(', ')}}\n`;
  const source = `${fns}\n${tables}${PRELUDE}${BATCH}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}
