import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { probe, sleep } from './probe.js';
import { PortInUseError, type RedisInstance, freePort, startRedis } from './redis-server.js';

/** Options of startRedisCluster; the defaults are the small, slow-to-fail cluster the routing tests use. */
export interface RedisClusterOptions {
  /** Masters, each serving an equal share of the 16384 slots (default 3). */
  masters?: number;
  /** Replicas attached to each master (default 0). */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a node may be unreachable before it counts as failing (default 5000). */
  nodeTimeoutMs?: number;
}

/** One node as the cluster reports it in CLUSTER NODES. */
export interface ClusterNodeInfo {
  id: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  /** The id of the master a replica follows; undefined for a master. */
  masterId: string | undefined;
  /** Inclusive slot ranges a master serves; empty for a replica. */
  slots: [number, number][];
  /** Flagged `fail` or `fail?` by the node that reported it. */
  failing: boolean;
}

/** The masters and replicas one live node knows of. */
export interface ClusterTopology {
  masters: ClusterNodeInfo[];
  replicas: ClusterNodeInfo[];
}

/** A live Redis Cluster we own: its nodes can be listed, killed, restarted, and its slots moved. */
export interface RedisClusterInstance {
  /** Every node started (masters and replicas), as seed nodes for a client. */
  nodes: { host: string; port: number }[];
  /** The `cluster-node-timeout` every node runs with. */
  nodeTimeoutMs: number;
  /** Masters (with slot ranges) and replicas as a live node sees them now; killed nodes included. */
  topology(): Promise<ClusterTopology>;
  /** The master serving `slot` now. */
  slotOwner(slot: number): Promise<ClusterNodeInfo>;
  /** SIGKILLs the node on `port` (no goodbye to its peers, like a crashed host); resolves with when, once gone. */
  kill(port: number): Promise<number>;
  /** Starts a killed (or live) node again on its port and config, and waits until the cluster is whole. */
  restart(port: number): Promise<void>;
  /** Waits until the slots of the killed master on `port` are served by another master, everywhere ok. */
  waitForFailover(port: number, timeoutMs?: number): Promise<ClusterNodeInfo>;
  /** Waits until every live node is ok, agrees on who serves what, and every live replica is in sync. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Moves `slot` and its keys to the master on `toPort` the way redis-cli reshard does; returns keys moved. */
  migrateSlot(slot: number, toPort: number, options?: MigrateOptions): Promise<number>;
  stop(): Promise<void>;
}

/** How migrateSlot paces itself, so a test can keep a slot half-moved while traffic runs. */
export interface MigrateOptions {
  /** Keys per MIGRATE call (default 10). */
  batch?: number;
  /** Pause after each MIGRATE call (default 0). */
  pauseMs?: number;
}

const run = promisify(execFile);
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 50;
const SLOTS = 16384;

const configFile = (port: number) => path.join(os.tmpdir(), `distlimiter-nodes-${port}.conf`);

async function startNode(nodeTimeoutMs: number): Promise<RedisInstance> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // Pin the bus port explicitly: the default port+10000 may be taken or exceed 65535.
    const busPort = await freePort();
    // A config left by a crashed earlier run on this port would make the node rejoin that old cluster.
    await rm(configFile(port), { force: true });
    const args = ['--cluster-enabled', 'yes', '--cluster-port', String(busPort)];
    args.push('--cluster-config-file', configFile(port));
    args.push('--cluster-node-timeout', String(nodeTimeoutMs));
    // Diskless full syncs otherwise wait 5 s for more replicas, on every (re)attached replica.
    args.push('--repl-diskless-sync-delay', '0');
    try {
      return await startRedis({ port, args });
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= 5) throw err;
    }
  }
}

/**
 * One admin command on one node over a short-lived connection that never retries or queues, so a dead
 * node fails the call at once instead of hanging a poll.
 */
async function admin(port: number, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 5000,
  });
  // Without a listener ioredis logs a refused connection as an unhandled error event.
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

