// Child process: the timed Redis rows of Part A (throughput, the abusive client, the Cluster), each run in
// a process of its own on plain Node, as runChild starts it.
import type { RoundPlan } from '../alternate.js';
import { childMain } from '../child-main.js';
import { clusterThroughput } from './cluster.js';
import { abusiveClient } from './deny.js';
import { redisThroughput } from './redis.js';

/** Which measurement a child runs, and with what. */
export type RedisChildTask =
  | { kind: 'throughput'; url: string; levels: number[]; plan: RoundPlan; keys: number }
  | { kind: 'abuse'; url: string; plan: RoundPlan }
  | { kind: 'cluster'; levels: number[]; plan: RoundPlan; keys: number };

childMain(async () => {
  const task = JSON.parse(process.argv[2]!) as RedisChildTask;
  switch (task.kind) {
    case 'throughput':
      return redisThroughput(task.url, task.levels, task.plan, task.keys);
    case 'abuse':
      return abusiveClient(task.url, task.plan);
    case 'cluster':
      return clusterThroughput(task.levels, task.plan, task.keys);
  }
});
