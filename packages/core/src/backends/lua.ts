import { createHash } from 'node:crypto';
import type { AlgorithmStep, StepOutcome } from '../algorithms/types.js';

/** A composed script: its source and SHA1, as Redis names it in EVALSHA. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

// How long past a batch's deadline its reply is kept for re-sends: a re-send leaves before the deadline
// on the backend's clock, which the server's clock is mapped onto with at most a round trip of slack.
export const REPLY_KEPT_MS = 1000;

// Shared by every script. A state (a few integers) is stored packed, short and exact, by Lua's C libraries.
// Two integers within 2^47 and 2^39 (a fixed window's [end, count]) go as 12 bytes of `struct`: a 1 byte,
// then 6 and 5 bytes little-endian. Any other state goes with cmsgpack (variable-length, exact for
// integers). A fixed window's key then takes 88 bytes of MEMORY USAGE whatever its count (the value fits
// the smallest allocation; packed with cmsgpack it did only while the count was under 128); ':'-joined
// digits took 104. struct also costs Redis less per decision than cmsgpack, which walks or builds a table
// on the C side. A state written by an earlier version still reads: a msgpack array starts with a byte of
// 0x90 or more, a digit string with a digit or '-', and neither with 1.
const PRELUDE = `local unpack_state, pack_state, byte = cmsgpack.unpack, cmsgpack.pack, string.byte
local spack, sunpack, floor = struct.pack, struct.unpack, math.floor
local function decode(raw)
  if not raw then return nil end
  local b = byte(raw, 1)
  if b == 1 then
    local x, y = sunpack('<i6i5', raw, 2)
    return {x, y}
  end
  if b >= 144 then return unpack_state(raw) end
  local s, i, n = {}, 1, 1
  while true do
    local j = string.find(raw, ':', i, true)
    if not j then s[n] = tonumber(string.sub(raw, i)); return s end
    s[n] = tonumber(string.sub(raw, i, j - 1))
    n = n + 1
    i = j + 1
  end
end
local function encode(ns)
  if #ns == 2 then
    local x, y = ns[1], ns[2]
    if x >= -140737488355328 and x < 140737488355328 and y >= -549755813888 and y < 549755813888
      and floor(x) == x and floor(y) == y then
      return spack('<Bi6i5', 1, x, y)
    end
  end
  return pack_state(ns)
end
local t = redis.call('TIME')
local rnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now = tonumber(ARGV[1]) or rnow
-- A key's expiry is left alone (KEEPTTL) when its step says it already is now + ttl, which holds on the
-- server's clock only: an injected clock (tests) has the TTL written every time, relative to the server's.
local keeps = ARGV[1] == ''
-- Writes an admitted state for ttl ms. On the server's clock its expiry is now + ttl exactly (PXAT), the
-- instant the step computed, not Redis's own command time plus ttl, which can be a millisecond apart.
local function store(key, ns, ttl, kept)
  if not keeps then redis.call('SET', key, encode(ns), 'PX', ttl)
  elseif kept then redis.call('SET', key, encode(ns), 'KEEPTTL')
  else redis.call('SET', key, encode(ns), 'PXAT', now + ttl) end
end
`;

// Runs a batch of decisions for one keyspace in order: KEYS holds M keys per decision and then, unless
// ARGV[3] is '0', the batch's reply key ('1': a first send, which keeps its reply there; '2': a re-send,
// answered from that reply if there is one). ARGV[1] is `now` (empty: the server's clock), [2] the caller's
// deadline on the server's clock, [3] that flag, then the keyspace's parameters (every step's, in order: a
// batch is one keyspace, so they are sent once per batch), then from ARGV[COSTS] on each decision's cost and
// peek flag, or only '*' when every decision costs 1 and is no peek (most batches: two arguments fewer per
// decision to send, parse and read). The reply is kept packed with cmsgpack (C, and exact for integers); only a re-send reads
// it, so a first send costs one SET. Each decision is all-or-nothing on its own M keys; decisions later in
// the batch see what earlier ones wrote, exactly as if they had arrived one by one.
//
// The reply starts with the server's time, which the backend uses to map its deadlines onto that clock.
// Then each member's outcome of each decision: an admission as {remaining, reset} (its retry is 0), anything
// else as {-1, allowed, remaining, reset, retry}. Most outcomes are admissions, and two integers instead of
// four halve what Redis builds, sends and keeps per decision, and what Node parses (at 100 in flight the
// kept reply alone, packed per batch, cost Redis about 6 us per 34 decisions).
// Nothing is charged after its answer: a batch reaching the server past its deadline (held in a queue, by
// a paused server, by a slow network) is refused as {time, -1} and writes nothing. Nothing is charged
// twice: a batch that wrote keeps its reply under the reply key until a little after its deadline, and a
// re-send of it (its first reply was lost with the connection) gets that reply instead of running again.
const BATCH = `local RK, N = nil, #KEYS
if ARGV[3] ~= '0' then RK = KEYS[N]; N = N - 1 end
if ARGV[3] == '2' then
  local prior = redis.call('GET', RK)
  if prior then
    local o = cmsgpack.unpack(prior)
    o[1] = rnow
    return o
  end
end
local deadline = tonumber(ARGV[2])
if rnow > deadline then return {rnow, -1} end
local M = #STEPS
local out, at, wrote = {rnow}, 2, false
local plain = ARGV[COSTS] == '*'
for d = 0, N / M - 1 do
  local cost, write = 1, true
  if not plain then
    -- Most costs are 1: compared as a string (interned in Lua, so a pointer compare) before parsing.
    local c = ARGV[COSTS + 2 * d]
    cost = c == '1' and 1 or tonumber(c)
    write = ARGV[COSTS + 1 + 2 * d] ~= '1'
  end
  local base = d * M
  -- One member (most limiters) needs no tables: its state is written as soon as it allows.
  local states, ttls, keptTtls, all
  if M > 1 then states, ttls, keptTtls, all = {}, {}, {}, true end
  for i = 1, M do
    local key = KEYS[base + i]
    local ns, allowed, remaining, reset, retry, ttl, kept = STEPS[i](decode(redis.call('GET', key)), now, cost, PARAMS[i])
    if allowed == 1 and retry == 0 and remaining >= 0 then
      out[at] = remaining; out[at + 1] = reset
      at = at + 2
    else
      out[at] = -1; out[at + 1] = allowed; out[at + 2] = remaining; out[at + 3] = reset; out[at + 4] = retry
      at = at + 5
    end
    if M == 1 then
      if allowed == 1 and write then
        if not ns or ttl <= 0 then redis.call('DEL', key) else store(key, ns, ttl, kept) end
        wrote = true
      end
    else
      if allowed ~= 1 then all = false end
      states[i] = ns
      ttls[i] = ttl
      keptTtls[i] = kept
    end
  end
  -- Several members are charged together, only if all allowed.
  if M > 1 and all and write then
    for i = 1, M do
      if not states[i] or ttls[i] <= 0 then
        redis.call('DEL', KEYS[base + i])
      else
        store(KEYS[base + i], states[i], ttls[i], keptTtls[i])
      end
    end
    wrote = true
  end
end
if wrote and RK then redis.call('SET', RK, cmsgpack.pack(out), 'PX', deadline - rnow + REPLY_KEPT_MS) end
return out
`;

// Composed scripts by shape. Redis 7 never evicts a loaded script, so the script must not change with a
// rate (a tier's, a per-request one, a reloaded config): parameters travel in ARGV, and the set of shapes
// is bounded by how algorithms are combined, never by rates. Each entry keeps its steps' Lua, so a custom
// step reusing a built-in's id is not handed the built-in's script.
const byShape = new Map<string, { readonly script: Script; readonly luas: readonly string[] }>();

/** What a keyspace's script depends on: its step ids and each step's params count, e.g. "tb/3,tb/3". */
export function shapeOf(members: readonly AlgorithmStep[]): string {
  return members.map((m) => `${m.id}/${m.params.length}`).join(',');
}

