import { randomBytes } from 'node:crypto';
import { type Client, isReady } from './redis-connection.js';

// Each instance adds itself to a sorted set scored by when it counts as gone, and drops the members past
// theirs, on the server's clock so that app servers with skewed clocks agree. One key; on a Cluster it
// lives in one slot, like any key.
const BEAT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + gone, ARGV[1])
redis.call('PEXPIRE', KEYS[1], gone)
return redis.call('ZCARD', KEYS[1])`;

/**
 * Learns how many instances share one Redis: each beats every `everyMs` into a sorted set (`key`), and an
 * instance that missed three beats is no longer counted. Beats run on an unreferenced timer, so they never
 * keep a process alive; the count holds its last value through an outage, which is when it is used.
 */
export class Heartbeat {
  /** Instances seen at the last beat (this one included); 1 until a beat succeeds. */
  instances = 1;
  private readonly id = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: Client,
    /** The sorted set the instances beat into. */
    readonly key: string,
    /** Time between beats in ms. */
    readonly everyMs: number,
  ) {}

  /** Beats now and then every `everyMs`. */
  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.everyMs).unref();
  }

  /** Stops beating and, while connected, leaves the set at once rather than after three missed beats. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (isReady(this.connection)) await this.connection.zrem(this.key, this.id).catch(() => {});
  }

  private beat(): void {
    if (!isReady(this.connection)) return;
    this.connection.eval(BEAT, 1, this.key, this.id, this.everyMs * 3).then(
      (count) => {
        this.instances = Math.max(1, Number(count));
      },
      // A failed beat changes nothing: the count stays, and the decision path reports the outage.
      () => {},
    );
  }
}