/** Parses CLUSTER NODES; slot entries in brackets (migrations in progress) are not ownership and are skipped. */
function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flagList, master, , , , , ...slotFields] = line.trim().split(' ');
      const endpoint = address!.split('@')[0]!;
      const colon = endpoint.lastIndexOf(':');
      const flags = flagList!.split(',');
      const slots = slotFields
        .filter((f) => !f.startsWith('['))
        .map((f): [number, number] => {
          const [from, to] = f.split('-').map(Number);
          return [from!, to ?? from!];
        });
      return {
        id: id!,
        host: endpoint.slice(0, colon),
        port: Number(endpoint.slice(colon + 1)),
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        slots,
        failing: flags.includes('fail') || flags.includes('fail?'),
      };
    });
}

async function viewOf(port: number): Promise<ClusterNodeInfo[]> {
  return parseClusterNodes(String(await admin(port, 'CLUSTER', 'NODES')));
}

const owns = (node: ClusterNodeInfo, slot: number) =>
  node.slots.some(([from, to]) => slot >= from && slot <= to);

function splitTopology(view: ClusterNodeInfo[]): ClusterTopology {
  return {
    masters: view.filter((n) => n.role === 'master'),
    replicas: view.filter((n) => n.role === 'replica'),
  };
}

/**
 * What a node believes about the live part of the cluster, as one comparable string: who serves which
 * slots and who follows whom. Nodes agree when their signatures are equal.
 */
function signature(view: ClusterNodeInfo[], live: Set<number>): string {
  return view
    .filter((n) => live.has(n.port))
    .map((n) => `${n.port}:${n.role}:${n.masterId ?? ''}:${n.slots.map((r) => r.join('-')).join(',')}`)
    .sort()
    .join(' ');
}

/** Slots no live, non-failing master serves in `view`; 0 when the whole keyspace is covered. */
function uncovered(view: ClusterNodeInfo[], live: Set<number>): number {
  let served = 0;
  for (const n of view) {
    if (n.role !== 'master' || n.failing || !live.has(n.port)) continue;
    for (const [from, to] of n.slots) served += to - from + 1;
  }
  return SLOTS - served;
}

async function replicaInSync(port: number): Promise<boolean> {
  const info = String(await admin(port, 'INFO', 'replication'));
  return info.includes('master_link_status:up') && info.includes('master_sync_in_progress:0');
}

