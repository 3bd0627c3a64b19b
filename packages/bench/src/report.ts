import { CLUSTER_MASTERS } from './core/cluster.js';
import { ABUSE } from './core/deny.js';
import type { CoreResults } from './core/run.js';
import { SCENARIOS, type FaultsResults } from './faults/run.js';
import type { HttpResults } from './http/run.js';
import { type Machine, machineLine } from './machine.js';
import { fmtInt, fmtRatio, median, ratio } from './stats.js';

/** A target the issue sets, and whether this run met it. */
export interface Bar {
  name: string;
  value: number;
  target: number;
  met: boolean;
  /** The target is a ceiling (bytes, say), not a floor. */
  atMost?: boolean;
  /** What else the reader needs to weigh the figure, printed after the target. */
  note?: string;
}

const PEER = 'rate-limiter-flexible';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** The header every report starts with: where and how to reproduce. */
export function preamble(machine: Machine, command: string): string {
  return [`Machine: ${machineLine(machine)}`, `Reproduce: \`${command}\``].join('\n');
}

/** Part A as Markdown tables, ready to paste into a README. */
export function coreMarkdown(r: CoreResults): string {
  const { plan } = r;
  const out: string[] = [];
  out.push(
    `### Decisions per second, memory backend\n\n${plan.keys.toLocaleString('en-US')} rotating keys, one ` +
      `decision in flight, every call allowed. Median of ${plan.memory.rounds} alternating rounds of ` +
      `${seconds(plan.memory.roundMs)} after ${seconds(plan.memory.warmupMs)} warm-up, each algorithm in its ` +
      `own process against ${PEER}'s RateLimiterMemory (1e9 points per hour) measured in the same process.\n`,
  );
  out.push(
    table(
      ['distlimiter algorithm', 'distlimiter', `${PEER}`, 'ours / theirs'],
      r.memoryThroughput.map((m) => [
        m.config,
        fmtInt(m.result.ours),
        fmtInt(m.result.theirs),
        fmtRatio(m.result.ratio),
      ]),
    ),
  );
  out.push(
    `\n### Decisions per second, Redis backend\n\nSame redis-server for both, one ioredis client each ` +
      `(identical options: enableAutoPipelining, maxRetriesPerRequest 1), ${plan.keys.toLocaleString('en-US')} ` +
      `rotating keys; distlimiter fixedWindow 1e9/hour vs RateLimiterRedis 1e9 points per hour; ` +
      `${r.redisPlacement}. Median of ` +
      `${plan.redis.rounds} alternating rounds of ${seconds(plan.redis.roundMs)}.\n`,
  );
  out.push(
    table(
      ['decisions in flight', 'distlimiter', `${PEER}`, 'ours / theirs'],
      r.redisThroughput.map((t) => [
        String(t.inFlight),
        fmtInt(t.result.ours),
        fmtInt(t.result.theirs),
        fmtRatio(t.result.ratio),
      ]),
    ),
  );
  out.push(abuseMarkdown(r));
  out.push(clusterMarkdown(r));
  const peerRedis = r.redisMemory.find((m) => m.side === PEER);
  const peerHeap = r.heap.find((h) => h.side === PEER);
  const withRatio = (value: number, peer: number | undefined) =>
    peer === undefined ? fmtInt(value) : `${fmtInt(value)} (${fmtRatio(ratio(value, peer))})`;
  const sides = [PEER, ...r.redisMemory.filter((m) => m.side !== PEER).map((m) => m.side)];
  out.push(
    `\n### Memory per key (lower is better; ratio ours / theirs in parentheses)\n\nRedis: \`MEMORY USAGE\` ` +
      `averaged over ${plan.redisSampleKeys.toLocaleString('en-US')} keys, and the growth of \`INFO memory\` ` +
      `used_memory over ${plan.redisDeltaKeys.toLocaleString('en-US')} keys (read once the replies distlimiter keeps ` +
      `about a second for re-sends have expired). Heap: growth of the JS heap ` +
      `(after forced GC) holding ${plan.heapKeys.toLocaleString('en-US')} keys in the memory backend. ` +
      `A hybrid stores one Redis key per member.\n`,
  );
  out.push(
    table(
      ['side', 'Redis MEMORY USAGE, B/key', 'Redis used_memory, B/key', 'JS heap, B/key'],
      sides.map((side) => {
        const m = r.redisMemory.find((x) => x.side === side);
        const h = r.heap.find((x) => x.side === side);
        const mine = side !== PEER;
        return [
          side === PEER ? PEER : `distlimiter ${m?.config ?? side}`,
          m ? withRatio(m.memoryUsage, mine ? peerRedis?.memoryUsage : undefined) : 'n/a',
          m ? withRatio(m.usedMemoryDelta, mine ? peerRedis?.usedMemoryDelta : undefined) : 'n/a',
          h ? withRatio(h.bytesPerKey, mine ? peerHeap?.bytesPerKey : undefined) : 'n/a',
        ];
      }),
    ),
  );
  return out.join('\n');
}

