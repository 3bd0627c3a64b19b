import { spawnSync } from 'node:child_process';
import os from 'node:os';

/**
 * Which CPUs the servers and the load generators run on. Servers share one CPU and the load generators
 * keep off it, so a server competes only with the other servers, never with the client loading it.
 */
export interface Placement {
  /** The CPU every server is pinned to; undefined when pinning is not possible here. */
  serverCpu: number | undefined;
  /** CPU list for the load generators (taskset syntax), e.g. "0" or "0-2". */
  loadCpus: string | undefined;
  /** For the report. */
  describe: string;
}

/** Pins servers to the last CPU and load to the others, when there are two or more and taskset exists. */
export function choosePlacement(): Placement {
  const cpus = os.availableParallelism();
  const taskset = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  if (cpus < 2 || taskset.error || taskset.status !== 0) {
    return {
      serverCpu: undefined,
      loadCpus: undefined,
      describe: 'no CPU pinning (needs taskset and 2 CPUs)',
    };
  }
  const serverCpu = cpus - 1;
  const loadCpus = cpus === 2 ? '0' : `0-${cpus - 2}`;
  return { serverCpu, loadCpus, describe: `servers pinned to CPU ${serverCpu}, load on CPU ${loadCpus}` };
}

/** Moves every thread of `pid` onto `cpu` (a number, or a taskset list such as "0-2"). */
export function pin(pid: number, cpu: number | string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`taskset could not pin ${pid} to CPU ${cpu}: ${result.stderr || result.error?.message}`);
  }
}