/** Polls `check` until it returns true; on timeout throws with the last reason it gave for not being done. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason = 'not checked yet';
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      reason = result;
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs} ms (${reason})`);
    await sleep(POLL_MS);
  }
}

/** Starts fresh cluster nodes and waits until every node agrees the cluster is usable and replicas are synced. */
export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterInstance> {
  const masters = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 0;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 5000;
  const servers = new Map<number, RedisInstance>();
  // Ports of nodes killed and not restarted: they are left out of every health check.
  const killed = new Set<number>();
  // The node id and slots of each killed master, captured before the kill since a dead node cannot say.
  const killedMasters = new Map<number, ClusterNodeInfo>();
  const livePorts = () => new Set([...servers.keys()].filter((p) => !killed.has(p)));
  const anyLivePort = () => [...livePorts()][0]!;

  const stop = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await Promise.all([...servers.keys()].map((port) => rm(configFile(port), { force: true })));
  };

  const topology = async () => splitTopology(await viewOf(anyLivePort()));

  const slotOwner = async (slot: number) => {
    const owner = (await topology()).masters.find((m) => owns(m, slot));
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner;
  };

  // Healthy: every live node ok and of one mind, the keyspace covered, every live replica synced.
  const healthy = async (): Promise<true | string> => {
    const live = livePorts();
    const views = new Map<number, ClusterNodeInfo[]>();
    for (const port of live) {
      if (!(await probe(port, ['CLUSTER', 'INFO'], 'cluster_state:ok'))) return `node ${port} not ok`;
      views.set(port, await viewOf(port));
    }
    const signatures = new Set([...views.values()].map((v) => signature(v, live)));
    if (signatures.size > 1) return `nodes disagree: ${[...signatures].join(' | ')}`;
    for (const [port, view] of views) {
      const gap = uncovered(view, live);
      if (gap > 0) return `node ${port} sees ${gap} slots without a live master`;
      const failing = view.filter((n) => n.failing && live.has(n.port));
      if (failing.length) return `node ${port} flags live ${failing.map((n) => n.port)} as failing`;
    }
    for (const replica of splitTopology(views.values().next().value!).replicas) {
      if (live.has(replica.port) && !(await replicaInSync(replica.port)))
        return `replica ${replica.port} not in sync`;
    }
    return true;
  };

  const waitUntilHealthy = (timeoutMs = READY_TIMEOUT_MS) => waitFor('cluster healthy', timeoutMs, healthy);

  const kill = async (port: number) => {
    if (!servers.has(port)) throw new Error(`no cluster node on port ${port}`);
    const self = (await viewOf(port)).find((n) => n.port === port)!;
    if (self.role === 'master') killedMasters.set(port, self);
    // RedisInstance offers only a graceful stop; the server's own pid lets us kill it the hard way.
    const info = String(await admin(port, 'INFO', 'server'));
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    killed.add(port);
    await waitFor(`node ${port} gone`, 5000, async () =>
      (await probe(port, ['PING'], '+PONG')) ? 'still answers' : true,
    );
    return killedAt;
  };

  const restart = async (port: number) => {
    const server = servers.get(port);
    if (!server) throw new Error(`no cluster node on port ${port}`);
    // Same port, same cluster config file: the node rejoins as itself (a former master as a replica).
    await server.restart();
    killed.delete(port);
    killedMasters.delete(port);
    await waitUntilHealthy();
  };

  const waitForFailover = async (port: number, timeoutMs = READY_TIMEOUT_MS) => {
    const old = killedMasters.get(port);
    if (!old) throw new Error(`node ${port} is not a killed master`);
    const [firstSlot] = old.slots[0] ?? [];
    if (firstSlot === undefined) throw new Error(`killed master ${port} served no slots`);
    await waitFor(`failover of ${port}`, timeoutMs, async () => {
      const live = livePorts();
      for (const p of live) {
        if (!(await probe(p, ['CLUSTER', 'INFO'], 'cluster_state:ok'))) return `node ${p} not ok`;
        const view = await viewOf(p);
        if (view.some((n) => n.id === old.id && n.slots.length > 0))
          return `node ${p} still sees ${port} serving slots`;
        const gap = uncovered(view, live);
        if (gap > 0) return `node ${p} sees ${gap} slots without a live master`;
      }
      return true;
    });
    return slotOwner(firstSlot);
  };

  const migrateSlot = async (slot: number, toPort: number, options: MigrateOptions = {}) => {
    const batch = options.batch ?? 10;
    const { masters: all } = await topology();
    const source = all.find((m) => owns(m, slot) && !m.failing);
    const target = all.find((m) => m.port === toPort && !m.failing);
    if (!source || !target) throw new Error(`cannot move slot ${slot} to ${toPort}: no such live masters`);
    if (source.id === target.id) return 0;
    // Importing first: once the source says MIGRATING and answers ASK, the target must accept ASKING.
    await admin(target.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
    await admin(source.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
    let moved = 0;
    for (;;) {
      const keys = (await admin(source.port, 'CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
      if (keys.length === 0) break;
      await admin(source.port, 'MIGRATE', target.host, target.port, '', 0, 5000, 'KEYS', ...keys);
      moved += keys.length;
      if (options.pauseMs) await sleep(options.pauseMs);
    }
    // Target first, so the slot is never owned by nobody; then the source; then everyone else.
    await admin(target.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    await admin(source.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    const others = all.filter((m) => m.id !== source.id && m.id !== target.id && !m.failing);
    await Promise.all(others.map((m) => admin(m.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id)));
    await waitUntilHealthy();
    return moved;
  };

  try {
    const count = masters * (1 + replicasPerMaster);
    for (let i = 0; i < count; i++) {
      const server = await startNode(nodeTimeoutMs);
      servers.set(server.port, server);
    }
    const endpoints = [...servers.values()].map((s) => `${s.host}:${s.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...endpoints, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { timeout: 30_000 },
    ).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
    });
    // Replicas attach after the join, so a healthy cluster may not know them all yet.
    const expected = masters * replicasPerMaster;
    await waitFor('cluster ready', READY_TIMEOUT_MS, async () => {
      const state = await healthy();
      if (state !== true) return state;
      const { replicas } = await topology();
      return replicas.length === expected ? true : `${replicas.length} of ${expected} replicas attached`;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: [...servers.values()].map((s) => ({ host: s.host, port: s.port })),
    nodeTimeoutMs,
    topology,
    slotOwner,
    kill,
    restart,
    waitForFailover,
    waitUntilHealthy,
    migrateSlot,
    stop,
  };
}
