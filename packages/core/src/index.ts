// The root entry point: what an application uses. What only adapter authors need is in
// "@distlimiter/core/http".
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
  CircuitOpenError,
  ClosedError,
  MissingDependencyError,
  InvalidConfigError,
  type ConfigProblem,
  formatProblem,
} from './errors.js';
export {
  RateLimiter,
  type RateLimiterOptions,
  type LimitOptions,
  type ScopeOptions,
  type BackendErrorPolicy,
} from './limiter.js';
export type { Algorithm, AlgorithmStep, StepOutcome, StepResult } from './algorithms/types.js';
export type { WindowOptions } from './algorithms/options.js';
export { tokenBucket, type TokenBucketOptions } from './algorithms/token-bucket.js';
export { leakyBucket, type LeakyBucketOptions } from './algorithms/leaky-bucket.js';
export { fixedWindow } from './algorithms/fixed-window.js';
export { slidingWindow } from './algorithms/sliding-window.js';
export { slidingLog } from './algorithms/sliding-log.js';
export { gcra, type GcraOptions } from './algorithms/gcra.js';
export { hybrid } from './algorithms/hybrid.js';
export type { Backend, BackendHealth, Clock, Keyspace } from './backends/types.js';
export { MemoryBackend, type MemoryBackendOptions } from './backends/memory.js';
export {
  RedisBackend,
  type RedisBackendOptions,
  type RedisBackendEvents,
  type RedisBackendHealth,
  type RedisBreakerOptions,
} from './backends/redis.js';
export { shareOf } from './algorithms/share.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerEvents,
  type CircuitBreakerHealth,
  type CircuitState,
} from './backends/circuit-breaker.js';
export type { Duration } from './policy/duration.js';
export {
  HTTP_METHODS,
  type HttpMethod,
  type ConfigDocument,
  type ConfigInput,
  type TierConfig,
  type RuleConfig,
  type RuleInput,
  type RuleMatch,
  type RuleKeyBy,
  type RuleTierOverride,
  type RateSpec,
  type ApiKeySource,
} from './policy/config/document.js';
export { parseConfig, checkConfig, type ConfigCheck } from './policy/config/validate.js';
export {
  loadConfigFile,
  checkConfigFile,
  loadConfigFileSync,
  checkConfigFileSync,
} from './policy/config/load-file.js';
export {
  compileConfig,
  rateAlgorithm,
  type ConfigSnapshot,
  type CompiledTier,
  type CompiledRule,
  type CompileConfigOptions,
  type KeyTier,
  type ConfigOrigin,
  type ConfigOrigins,
} from './policy/snapshot.js';
export {
  createConfigSource,
  isConfigSource,
  type ConfigSource,
  type ConfigSourceEvents,
  type PublishOptions,
  type OverlayKeyInForce,
  type ConfigInForce,
  type ConfigSourceStatus,
} from './policy/source/config-source.js';
export { ConfigVersionError } from './policy/source/version-error.js';
export type { ConfigSourceOptions, ConfigSourceRedisOptions } from './policy/source/options.js';
export type { ConfigOverlayChange, OverlayKeyEntry } from './policy/source/overlay.js';
export {
  KeyStore,
  type KeyStoreFunction,
  type KeyStoreOptions,
  type KeyStoreErrorPolicy,
  type KeyStoreOutcome,
} from './policy/key-store.js';
export { keyIdentity, sha256Hex } from './policy/api-keys.js';
export { HttpLimiter } from './http/handler.js';
export { ip, header, type IpKeyOptions } from './http/keys.js';
export type {
  HttpRequest,
  HttpOutcome,
  KeyFunction,
  HeaderMode,
  HttpLimitOptions,
  HttpLimiterEvents,
  RateFunction,
  ConfigSourceLike,
} from './http/types.js';
export {
  UNAUTHORIZED_BODY,
  SHADOW_HEADER,
  BLOCKED_BODY,
  SHED_BODY,
  SHED_RETRY_S,
  type LimitReading,
} from './http/tiered.js';
export type { HttpAuditOptions, HttpLoadOptions, HttpStatisticsOptions } from './http/control-plane.js';
export {
  LoadState,
  LOAD_STATE_OPTION_KEYS,
  type LoadStateOptions,
  type LoadStateView,
  type LoadStateEvents,
  type LoadSetOptions,
  type LoadSource,
  type OperatorLoadSetting,
} from './control/load-state.js';
export {
  LoadMonitor,
  LOAD_MONITOR_OPTION_KEYS,
  DEFAULT_LOAD_THRESHOLDS,
  DEFAULT_DWELL_MS,
  type LoadMonitorOptions,
  type LoadMonitorEvents,
  type LoadMonitorView,
  type LoadStatus,
  type LoadSignals,
  type LoadSignalName,
  type LoadThreshold,
  type LoadThresholds,
} from './control/load-monitor.js';
export {
  AuditLog,
  type AuditOptions,
  type AuditLogEvents,
  type AuditDrops,
  type AuditEvent,
  type AuditEventType,
  type AuditProblem,
  type AuditRecord,
  keyHint,
  auditSources,
} from './control/audit.js';
export {
  Statistics,
  type StatsSample,
  type StatisticsOptions,
  type StatsReport,
  type StatsWindow,
  type StatsCounts,
} from './control/stats.js';
export { KeyProtection, type KeyProtectionEvents } from './control/protection.js';
export type { KeyProtectionOptions, KeyProtectionSetup } from './control/protection-options.js';
export type { IpBlock } from './control/blocks.js';
export { controlStoreOf } from './control/store-of.js';
export type { ControlStore, StreamEntry } from './control/store.js';
export {
  optionsFromEnv,
  limiterFromEnv,
  ENV_VARIABLES,
  type FromEnvOptions,
  type EnvLimitOptions,
} from './env.js';
