// "@distlimiter/core/http": what adapter authors need beyond the root entry point. An adapter turns its
// framework's request into an HttpRequest, asks HttpLimiter, and applies the HttpOutcome.
export { HttpLimiter, createHttpLimiter } from './handler.js';
export { ip, header, type IpKeyOptions, UNKNOWN_IP_KEY } from './keys.js';
export {
  clientId,
  routeScope,
  type KeySource,
  MAX_RAW_KEY_LENGTH,
} from '../key-names.js';
export { MAX_KEY_BYTES } from '../limiter.js';
export { normalizeIp, ipNetwork } from './ip.js';
export { directAddress, type NodeRequestLike } from './socket-address.js';
export {
  RateHeaders,
  ceilSeconds,
  retryAfterSeconds,
  resetOf,
  policyNames,
  formatRateLimitPolicy,
  RATE_LIMIT_HEADER_NAMES,
  isRateLimitHeaderName,
} from './headers.js';
export { refusalBody, type RefusalBody, TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE_BODY } from './response.js';
export { HTTP_LIMIT_OPTION_KEYS, LIMITER_OPTION_KEYS, DEFAULT_RATE } from './options.js';
// The same types as the root entry point, so an adapter can take everything it needs from here.
export type * from './types.js';