// The Cluster rows: our batching per slot against one call per decision (as before it) and the peer.
function clusterMarkdown(r: CoreResults): string {
  const { plan } = r;
  return [
    `\n### Decisions per second, Redis Cluster (${CLUSTER_MASTERS} masters)\n\nA cluster of our own, one ` +
      "Cluster client per side (the bench's options), 10,000 rotating keys, fixedWindow 1e9/hour. " +
      '"batched" is the backend as it is (decisions of one turn grouped per hash slot, a slot\'s batch of ' +
      'several written straight to its master); "one call each" sends every decision as its own script call ' +
      `through the Cluster, as before. Median of ${plan.redis.rounds} alternating rounds of ` +
      `${seconds(plan.redis.roundMs)}.\n`,
    table(
      [
        'decisions in flight',
        'batched',
        'one call each',
        'rate-limiter-flexible',
        'batched / one call',
        'batched / theirs',
      ],
      r.cluster.map((c) => [
        String(c.inFlight),
        fmtInt(c.batched),
        fmtInt(c.oneCallEach),
        fmtInt(c.theirs),
        fmtRatio(ratio(c.batched, c.oneCallEach)),
        fmtRatio(ratio(c.batched, c.theirs)),
      ]),
    ),
  ].join('\n');
}

// The abusive-client rows: ratios against the peer with its in-memory block, the closest feature it has.
function abuseMarkdown(r: CoreResults): string {
  const { plan } = r;
  const peer = r.abusiveClient.find((s) => s.side === `${PEER}, inMemoryBlockOnConsumed`);
  const against = (value: number, of: number | undefined) =>
    of === undefined ? fmtInt(value) : `${fmtInt(value)} (${fmtRatio(ratio(value, of))})`;
  const calls = (n: number) => (n < 10 ? n.toFixed(2) : fmtInt(n));
  return [
    `\n### An abusive client, Redis backend\n\nOne key, limited to ${ABUSE.limit} per hour, hammered with ` +
      `${ABUSE.inFlight} decisions in flight; each side on an ioredis client of its own to the same ` +
      `redis-server. Commands sent to Redis (script calls, clock reads, the reset channel; not the ` +
      `commands a script runs) counted by \`INFO commandstats\` over each round. Median of ` +
      `${plan.redis.rounds} alternating rounds of ${seconds(plan.redis.roundMs)}; ratio to ${PEER} with ` +
      '`inMemoryBlockOnConsumed` in parentheses.\n',
    table(
      ['side', 'decisions/s', 'Redis commands per 1,000 decisions'],
      r.abusiveClient.map((s) => [
        s.side,
        against(s.rate, s === peer ? undefined : peer?.rate),
        calls(s.calls),
      ]),
    ),
  ].join('\n');
}

/** The bars Part A must clear. */
export function coreBars(r: CoreResults): Bar[] {
  const bars: Bar[] = [];
  const bar = (name: string, value: number, target: number, lowerIsBetter = false) =>
    bars.push({
      name,
      value,
      target,
      met: lowerIsBetter ? value <= target : value >= target,
      atMost: lowerIsBetter,
    });
  // Issue 14: every algorithm at least the peer's memory limiter, the fixed window twice it.
  for (const m of r.memoryThroughput) {
    const target = m.algorithm === 'fixedWindow' ? 2 : 1;
    bar(`memory backend throughput, ${m.config} / RateLimiterMemory`, m.result.ratio, target);
  }
  // Issue 14: three times the peer at 100 in flight (only batching gets there), at least even at 1.
  for (const t of r.redisThroughput) {
    const target = t.inFlight >= 100 ? 3 : 1;
    bar(`Redis throughput at ${t.inFlight} in flight / RateLimiterRedis`, t.result.ratio, target);
  }
  const fixed = r.redisMemory.find((m) => m.side === 'ours fixedWindow');
  if (fixed) bar('Redis MEMORY USAGE per fixedWindow key, bytes', fixed.memoryUsage, 100, true);
  return bars;
}

