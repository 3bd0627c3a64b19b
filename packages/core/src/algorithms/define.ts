import type { ShareFn } from './share.js';
import type { Decision } from '../decision.js';
import type { Admission, Algorithm, AlgorithmStep, StepResult } from './types.js';

/** The pure step of an algorithm, with its parameters passed in the same order as to the Lua twin. */
export type StepFn = (p: readonly number[], s: number[] | undefined, now: number, cost: number) => StepResult;

/** `StepFn` answered as a Decision (see AlgorithmStep.decide), with the same parameters. */
export type DecideFn = (
  p: readonly number[],
  s: number[] | undefined,
  now: number,
  cost: number,
  out: Admission,
) => Decision;

/** What an algorithm file declares about itself. */
export interface StepDefinition {
  name: string;
  id: string;
  limit: number;
  windowMs: number;
  params: readonly number[];
  lua: string;
  fn: StepFn;
  /** The step on a state only the memory backend keeps (see AlgorithmStep.memoryStep); unset: `fn`. */
  memoryFn?: StepFn;
  /** The step's Decision twin for the memory backend (see AlgorithmStep.decide); unset: none. */
  decideFn?: DecideFn;
  /** How the parameters divide among instances (the local fallback); unset: the step is not shared. */
  share?: ShareFn;
}

/** Builds a single-step algorithm, usable alone or as a member of `hybrid`. */
export function defineStep(def: StepDefinition): Algorithm & AlgorithmStep {
  const { fn, memoryFn, decideFn, params } = def;
  const step = (s: number[] | undefined, now: number, cost: number) => fn(params, s, now, cost);
  const algorithm = {
    name: def.name,
    id: def.id,
    limit: def.limit,
    windowMs: def.windowMs,
    params: Object.freeze([...params]),
    lua: def.lua,
    step,
    memoryStep:
      memoryFn === undefined
        ? step
        : (s: number[] | undefined, now: number, cost: number) => memoryFn(params, s, now, cost),
    decide:
      decideFn &&
      ((s: number[] | undefined, now: number, cost: number, out: Admission) =>
        decideFn(params, s, now, cost, out)),
    share: def.share && ((n: number): AlgorithmStep => defineStep({ ...def, ...def.share!(params, n) })),
  } as unknown as Algorithm & AlgorithmStep;
  (algorithm as { members: readonly AlgorithmStep[] }).members = Object.freeze([algorithm]);
  return Object.freeze(algorithm);
}
