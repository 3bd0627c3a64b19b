import { type ChildProcess, fork } from 'node:child_process';
import { parseArgs } from '../args.js';
import { median } from '../stats.js';
import type { Variant } from './apps/types.js';
import { FRAMEWORKS, type Framework } from './frameworks.js';
import { load } from './load.js';

/** Load settings, run lengths and rounds of Part B; `--quick` shrinks them. */
export interface HttpPlan {
  connections: number;
  pipelining: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

/** Full run: median of 3 alternating runs of 3 s, each after 1 s of warm-up. */
export const FULL_HTTP: HttpPlan = {
  connections: 50,
  pipelining: 1,
  warmupMs: 1000,
  durationMs: 3000,
  rounds: 3,
};
/** Smoke run. */
export const QUICK_HTTP: HttpPlan = { ...FULL_HTTP, warmupMs: 300, durationMs: 700, rounds: 1 };

/** One framework's medians and every run. */
export interface FrameworkResult {
  framework: string;
  peerName: string;
  strict: boolean;
  bare: number;
  ours: number;
  peer: number;
  samples: Record<Variant, number[]>;
  /** Anything that invalidates a run (non-2xx answers, socket errors); empty when clean. */
  problems: string[];
}

/** Everything Part B measures; frameworks whose app could not start are listed with the reason. */
export interface HttpResults {
  plan: HttpPlan;
  frameworks: FrameworkResult[];
  failed: { framework: string; error: string }[];
}

const VARIANTS: readonly Variant[] = ['bare', 'ours', 'peer'];
const START_TIMEOUT_MS = 30_000;

interface Server {
  port: number;
  child: ChildProcess;
}

function startServer(framework: string, variant: Variant): Promise<Server> {
  return new Promise((resolve, reject) => {
    // No --expose-gc or inspector flags matter here; the loader flags (tsx, source condition) do.
    const child = fork(new URL('./server.ts', import.meta.url), [framework, variant], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${framework} (${variant}) did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('message', (m: { port?: number; error?: string }) => {
      clearTimeout(timer);
      if (m.port) resolve({ port: m.port, child });
      else {
        child.kill('SIGKILL');
        reject(new Error(`${framework} (${variant}) failed to start: ${m.error}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${framework} (${variant}) exited with ${code} before listening`));
    });
  });
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

async function measure(f: Framework, variant: Variant, plan: HttpPlan, problems: string[]): Promise<number> {
  const server = await startServer(f.id, variant);
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    await load(url, plan, plan.warmupMs);
    const r = await load(url, plan, plan.durationMs);
    if (r.non2xx || r.errors || r.timeouts) {
      problems.push(`${variant}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    return r.rps;
  } finally {
    await stopServer(server);
  }
}

/**
 * Runs Part B: per framework, the three variants in alternating order, one server at a time. `only` picks
 * frameworks by id (default: the command line's `--framework`, else all of them).
 */
export async function runHttp(
  plan: HttpPlan,
  log: (line: string) => void,
  only: readonly string[] | undefined = parseArgs(process.argv.slice(2)).frameworks,
): Promise<HttpResults> {
  const frameworks: FrameworkResult[] = [];
  const failed: HttpResults['failed'] = [];
  for (const f of FRAMEWORKS) {
    if (only !== undefined && !only.includes(f.id)) continue;
    log(`http: ${f.label} (bare, distlimiter, ${f.peer})`);
    const samples: Record<Variant, number[]> = { bare: [], ours: [], peer: [] };
    const problems: string[] = [];
    try {
      for (let r = 0; r < plan.rounds; r++) {
        const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        for (const v of order) samples[v].push(await measure(f, v, plan, problems));
      }
    } catch (error) {
      failed.push({ framework: f.label, error: error instanceof Error ? error.message : String(error) });
      continue;
    }
    frameworks.push({
      framework: f.label,
      peerName: f.peer,
      strict: f.strict,
      bare: median(samples.bare),
      ours: median(samples.ours),
      peer: median(samples.peer),
      samples,
      problems,
    });
  }
  return { plan, frameworks, failed };
}