/**
 * What an HTTP bar reads: its comparison measured head to head where the run could (pairs need wrk), with
 * the quotient of the two ratios to the bare app in its note; else that quotient.
 */
function barReading(direct: number | undefined, quotient: number): { value: number; note?: string } {
  if (direct === undefined) return { value: quotient };
  return { value: direct, note: `head to head; the quotient of the ratios to bare ${quotient.toFixed(2)}` };
}

// Issue 14: on Redis, ours at least this multiple of each framework's peer, fixed window and default.
const REDIS_PEER_BAR = 1.2;

/**
 * The bars of the Redis rows: ours (fixed window, and the default algorithm) over the peer on Redis. With the
 * memory rows of the same run (`memory`), each bar also says what a limiter costing only its headers reads.
 */
export function httpRedisBars(r: HttpResults, memory?: HttpResults): Bar[] {
  const bars: Bar[] = [];
  for (const f of r.frameworks) {
    const peer = f.ratios['peer-redis'] ?? Number.NaN;
    // The no-op that sets ours' default header fields, from the memory rows: what sending them costs this app.
    const headersOnly = memory?.frameworks.find((m) => m.framework === f.framework)?.ratios['noop-headers'];
    for (const [variant, label] of [
      ['ours-redis-fixed', 'fixedWindow'],
      ['ours-redis', 'default'],
    ] as const) {
      const reading = barReading(
        f.headToHead[`${variant}/peer-redis`],
        ratio(f.ratios[variant] ?? Number.NaN, peer),
      );
      const value = reading.value;
      // The most any limiter can read against this peer is one that costs nothing (ours / bare = 1): where
      // the peer costs the app less than a fifth more than bare, the bar is out of any limiter's reach. One
      // that sends the default headers costs at least the no-op with headers, so reads at most its ratio.
      const ceilings = [
        ...(reading.note === undefined ? [] : [reading.note]),
        `a limiter costing nothing would read ${ratio(1, peer).toFixed(2)}`,
      ];
      if (headersOnly !== undefined) {
        ceilings.push(`one costing only its default headers ${ratio(headersOnly, peer).toFixed(2)}`);
      }
      bars.push({
        name: `${f.framework} on Redis: ours (${label}) / ${f.peerName}`,
        value,
        target: REDIS_PEER_BAR,
        met: value >= REDIS_PEER_BAR,
        note: ceilings.join(', '),
      });
    }
  }
  return bars;
}

// How Part B measured, the same for the memory and the Redis rows.
function httpMethod(r: HttpResults): string {
  const { plan } = r;
  const compared =
    r.pairs === 'cpu'
      ? "the bare app's CPU time per request (read from /proc) over the variant's, so a server's share of " +
        'the CPU does not count'
      : "the variant's requests per second over the bare app's (CPU time per request was unreadable here)";
  const how = r.pairs
    ? `Ratios to the bare app come from ${plan.pairRounds} rounds in which each variant is loaded for ` +
      `${seconds(plan.pairMs)} at the same time as a bare app, the two sharing one CPU, so a slow phase of the ` +
      `machine hits both alike: ${compared}; the median of the rounds. Which processes meet, and which is ` +
      'loaded first, rotate between rounds. In parentheses, the same ratio from the solo rounds, which a ' +
      'slow phase of a shared machine moves far more.'
    : 'Ratios to the bare app are medians over the solo rounds (pairs need wrk).';
  return (
    `${r.loadGenerator}, ${plan.connections} connections; ` +
    `${r.placement}; ${plan.processes} server process(es) per variant, warmed up together for ` +
    `${seconds(plan.warmupMs)}. Requests per second: each server alone, one ${seconds(plan.soloSliceMs)} ` +
    `slice per round, ${plan.soloRounds} rounds, median. ${how} "twin" is a second copy of the bare app, ` +
    'measured like the others: its distance from 1.00 is how far identical servers drift apart in this ' +
    'run, and a difference between the other ratios smaller than that is noise.'
  );
}

// How the head-to-head columns (and the bars that use them) are measured.
function headToHeadMethod(r: HttpResults, sides: string): string {
  if (!r.pairs) return '';
  return (
    `"Head to head": ${sides} loaded at the same time, sharing one CPU, in ${r.plan.pairRounds} rounds of ` +
    'pairs of their own; the median of the rounds. The bars use it: a quotient of two ratios to the bare ' +
    'app comes from other rounds and other bare processes, and carries the noise of both.'
  );
}

