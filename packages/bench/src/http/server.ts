// Child process: serves one framework's hello-world app in one variant until its parent kills it.
import { REDIS_URL_VARIABLE, type StartApp, type Variant } from './apps/types.js';

// Each framework is imported only in the process that serves it.
const STARTERS: Record<string, () => Promise<StartApp>> = {
  express: async () => (await import('./apps/express.js')).startExpress,
  fastify: async () => (await import('./apps/fastify.js')).startFastify,
  'nest-express': async () => (await import('./apps/nest.js')).startNestExpress,
  'nest-fastify': async () => (await import('./apps/nest.js')).startNestFastify,
  hono: async () => (await import('./apps/hono.js')).startHono,
  koa: async () => (await import('./apps/koa.js')).startKoa,
};

async function main(): Promise<void> {
  const [framework, variant, prefix] = process.argv.slice(2) as [string, Variant, string?];
  const load = STARTERS[framework];
  if (!load) throw new Error(`unknown framework ${framework}`);
  const url = process.env[REDIS_URL_VARIABLE];
  const port = await (await load())(variant, url && prefix ? { url, prefix } : undefined);
  process.send?.({ port });
  // The parent's death must not leave a server behind.
  process.on('disconnect', () => process.exit(0));
}

if (process.send) {
  main().catch((error: unknown) => {
    process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  });
}
