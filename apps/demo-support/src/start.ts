import { type EnvLimitOptions, optionsFromEnv } from '@distlimiter/core';
import { DEMO_ADMIN_PATH, type DemoAdmin } from './admin.js';
import { DEMO_CONFIG_FILE, DEMO_KEYS, DEMO_PREFIX } from './limits.js';

/**
 * The limit options of a demo from its environment: DISTLIMITER_CONFIG (default: the demo configuration
 * file, reloaded when it changes), REDIS_URL (counts and the configuration overlay on Redis; unset: memory)
 * and DISTLIMITER_PREFIX (default "demo"). A bad value stops the demo at start with an error naming it.
 */
export function demoEnv(env: NodeJS.ProcessEnv = process.env): EnvLimitOptions {
  const built = optionsFromEnv({ env, defaults: { config: DEMO_CONFIG_FILE, prefix: DEMO_PREFIX } });
  // A change that is not valid is reported by the limiter (a DL_CONFIG_REJECTED warning naming every problem).
  built.source?.on('reloaded', (snapshot) => {
    const overlay = snapshot.origins.overlayVersion;
    console.log(
      `configuration reloaded: ${snapshot.tiers.size} tiers, ${snapshot.rules.length} rules` +
        (overlay === undefined ? '' : `, Redis overlay version ${overlay}`),
    );
  });
  built.source?.on('sourceError', (error) => {
    console.error(
      `configuration overlay unreachable, the last configuration stays in force: ${error.message}`,
    );
  });
  return built;
}

/** Where a demo listens: PORT and HOST, with the demo's own default port. */
export function demoAddress(defaultPort: number): { port: number; host: string } {
  return { port: Number(process.env.PORT ?? defaultPort), host: process.env.HOST ?? '127.0.0.1' };
}

/**
 * The start-up banner: where the demo listens, what it runs on (the configuration file, the backend by its
 * host only, never a credential, the prefix), the admin API and its token's origin (a token the environment
 * gave is never printed; one generated for the run is, or no one could use it), the sample API keys, and
 * what to try.
 */
export function banner(framework: string, url: string, setup: string, admin?: DemoAdmin): string {
  const steps = walkThrough(url);
  const width = Math.max(...steps.map(([command, shows]) => (shows ? command.length : 0)));
  const tried = steps.map(
    ([command, shows]) => `  ${shows ? `${command.padEnd(width)}  # ${shows}` : command}`,
  );
  const adminLines =
    admin === undefined
      ? []
      : [
          admin.describe(),
          '',
          `Admin API (the README's "Admin API" shows every endpoint):`,
          ...adminSteps(url, admin).map((command) => `  ${command}`),
        ];
  return `distlimiter ${framework} demo listening on ${url}
${[setup, ...adminLines].join('\n')}

Sample API keys (listed in the configuration; not secrets):
  ${DEMO_KEYS.free.padEnd(24)} free: 10/minute, bursts of 20
  ${DEMO_KEYS.pro.padEnd(24)} pro: 100/minute, bursts of 150
  ${DEMO_KEYS.enterprise.padEnd(24)} enterprise: 1000/minute and 100000/day
  (none)                   anonymous: 5/minute per IP

Try:
${tried.join('\n')}
`;
}

/** The curl commands the banner prints, in order, each with what it shows (the README's walk-through). */
export function walkThrough(url: string): [command: string, shows: string][] {
  const key = (k: string) => `-H 'x-api-key: ${k}' `;
  return [
    [`curl -i ${url}/health`, '200, never limited'],
    [`curl -i ${url}/api/hello`, 'anonymous: 5/minute per IP (X-RateLimit-Limit: 5)'],
    [`curl -i ${key(DEMO_KEYS.free)}${url}/api/hello`, 'free: bursts of 20 (X-RateLimit-Limit: 20)'],
    [`curl -i ${key(DEMO_KEYS.pro)}${url}/api/hello`, 'pro: bursts of 150 (X-RateLimit-Limit: 150)'],
    [`curl -i ${key('not-a-key')}${url}/api/hello`, '401: a key the configuration does not list'],
    [`curl -i -X POST ${url}/api/login`, 'rule "login": 3/minute per IP'],
    [`curl -i ${key(DEMO_KEYS.free)}${url}/api/data`, 'rule "data", shadow: X-RateLimit-Shadow after 5'],
    [`for i in $(seq 6); do curl -s -o /dev/null -w '%{http_code} ' ${url}/api/hello; done; echo`, ''],
  ];
}

/** The admin curl commands the banner prints: the token into a variable, then a read with and without it. */
export function adminSteps(url: string, admin: DemoAdmin): string[] {
  const admin$ = `${url}${DEMO_ADMIN_PATH}`;
  return [
    admin.generated === undefined ? 'TOKEN="$DISTLIMITER_ADMIN_TOKEN"' : `TOKEN=${admin.generated}`,
    `curl -s -H "Authorization: Bearer $TOKEN" ${admin$}/rules`,
    `curl -i ${admin$}/rules   # 401 without a token`,
    `curl -s ${admin$}/readyz   # the probes need none`,
  ];
}

/** Runs `stop` on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  const exit = () => {
    stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', exit);
  process.once('SIGTERM', exit);
}