// A ratio, with the solo rounds' figure in parentheses when the ratio came from pairs.
function ratioCell(r: HttpResults, ratio: number | undefined, solo: number | undefined): string {
  return r.pairs ? `${fmtRatio(ratio)} (${fmtRatio(solo)})` : fmtRatio(ratio);
}

// Problems and failures, one paragraph each.
function httpNotes(r: HttpResults): string[] {
  const out: string[] = [];
  for (const f of r.frameworks) {
    if (f.problems.length) out.push(`\n${f.framework}: ${f.problems.join('; ')}`);
  }
  for (const f of r.failed) out.push(`\n${f.framework}: not measured: ${f.error}`);
  return out;
}

/** Part B as a Markdown table. */
export function httpMarkdown(r: HttpResults): string {
  const { plan } = r;
  const out: string[] = [];
  out.push(
    `### HTTP requests per second, hello world\n\n${httpMethod(r)} Memory stores; limits too high to ` +
      'ever refuse. "No-op with headers" is a middleware (hook, guard) that sets the three fields ours ' +
      "sends by default as constant strings, through the framework's own header API, and does nothing " +
      'else: the least any limiter sending them costs. "ours / peer" and "ours / no-op with headers" are ' +
      `quotients of the ratios to the bare app. ${headToHeadMethod(r, 'ours and the no-op with headers')}\n`,
  );
  const cell = (ratio: number | undefined, solo: number | undefined) => ratioCell(r, ratio, solo);
  const over = (a: number | undefined, b: number | undefined) => ratio(a ?? Number.NaN, b ?? Number.NaN);
  out.push(
    table(
      [
        'framework',
        'bare app',
        'distlimiter',
        'peer limiter',
        'peer',
        'ours / bare',
        'peer / bare',
        'no-op with headers / bare',
        'ours / peer',
        'ours / no-op with headers',
        ...(r.pairs ? ['ours / no-op with headers, head to head'] : []),
        'twin / bare',
      ],
      r.frameworks.map((f) => {
        const solo = f.soloRatios;
        return [
          f.framework,
          fmtInt(f.rps.bare ?? Number.NaN),
          fmtInt(f.rps.ours ?? Number.NaN),
          f.peerName,
          fmtInt(f.rps.peer ?? Number.NaN),
          cell(f.ratios.ours, solo.ours),
          cell(f.ratios.peer, solo.peer),
          cell(f.ratios['noop-headers'], solo['noop-headers']),
          cell(over(f.ratios.ours, f.ratios.peer), over(solo.ours, solo.peer)),
          cell(over(f.ratios.ours, f.ratios['noop-headers']), over(solo.ours, solo['noop-headers'])),
          ...(r.pairs ? [fmtRatio(f.headToHead['ours/noop-headers'])] : []),
          cell(f.ratios.twin, solo.twin),
        ];
      }),
    ),
  );
  if (plan.floors) {
    out.push(
      '\nFloors (`--floors`), measured the same way: a no-op middleware (hook, guard) is the least any ' +
        'limiter can cost; ours with `headers: false` decides and sends nothing; ours with ' +
        "`headers: 'both'` sends the five fields that were the default before 'legacy' (three); ours " +
        "with a tiered `config` (the request's API key found in the keys table, its tier's token bucket " +
        'charged, two rules that do not match, statistics on) against ours with a plain `rate`, and ' +
        'the same with `statistics: false`: "statistics on / off" is what keeping them costs; and with ' +
        'the automatic load monitor on (`load: { monitor: true }`): "monitor on / off".\n',
    );
    out.push(
      table(
        [
          'framework',
          'no-op / bare',
          'ours, headers: false / bare',
          "ours, headers: 'both' / bare",
          'ours (legacy) / bare',
          'ours, tiered config / bare',
          'tiered / plain rate',
          'statistics on / off',
          'monitor on / off',
        ],
        r.frameworks.map((f) => [
          f.framework,
          fmtRatio(f.ratios.noop),
          fmtRatio(f.ratios.quiet),
          fmtRatio(f.ratios.both),
          fmtRatio(f.ratios.ours),
          fmtRatio(f.ratios.tiered),
          fmtRatio(ratio(f.ratios.tiered ?? Number.NaN, f.ratios.ours ?? Number.NaN)),
          fmtRatio(ratio(f.ratios.tiered ?? Number.NaN, f.ratios['tiered-nostats'] ?? Number.NaN)),
          fmtRatio(ratio(f.ratios['tiered-monitor'] ?? Number.NaN, f.ratios.tiered ?? Number.NaN)),
        ]),
      ),
    );
  }
  out.push(...httpNotes(r));
  return out.join('\n');
}

