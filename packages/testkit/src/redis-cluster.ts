import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { probe, sleep } from './probe.js';
import { PortInUseError, type RedisInstance, freePort, startRedis } from './redis-server.js';

/** A live Redis Cluster of masters only, enough to exercise slot routing in adapters. */
export interface RedisClusterInstance {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

const run = promisify(execFile);
const READY_TIMEOUT_MS = 20_000;

async function startNode(): Promise<RedisInstance> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // Pin the bus port explicitly: the default port+10000 may be taken or exceed 65535.
    const busPort = await freePort();
    const args = ['--cluster-enabled', 'yes', '--cluster-port', String(busPort)];
    args.push('--cluster-config-file', path.join(os.tmpdir(), `distlimiter-nodes-${port}.conf`));
    args.push('--cluster-node-timeout', '5000');
    try {
      return await startRedis({ port, args });
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= 5) throw err;
    }
  }
}

/** Starts N fresh cluster masters and waits until every node agrees the cluster is usable. */
export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisClusterInstance> {
  const masters = opts.masters ?? 3;
  const servers: RedisInstance[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(
      servers.map((s) => rm(path.join(os.tmpdir(), `distlimiter-nodes-${s.port}.conf`), { force: true })),
    );
  };
  try {
    for (let i = 0; i < masters; i++) servers.push(await startNode());
    const endpoints = servers.map((s) => `${s.host}:${s.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...endpoints, '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    ).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(
        servers.map((s) => probe(s.port, ['CLUSTER', 'INFO'], 'cluster_state:ok')),
      );
      if (states.every(Boolean)) break;
      if (Date.now() > deadline)
        throw new Error(`cluster not ok after ${READY_TIMEOUT_MS}ms on ${endpoints}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((s) => ({ host: s.host, port: s.port })), stop };
}
