import { parseArgs } from '../args.js';
import { median } from '../stats.js';
import type { Variant } from './apps/types.js';
import { FRAMEWORKS, type Framework } from './frameworks.js';
import { type LoadGenerator, type LoadResult, pickLoadGenerator } from './load.js';
import { choosePlacement, type Placement, pin } from './placement.js';
import { compileServer } from './compile.js';
import { type Server, startServer, stopServer } from './servers.js';

/** Load settings, phases and rounds of Part B; `--quick` shrinks them. */
export interface HttpPlan {
  connections: number;
  /** Servers started per variant: a process's memory layout and JIT choices move its speed a little. */
  processes: number;
  /** Load before measuring, per server. */
  warmupMs: number;
  /** Solo phase: rounds in which each server, alone, gets one slice of load. */
  soloRounds: number;
  soloSliceMs: number;
  /** Side-by-side phase: rounds in which every server is loaded at once, sharing one CPU. */
  pairedRounds: number;
  pairedMs: number;
}

/** Full run. */
export const FULL_HTTP: HttpPlan = {
  connections: 50,
  processes: Number(process.env.BENCH_PROCESSES ?? 2),
  warmupMs: 2000,
  soloRounds: 3,
  soloSliceMs: 1000,
  pairedRounds: 6,
  pairedMs: 3000,
};
/** Smoke run. */
export const QUICK_HTTP: HttpPlan = {
  ...FULL_HTTP,
  processes: 1,
  warmupMs: 1000,
  soloRounds: 1,
  pairedRounds: 1,
};

/** One framework's figures. */
export interface FrameworkResult {
  framework: string;
  peerName: string;
  strict: boolean;
  /** Requests per second of each variant alone (median over solo rounds; mean over its processes). */
  bare: number;
  ours: number;
  peer: number;
  /** Median over rounds of the round's ratio to the bare app, side by side when possible, else solo. */
  oursRatio: number;
  peerRatio: number;
  /** The same ratios from the solo rounds, which a slow phase of a shared machine moves far more. */
  soloOursRatio: number;
  soloPeerRatio: number;
  /** Per variant and phase, the rate of each round. */
  samples: { solo: Record<Variant, number[]>; paired: Record<Variant, number[]> };
  /** Anything that invalidates a run (non-2xx answers, socket errors); empty when clean. */
  problems: string[];
}

/** Everything Part B measures; frameworks whose app could not start are listed with the reason. */
export interface HttpResults {
  plan: HttpPlan;
  loadGenerator: string;
  placement: string;
  /** Whether the ratios come from the side-by-side phase (needs wrk). */
  paired: boolean;
  frameworks: FrameworkResult[];
  failed: { framework: string; error: string }[];
}

const VARIANTS: readonly Variant[] = ['bare', 'ours', 'peer'];

interface Slot {
  variant: Variant;
  server: Server;
  url: string;
}

/** Rotates the measuring order each round, so no variant always follows the same neighbour. */
function rotated<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

function emptySamples(): Record<Variant, number[]> {
  return { bare: [], ours: [], peer: [] };
}

/** Each variant's mean over its processes, appended to `samples` as one round. */
function addRound(
  samples: Record<Variant, number[]>,
  slots: readonly Slot[],
  rates: readonly number[],
): void {
  const sums: Record<Variant, number> = { bare: 0, ours: 0, peer: 0 };
  const counts: Record<Variant, number> = { bare: 0, ours: 0, peer: 0 };
  slots.forEach((slot, i) => {
    sums[slot.variant] += rates[i]!;
    counts[slot.variant]++;
  });
  for (const v of VARIANTS) samples[v].push(sums[v] / counts[v]);
}

function roundRatios(samples: Record<Variant, number[]>, v: Variant): number[] {
  return samples[v].map((rps, i) => rps / samples.bare[i]!);
}

/**
 * Measures one framework in two phases over the same running servers. Solo: each server alone, for the
 * absolute requests per second. Side by side: all servers loaded at once while pinned to one CPU, so each
 * gets an equal share of the same CPU over the same seconds and its rate is inversely its cost per
 * request; a slow phase of a shared machine, which moves solo ratios by 10% and more, hits them alike.
 */
async function measureFramework(
  f: Framework,
  plan: HttpPlan,
  generator: LoadGenerator,
  placement: Placement,
  script: string,
): Promise<Omit<FrameworkResult, 'framework' | 'peerName' | 'strict'>> {
  const slots: Slot[] = [];
  const problems: string[] = [];
  const settings = { connections: plan.connections };
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
  const check = (slot: Slot, r: LoadResult) => {
    if (r.non2xx || r.errors || r.timeouts) {
      problems.push(`${slot.variant}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    return r.rps;
  };
  const loadOne = async (slot: Slot, ms: number) =>
    check(slot, await generator.run(slot.url, settings, seconds(ms), placement.loadCpus));
  try {
    for (let p = 0; p < plan.processes; p++) {
      for (const variant of VARIANTS) {
        const server = await startServer(script, f.id, variant);
        slots.push({ variant, server, url: `http://127.0.0.1:${server.port}/` });
        if (placement.serverCpu !== undefined && server.child.pid) pin(server.child.pid, placement.serverCpu);
      }
    }
    for (const slot of slots) await loadOne(slot, plan.warmupMs);
    const solo = emptySamples();
    for (let r = 0; r < plan.soloRounds; r++) {
      const order = rotated(slots, r);
      const rates: number[] = [];
      for (const slot of order) rates.push(await loadOne(slot, plan.soloSliceMs));
      addRound(solo, order, rates);
    }
    const paired = emptySamples();
    if (generator.concurrent) {
      for (let r = 0; r < plan.pairedRounds; r++) {
        addRound(paired, slots, await Promise.all(slots.map((slot) => loadOne(slot, plan.pairedMs))));
      }
    }
    const ratios = generator.concurrent ? paired : solo;
    return {
      bare: median(solo.bare),
      ours: median(solo.ours),
      peer: median(solo.peer),
      oursRatio: median(roundRatios(ratios, 'ours')),
      peerRatio: median(roundRatios(ratios, 'peer')),
      soloOursRatio: median(roundRatios(solo, 'ours')),
      soloPeerRatio: median(roundRatios(solo, 'peer')),
      samples: { solo, paired },
      problems,
    };
  } finally {
    await Promise.all(slots.map((s) => stopServer(s.server)));
  }
}

/**
 * Runs Part B, one framework at a time. `only` picks frameworks by id (default: the command line's
 * `--framework`, else all of them).
 */
export async function runHttp(
  plan: HttpPlan,
  log: (line: string) => void,
  only: readonly string[] | undefined = parseArgs(process.argv.slice(2)).frameworks,
): Promise<HttpResults> {
  const generator = pickLoadGenerator();
  const placement = choosePlacement();
  const script = await compileServer();
  log(`http: load from ${generator.name}; ${placement.describe}; servers compiled to ${script}`);
  const frameworks: FrameworkResult[] = [];
  const failed: HttpResults['failed'] = [];
  for (const f of FRAMEWORKS) {
    if (only !== undefined && !only.includes(f.id)) continue;
    log(`http: ${f.label} (bare, distlimiter, ${f.peer})`);
    try {
      const measured = await measureFramework(f, plan, generator, placement, script);
      frameworks.push({ framework: f.label, peerName: f.peer, strict: f.strict, ...measured });
    } catch (error) {
      failed.push({ framework: f.label, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return {
    plan,
    loadGenerator: generator.name,
    placement: placement.describe,
    paired: generator.concurrent,
    frameworks,
    failed,
  };
}