/**
 * Part B on Redis as a Markdown table: ours with fixedWindow and with the default algorithm, and the peer on
 * its Redis store, each against the bare app and ours against the peer. A baseline: no bars.
 */
export function httpRedisMarkdown(r: HttpResults): string {
  const out: string[] = [];
  out.push(
    `### HTTP requests per second, hello world, limiters on Redis\n\n${httpMethod(r)} One redis-server for ` +
      'all; one ioredis client per server process, with the same options for every side ' +
      '(enableAutoPipelining, maxRetriesPerRequest 1); each variant under its own key prefix, its keys ' +
      'removed after the run. distlimiter on RedisBackend with `fixedWindow` (what the peers implement; ' +
      'koa-ratelimit keeps a sliding log, over a 1 s window) and with `rate` (the default algorithm), ' +
      'default headers; limits too high to ever refuse. "ours / peer" is the quotient of the two ratios ' +
      `to the bare app. ${headToHeadMethod(r, 'each of ours and the peer')}\n`,
  );
  const cell = (ratio: number | undefined, solo: number | undefined) => ratioCell(r, ratio, solo);
  const over = (a: number | undefined, b: number | undefined) => ratio(a ?? Number.NaN, b ?? Number.NaN);
  out.push(
    table(
      [
        'framework',
        'bare app',
        'ours, fixedWindow',
        'ours, default',
        'peer on Redis',
        'peer',
        'ours fixed / bare',
        'ours default / bare',
        'peer / bare',
        'ours fixed / peer',
        'ours default / peer',
        ...(r.pairs ? ['ours fixed / peer, head to head', 'ours default / peer, head to head'] : []),
        'twin / bare',
      ],
      r.frameworks.map((f) => {
        const [fixed, plain, peer] = [
          f.ratios['ours-redis-fixed'],
          f.ratios['ours-redis'],
          f.ratios['peer-redis'],
        ];
        const solo = f.soloRatios;
        return [
          f.framework,
          fmtInt(f.rps.bare ?? Number.NaN),
          fmtInt(f.rps['ours-redis-fixed'] ?? Number.NaN),
          fmtInt(f.rps['ours-redis'] ?? Number.NaN),
          f.peerName,
          fmtInt(f.rps['peer-redis'] ?? Number.NaN),
          cell(fixed, solo['ours-redis-fixed']),
          cell(plain, solo['ours-redis']),
          cell(peer, solo['peer-redis']),
          cell(over(fixed, peer), over(solo['ours-redis-fixed'], solo['peer-redis'])),
          cell(over(plain, peer), over(solo['ours-redis'], solo['peer-redis'])),
          ...(r.pairs
            ? [
                fmtRatio(f.headToHead['ours-redis-fixed/peer-redis']),
                fmtRatio(f.headToHead['ours-redis/peer-redis']),
              ]
            : []),
          cell(f.ratios.twin, solo.twin),
        ];
      }),
    ),
  );
  out.push(...httpNotes(r));
  return out.join('\n');
}

// Issue 14: ours keeps this share of a no-op middleware that sends the same header fields.
const NOOP_HEADERS_BAR = 0.95;

/** The bars Part B must clear. */
export function httpBars(r: HttpResults): Bar[] {
  const bars: Bar[] = [];
  for (const f of r.frameworks) {
    const ours = f.ratios.ours ?? Number.NaN;
    const peer = f.ratios.peer ?? Number.NaN;
    bars.push({
      name: `${f.framework}: ours / bare >= ${f.peerName} / bare`,
      value: ours,
      target: peer,
      met: ours >= peer,
    });
    const floor = barReading(
      f.headToHead['ours/noop-headers'],
      ratio(ours, f.ratios['noop-headers'] ?? Number.NaN),
    );
    bars.push({
      name: `${f.framework}: ours / no-op with headers`,
      value: floor.value,
      target: NOOP_HEADERS_BAR,
      met: floor.value >= NOOP_HEADERS_BAR,
      note: floor.note,
    });
    if (f.strict) {
      bars.push({ name: `${f.framework}: ours / bare`, value: ours, target: 0.9, met: ours >= 0.9 });
    }
  }
  return bars;
}

