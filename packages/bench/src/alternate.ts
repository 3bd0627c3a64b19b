/** One contender in an alternating measurement: `run(ms)` measures for about `ms` and returns a rate. */
export interface Contender {
  name: string;
  run(ms: number): Promise<number>;
}

/** How long to warm up and how many rounds of what length to take. */
export interface RoundPlan {
  warmupMs: number;
  rounds: number;
  roundMs: number;
}

/** Every round's rate per contender, in the order they ran. */
export type Samples = Record<string, number[]>;

/**
 * Warms every contender up, then runs them in turn (a, b, a, b, ...) for `rounds` rounds, so a slow
 * phase of the machine (another process, a GC storm) hits both sides alike. The contender that goes
 * first alternates too, so neither always runs right after the other's garbage.
 */
export async function alternate(contenders: readonly Contender[], plan: RoundPlan): Promise<Samples> {
  for (const c of contenders) await c.run(plan.warmupMs);
  const samples: Samples = {};
  for (const c of contenders) samples[c.name] = [];
  for (let r = 0; r < plan.rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) samples[c.name]!.push(await c.run(plan.roundMs));
  }
  return samples;
}
