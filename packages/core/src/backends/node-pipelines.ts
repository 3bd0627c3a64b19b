/// <reference path="./cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { evalshaCommand } from './ioredis.js';

/** The hash slot of a key, as Redis Cluster computes it (from its `{tag}` when it has one). */
export const slotOf: (key: string) => number = calculateSlot;

// Replies by which a node turns a command away without running it: the slot is served elsewhere (MOVED),
// is moving (ASK, TRYAGAIN), the cluster is down, or the node does not have the script yet.
const TURNED_AWAY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)\b/;

/** Whether a node turned a command away without running it, so sending it again cannot run it twice. */
export function turnedAway(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && TURNED_AWAY.test(error.message);
}

/**
 * Script calls written straight to the master serving their slot, every call for one node in one socket
 * write per tick instead of one write per call (with a bare script, twice the EVALSHA/s at 100 in flight on
 * 3 masters; the bench's Cluster row measures it through the limiter). A Cluster's own pipelines (and its
 * automatic pipelining) cannot do this safely: they follow ASK, MOVED and TRYAGAIN only when every command
 * of the pipeline got the same one, and retry a TRYAGAIN for up to 16 x 100 ms. Nothing is followed here: a
 * call turned away is its sender's to send again through the Cluster, which does.
 */
export class NodePipelines {
  // The node sockets corked this tick (the sockets, not the nodes: a node that reconnects meanwhile has a
  // new one), and whether their uncorking is scheduled.
  private readonly corked = new Set<Redis['stream']>();
  private scheduled = false;
  // Node connections by the "host:port" the Cluster's slot map names them by; rebuilt on a miss.
  private byAddress = new Map<string, Redis>();

  constructor(private readonly cluster: Cluster) {}

  /**
   * The connected master serving `slot` by the Cluster's slot map, or undefined when there is none yet (no
   * map, a node still connecting or gone): then the call goes through the Cluster, as it waits and retries.
   */
  nodeFor(slot: number): Redis | undefined {
    const address = this.cluster.slots[slot]?.[0];
    if (address === undefined) return undefined;
    let node = this.byAddress.get(address);
    if (node === undefined || node.status === 'end') {
      this.byAddress = new Map(
        this.cluster.nodes('all').map((n) => [`${n.options.host}:${n.options.port}`, n]),
      );
      node = this.byAddress.get(address);
    }
    return node?.status === 'ready' ? node : undefined;
  }

  /** EVALSHA on `node`, written with the other calls for it at the end of this tick. */
  evalsha(
    node: Redis,
    sha: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<number[]> {
    // The node's socket is corked until the tick ends, so every call for it this tick leaves in one write.
    // Each call is its own Command (its own reply or error), written past the node's auto-pipelining: a
    // Pipeline object, its promises and its [error, reply] pairs cost more than the calls themselves.
    const stream = node.stream;
    if (!this.corked.has(stream)) {
      stream.cork();
      this.corked.add(stream);
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(this.write);
      }
    }
    return node.sendCommand(evalshaCommand(node, sha, keys, args)) as Promise<number[]>;
  }

  private readonly write = (): void => {
    this.scheduled = false;
    for (const stream of this.corked) stream.uncork();
    this.corked.clear();
  };
}
