import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries give dist/index.*, dist/http.* and dist/admin.*, the files package.json's exports point at, and
  // dist/cli.js, the `distlimiter` bin (its "#!" line is kept, and tsup makes the file executable).
  entry: { index: 'src/index.ts', http: 'src/http/index.ts', admin: 'src/admin/index.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  // The entries share one copy of each class, in the CommonJS build too, so instanceof holds across them.
  splitting: true,
  // The CommonJS build needs import.meta.url to load ioredis lazily (src/backends/ioredis.ts).
  shims: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
