export type { Decision } from './decision.js';
export {
  DistLimiterError,
  type DistLimiterErrorCode,
  InvalidOptionError,
  InvalidRateError,
  InvalidDurationError,
  InvalidKeyError,
  InvalidCostError,
  RateLimitExceeded,
  BackendError,
  BackendTimeoutError,
  CallbackTimeoutError,
  ClosedError,
} from './errors.js';
export {
  RateLimiter,
  type RateLimiterOptions,
  type LimitOptions,
  MAX_KEY_BYTES,
  combine,
} from './limiter.js';
export type { Algorithm, AlgorithmStep, StepOutcome, StepResult } from './algorithms/types.js';
export type { WindowOptions } from './algorithms/options.js';
export { tokenBucket, type TokenBucketOptions } from './algorithms/token-bucket.js';
export { leakyBucket, type LeakyBucketOptions } from './algorithms/leaky-bucket.js';
export { fixedWindow } from './algorithms/fixed-window.js';
export { slidingWindow } from './algorithms/sliding-window.js';
export { slidingLog, SLIDING_LOG_MAX_LIMIT } from './algorithms/sliding-log.js';
export { gcra, type GcraOptions } from './algorithms/gcra.js';
export { hybrid } from './algorithms/hybrid.js';
export { type Backend, type Clock, isBackend } from './backends/types.js';
export { MemoryBackend, type MemoryBackendOptions } from './backends/memory.js';
export { RedisBackend, type RedisBackendOptions } from './backends/redis.js';
export { composeScript } from './backends/lua.js';
export { parseRate, formatRate, type Rate } from './policy/rate.js';
export { parseDuration, type Duration } from './policy/duration.js';
export * from './http/index.js';
