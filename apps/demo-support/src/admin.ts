import { randomBytes } from 'node:crypto';
import type { AdminTokens } from '@distlimiter/core/admin';

/** Where every demo mounts the admin API. */
export const DEMO_ADMIN_PATH = '/admin';

const FULL = 'DISTLIMITER_ADMIN_TOKEN';
const READ = 'DISTLIMITER_ADMIN_READ_TOKEN';

/** The admin API's tokens of a demo run, and how the banner tells of them. */
export interface DemoAdmin {
  /** The `tokens` option: "env" (full) and "env-read" from the environment, or "demo" generated for this run. */
  readonly tokens: AdminTokens;
  /** The full token when it was generated here (to print: no one else knows it); undefined when given. */
  readonly generated: string | undefined;
  /** Lines for the banner: where the tokens come from, never a token the environment gave. */
  describe(): string;
}

/**
 * The admin API's tokens from DISTLIMITER_ADMIN_TOKEN (full access) and DISTLIMITER_ADMIN_READ_TOKEN (read
 * only). With neither set, the admin API is not left open, nor is the demo stopped: a random full token is
 * generated for this run and printed, so the walk-through works at once (set the variable for a fixed one).
 */
export function demoAdmin(env: NodeJS.ProcessEnv = process.env): DemoAdmin {
  const full = env[FULL];
  const read = env[READ];
  if (full || read) {
    const tokens: AdminTokens = {
      ...(full ? { full: { env: full } } : {}),
      ...(read ? { read: { 'env-read': read } } : {}),
    };
    const given = [full ? `${FULL} (full)` : '', read ? `${READ} (read-only)` : ''].filter(Boolean);
    return {
      tokens,
      generated: undefined,
      describe: () => `admin API: ${DEMO_ADMIN_PATH}, tokens from ${given.join(' and ')} (not shown)`,
    };
  }
  const generated = `demo-${randomBytes(16).toString('hex')}`;
  return {
    tokens: { full: { demo: generated } },
    generated,
    describe: () =>
      `admin API: ${DEMO_ADMIN_PATH}, token generated for this run below (set ${FULL} to choose one)`,
  };
}
