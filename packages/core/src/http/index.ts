export { HttpLimiter, createHttpLimiter } from './handler.js';
export { ip, header, type IpKeyOptions, type KeySource, MAX_RAW_KEY_LENGTH, UNKNOWN_IP_KEY } from './keys.js';
export { normalizeIp, ipNetwork } from './ip.js';
export {
  RateHeaders,
  ceilSeconds,
  retryAfterSeconds,
  policyNames,
  formatRateLimitPolicy,
  formatRateLimit,
  RATE_LIMIT_HEADER_NAMES,
  isRateLimitHeaderName,
} from './headers.js';
export { refusalBody, type RefusalBody, TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE_BODY } from './response.js';
export { HTTP_LIMIT_OPTION_KEYS, LIMITER_OPTION_KEYS, DEFAULT_RATE } from './options.js';
export type {
  HttpRequest,
  HttpOutcome,
  KeyFunction,
  HeaderMode,
  HttpLimitOptions,
  HttpLimiterEvents,
} from './types.js';
