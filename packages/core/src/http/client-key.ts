import { InvalidKeyError } from '../errors.js';
import { clientId } from '../key-names.js';
import type { Callbacks } from './callbacks.js';
import { isPromiseLike } from './callbacks.js';
import { ipNetwork } from './ip.js';
import { UNKNOWN_IP_KEY } from './keys.js';
import type { HttpSettings } from './options.js';
import type { HttpRequest } from './types.js';
import { isWellFormed, WELL_FORMED } from '../well-formed.js';

// One warning per process: the cause (a missing trust proxy setting) is global, and so is the fix.
let warnedUnknownIp = false;

/**
 * Finds who a request is counted as: the `keyBy` result tagged with its source, or the client IP. Never a
 * shared bucket: a request without a usable key is limited by its IP, and only a request without even an
 * IP lands in the one shared "unknown-ip" bucket, with a warning saying why.
 */
export class ClientKeys {
  // The last client address seen and its key: requests come in bursts from one client.
  private lastIp: string | undefined;
  private lastNetwork: string | undefined;
  private lastIpKey = '';

  constructor(
    private readonly settings: HttpSettings,
    private readonly callbacks: Callbacks,
  ) {}

  /** The client identity of `request`, e.g. "ip:203.0.113.7" or "h:<api key>". */
  of(request: HttpRequest): string | Promise<string> {
    const keyBy = this.settings.keyBy;
    if (keyBy === undefined) return this.ip(request);
    let value: unknown;
    try {
      value = keyBy(request);
    } catch (error) {
      this.callbacks.failed('keyBy', error, request);
      return this.ip(request);
    }
    if (isPromiseLike(value)) {
      return this.callbacks.bounded('keyBy', value).then(
        (v) => this.finish(v, request),
        (error: unknown) => {
          this.callbacks.failed('keyBy', error, request);
          return this.ip(request);
        },
      );
    }
    return this.finish(value, request);
  }

  private finish(value: unknown, request: HttpRequest): string {
    if (typeof value === 'string' && value !== '') {
      if (isWellFormed(value)) return clientId(this.settings.keySource, value);
      // Reported here rather than refused by the limiter: a bad key is the key function's fault, and the
      // request is still counted (by IP) instead of failing like a backend error would.
      this.callbacks.failed('keyBy', new InvalidKeyError(value, `a ${WELL_FORMED} string`), request);
      return this.ip(request);
    }
    if (value !== undefined && value !== null && value !== '') {
      this.callbacks.failed(
        'keyBy',
        new InvalidKeyError(value, 'a string, or undefined to fall back to the client IP'),
        request,
      );
    }
    return this.ip(request);
  }

  /** The client identity by IP (IPv6 grouped by /64), or the shared unknown-ip key when there is none. */
  ip(request: HttpRequest): string {
    const ip = request.ip;
    if (ip === this.lastIp && ip !== undefined) return this.lastIpKey;
    const network = ipNetwork(ip);
    if (network !== undefined) {
      const key = network === this.lastNetwork ? this.lastIpKey : clientId('ip', network);
      this.lastIp = ip;
      this.lastNetwork = network;
      this.lastIpKey = key;
      return key;
    }
    if (!warnedUnknownIp) {
      warnedUnknownIp = true;
      process.emitWarning(
        'A request had no client IP, so it was limited under the shared key "unknown-ip" (all such ' +
          'requests share one bucket). Make the framework resolve the client IP: behind a proxy set its ' +
          'trust proxy option (Express "trust proxy", Fastify trustProxy, Koa app.proxy), and for Hono ' +
          'pass getIp; or key requests by something else with keyBy.',
        { type: 'DistLimiterWarning', code: 'DL_UNKNOWN_IP' },
      );
    }
    return UNKNOWN_IP_KEY;
  }
}
