import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';

/** Where a demo keeps its counts: Redis when REDIS_URL is set (shared by every process), memory otherwise. */
export function demoBackend(redisUrl: string | undefined = process.env.REDIS_URL): Backend {
  // Given a URL, RedisBackend opens its own client and closes it with the backend.
  return redisUrl ? new RedisBackend({ client: redisUrl }) : new MemoryBackend();
}

/** Where a demo listens: PORT and HOST, with the demo's own default port. */
export function demoAddress(defaultPort: number): { port: number; host: string } {
  return { port: Number(process.env.PORT ?? defaultPort), host: process.env.HOST ?? '127.0.0.1' };
}

/** The start-up banner: where the demo listens, which backend it uses (never a credential), what to try. */
export function banner(
  framework: string,
  url: string,
  redisUrl: string | undefined = process.env.REDIS_URL,
): string {
  const backend = redisUrl
    ? `redis at ${redisHost(redisUrl)}`
    : 'memory (set REDIS_URL to share counts across processes)';
  return `distlimiter ${framework} demo listening on ${url}
backend: ${backend}

Try:
  curl -i ${url}/health                              # 200, never limited
  curl -i ${url}/api/hello                           # 10/minute per IP (app-wide)
  curl -i ${url}/nope                                # 404, counted by the app-wide limit
  curl -i -X POST ${url}/api/login                   # 3/minute per IP, its own count
  curl -i -H 'x-api-key: alice' ${url}/api/data      # 5/minute per x-api-key (per IP without one)
  for i in $(seq 11); do curl -s -o /dev/null -w '%{http_code} ' ${url}/api/hello; done; echo
`;
}

// Only the host: REDIS_URL may carry a password, and terminal output ends up in logs.
function redisHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return 'REDIS_URL';
  }
}

/** Runs `stop` on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  const exit = () => {
    stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', exit);
  process.once('SIGTERM', exit);
}
