import os from 'node:os';

/** Where the numbers were taken; ratios only compare within one machine and one run. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  redis: string | undefined;
}

/** Describes this machine; `redis` is filled in once a server has answered INFO. */
export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: undefined,
  };
}

/** One line for the report header. */
export function machineLine(m: Machine): string {
  const redis = m.redis ? `, redis-server ${m.redis}` : '';
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}${redis}`;
}