/** One line per bar. */
export function barsText(bars: readonly Bar[]): string {
  return bars
    .map(
      (b) =>
        `- ${b.met ? 'MET' : 'MISSED'}: ${b.name} = ${b.value.toFixed(2)} (target ${b.atMost ? '<=' : '>='} ${b.target.toFixed(2)}${b.note ? `; ${b.note}` : ''})`,
    )
    .join('\n');
}

/** A duration in ms with sensible precision; "n/a" when not measured. */
function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  const digits = ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}

// A time after the server's return, one per round: the median, then each round in parentheses; a round
// that never saw the event shows "-".
function afterCell(values: readonly (number | null)[], none: string): string {
  const seen = values.filter((v): v is number => v !== null);
  if (seen.length === 0) return none;
  const head = fmtMs(Math.max(0, median(seen)));
  if (values.length === 1) return head;
  const each = values.map((v) => (v === null ? '-' : fmtMs(Math.max(0, v)).replace(' ms', ''))).join(', ');
  return `${head} (${each})`;
}

/**
 * The faults part as a Markdown table: per scenario and contender, the decisions started while the server
 * was down or paused, their latency, errors reaching the caller, and how soon Redis answered again.
 */
export function faultsMarkdown(r: FaultsResults): string {
  const { plan } = r;
  const out: string[] = [];
  const setups = Object.entries(r.setups)
    .map(([id, setup]) => {
      const opts = Object.entries(setup)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ');
      return `- ${id}: ${opts}`;
    })
    .join('\n');
  out.push(
    `### Latency under faults\n\nEach contender alone, one ioredis client, on a fresh redis-server of its ` +
      `own; ${fmtInt(plan.perSecond)} decisions started per second (a fixed rate, whatever earlier ones are ` +
      `doing) over ${fmtInt(plan.keys)} keys, limit ${r.limit}, never refused. ${seconds(plan.healthyMs)} ` +
      `healthy, then the fault for ${seconds(plan.faultMs)}, then load until Redis has answered every ` +
      `decision of the last ${seconds(plan.steadyMs)} (at least ${seconds(plan.minRecoveryMs)}, at most ` +
      `${seconds(plan.maxRecoveryMs)}). ${plan.rounds} round(s), contenders alternating; latencies pooled ` +
      'over the rounds. "Outage" is every decision started between the fault and the server answering ' +
      "again (the restarted server's first PONG; the end of the pause), however long it then took. " +
      '"Without Redis": ours with `decision.fallback` set, the peer answered by its insurance limiter; ' +
      '"500 ms or more": decisions that waited that long, hung rather than slow. ' +
      '"First on Redis": from the server answering again to Redis answering a decision started after the ' +
      'fault; "last ' +
      'fallback": to the last decision answered without it (median, then each round). Set-ups, as each ' +
      `client reported them:\n${setups}\n`,
  );
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    for (const s of r.summaries.filter((x) => x.scenario === scenario.id)) {
      rows.push([
        scenario.name,
        s.name,
        fmtInt(s.outage.decisions),
        fmtInt(s.outage.fallback),
        fmtInt(s.outage.over500Ms),
        fmtMs(s.outage.p50Ms),
        fmtMs(s.outage.p99Ms),
        fmtMs(s.outage.maxMs),
        fmtInt(s.outage.errors),
        afterCell(s.firstRedisAfterMs, 'never'),
        afterCell(s.lastFallbackAfterMs, 'none'),
      ]);
    }
  }
  out.push(
    table(
      [
        'fault',
        'contender',
        'decisions in the outage',
        'without Redis',
        '500 ms or more',
        'p50',
        'p99',
        'max',
        'errors to caller',
        'first on Redis after',
        'last fallback after',
      ],
      rows,
    ),
  );
  const notes: string[] = [];
  for (const s of r.summaries) {
    const problems = [
      s.overDeadline ? `${s.overDeadline} decision(s) over ${r.deadlineMs + 100} ms` : '',
      s.unsettled
        ? `${s.unsettled} decision(s) unsettled ${seconds(plan.graceMs)} after the load stopped`
        : '',
      s.unhandled ? `${s.unhandled} unhandled rejection(s) or exception(s)` : '',
    ].filter(Boolean);
    if (problems.length) notes.push(`- ${s.scenario}, ${s.name}: ${problems.join('; ')}`);
  }
  if (notes.length)
    out.push(`\nNotes (any window of the run, see results/latest.json):\n${notes.join('\n')}`);
  return out.join('\n');
}
