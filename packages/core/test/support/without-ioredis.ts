// Run by ioredis-optional.test.ts against a copy of core's sources that has no node_modules above it, so
// ioredis cannot be resolved: the situation of an app that installed @distlimiter/core alone.
const core = await import(process.argv[2] as string);
const limiter = new core.RateLimiter({
  algorithm: core.fixedWindow('2/minute'),
  backend: new core.MemoryBackend(),
});
const memory = (await limiter.limit('k')).allowed;
let error: Record<string, unknown> = {};
try {
  new core.RedisBackend({ client: 'redis://127.0.0.1:1' });
} catch (caught) {
  const e = caught as Error & { code?: string; dependency?: string };
  error = {
    name: e.name,
    code: e.code,
    dependency: e.dependency,
    message: e.message,
    typed: e instanceof core.DistLimiterError,
  };
}
process.stdout.write(JSON.stringify({ memory, error }));
