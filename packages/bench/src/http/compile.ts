import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

/** Where the compiled server and its chunks go (git-ignored). */
const OUT_DIR = new URL('../../.servers/', import.meta.url);

// This package's own dependencies (the frameworks, the peers, ioredis) stay imports, resolved from its
// node_modules at run time; distlimiter's packages are compiled in, along with what only they depend on.
function externals(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const names = Object.keys(manifest.dependencies).filter((name) => !name.startsWith('@distlimiter/'));
  return names.flatMap((name) => [name, `${name}/*`]);
}

/**
 * Compiles the hello-world server (src/http/server.ts, every app, and distlimiter's packages from their
 * TypeScript sources) to plain ESM, as `tsup` builds the published packages, and returns its path.
 * Servers then run on plain `node`: no TypeScript loader thread beside them, and no helper code the loader
 * adds (esbuild's keepNames wraps every function created at run time in a call), so what is measured
 * is what users run. Frameworks and peers stay external, loaded from node_modules as they are.
 */
export async function compileServer(): Promise<string> {
  const outdir = OUT_DIR.pathname;
  await build({
    entryPoints: { server: new URL('./server.ts', import.meta.url).pathname },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: ['source'],
    external: externals(),
    logLevel: 'warning',
  });
  return `${outdir}server.js`;
}
