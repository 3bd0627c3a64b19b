import { InvalidOptionError } from '../errors.js';
import type { KeySource } from '../key-names.js';
import { ipNetwork } from './ip.js';
import type { HttpRequest, KeyFunction } from './types.js';

/** Key used when a request has neither a key nor a client IP; it is shared, so a warning says why. */
export const UNKNOWN_IP_KEY = 'unknown-ip';

// Where a key came from. Each source gets its own prefix so an API key that happens to read
// "1.2.3.4" never shares a bucket with the client at 1.2.3.4.
const SOURCE = Symbol.for('distlimiter.keySource');

interface TaggedKeyFunction extends KeyFunction {
  [SOURCE]?: KeySource;
}

/** Options of `ip()`. */
export interface IpKeyOptions {
  /** Prefix length IPv6 clients are grouped by (default 64: one customer network); 128 limits each address. */
  ipv6Subnet?: number;
}

/** Keys requests by client IP: IPv4 as is (IPv4-mapped IPv6 folded to IPv4), IPv6 by its /64 network. */
export function ip(options: IpKeyOptions = {}): KeyFunction {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('ip options', options, 'an options object such as { ipv6Subnet: 64 }');
  }
  const subnet = options.ipv6Subnet === undefined ? 64 : options.ipv6Subnet;
  if (typeof subnet !== 'number' || !Number.isInteger(subnet) || subnet < 1 || subnet > 128) {
    throw new InvalidOptionError('ipv6Subnet', subnet, 'an integer prefix length from 1 to 128 (default 64)');
  }
  const fn: TaggedKeyFunction = (request: HttpRequest) => ipNetwork(request.ip, subnet);
  fn[SOURCE] = 'ip';
  return fn;
}

/** Keys requests by one request header, e.g. `header('x-api-key')`; absent or empty falls back to the IP. */
export function header(name: string): KeyFunction {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidOptionError('header', name, 'a non-empty header name such as "x-api-key"');
  }
  const lower = name.trim().toLowerCase();
  const fn: TaggedKeyFunction = (request: HttpRequest) => request.header(lower);
  fn[SOURCE] = 'h';
  return fn;
}

/** Which prefix a key function's results get: built-in extractors are tagged, anything else is "k". */
export function keySourceOf(fn: KeyFunction): KeySource {
  return (fn as TaggedKeyFunction)[SOURCE] ?? 'k';
}