/** The steps' parameters as the script's ARGV from ARGV[4] on, in the order its PARAMS reads them. */
export function paramArgs(members: readonly AlgorithmStep[]): string[] {
  return members.flatMap((m) => m.params.map((p) => String(p)));
}

/**
 * The script that runs a batch of decisions over steps of this shape (shared by every keyspace of that
 * shape, whatever its rates). ARGV: now (empty = the server's clock), the deadline (server ms), the reply
 * key's use (0: none, 1: keep the reply, 2: a re-send, answer from it), then the steps' parameters
 * (paramArgs), then cost and peek (0|1) per decision, or '*' alone for costs of 1 and no peeks; KEYS: one
 * per member per decision, then the reply key if any. Returns the server's time in ms, then each member's
 * outcome of each decision (readOutcome): {remaining, reset} for an admission with no retry, otherwise
 * {-1, allowed, remaining, reset, retry}; or {time, -1} past the deadline.
 */
export function composeScript(members: readonly AlgorithmStep[]): Script {
  const shape = shapeOf(members);
  const cached = byShape.get(shape);
  if (cached?.luas.every((lua, i) => lua === members[i]!.lua)) return cached.script;
  const script = compose(members);
  if (!cached) byShape.set(shape, { script, luas: members.map((m) => m.lua) });
  return script;
}

function compose(members: readonly AlgorithmStep[]): Script {
  const ids = [...new Set(members.map((m) => m.id))];
  const fns = ids.map((id) => `local F_${id} = ${members.find((m) => m.id === id)!.lua}`).join('\n');
  // Parameters arrive as strings: converted once per call (not per decision) into the tables the steps read.
  let at = 4;
  const params = (m: AlgorithmStep) => `{${m.params.map(() => `tonumber(ARGV[${at++}])`).join(', ')}}`;
  const steps = `local STEPS = {${members.map((m) => `F_${m.id}`).join(', ')}}\n`;
  const tables = `${steps}local PARAMS = {${members.map(params).join(', ')}}\nlocal COSTS = ${at}\n`;
  const source = `${fns}\n${tables}local REPLY_KEPT_MS = ${REPLY_KEPT_MS}\n${PRELUDE}${BATCH}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Reads the outcome the script wrote at `raw[at]` (see composeScript) into `into`, and returns where the
 * next one starts: an admission with no retry is {remaining, reset}, anything else {-1, allowed, remaining,
 * reset, retry}.
 */
export function readOutcome(raw: readonly number[], at: number, into: StepOutcome[]): number {
  const first = raw[at]!;
  if (first >= 0) {
    into.push({ allowed: true, remaining: first, resetAfterMs: raw[at + 1]!, retryAfterMs: 0 });
    return at + 2;
  }
  into.push({
    allowed: raw[at + 1] === 1,
    remaining: raw[at + 2]!,
    resetAfterMs: raw[at + 3]!,
    retryAfterMs: raw[at + 4]!,
  });
  return at + 5;
}
