import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** Where compiled entries and their chunks go (git-ignored), one folder per entry. */
const OUT_DIR = new URL('../.servers/', import.meta.url);

// This package's own dependencies (the frameworks, the peers, ioredis) stay imports, resolved from its
// node_modules at run time; distlimiter's packages are compiled in, along with what only they depend on.
function externals(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const names = Object.keys(manifest.dependencies).filter((name) => !name.startsWith('@distlimiter/'));
  return names.flatMap((name) => [name, `${name}/*`]);
}

// One build per entry and run, shared by every caller.
const built = new Map<string, Promise<string>>();

/**
 * Compiles a TypeScript entry of the bench (with distlimiter's packages from their TypeScript sources) to
 * plain ESM, as `tsup` builds the published packages, and returns the compiled file's path. What it
 * measures then runs on plain `node`: no TypeScript loader thread beside it, and no helper code the loader
 * adds (esbuild's keepNames wraps every function created at run time in a `__name` call, closures made per
 * decision included), so what is measured is what users run. Frameworks and peers stay external, loaded
 * from node_modules as they are.
 */
export function compileEntry(entry: URL): Promise<string> {
  const name = path.basename(entry.pathname, '.ts');
  let out = built.get(entry.pathname);
  if (out === undefined) {
    const outdir = new URL(`${name}/`, OUT_DIR).pathname;
    out = build({
      entryPoints: { [name]: entry.pathname },
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      conditions: ['source'],
      external: externals(),
      logLevel: 'warning',
    }).then(() => `${outdir}${name}.js`);
    built.set(entry.pathname, out);
  }
  return out;
}

/** Compiles the hello-world server (src/http/server.ts, every app) with compileEntry. */
export function compileServer(): Promise<string> {
  return compileEntry(new URL('./http/server.ts', import.meta.url));
}
