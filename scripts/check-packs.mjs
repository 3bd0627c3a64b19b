// Packs the six public packages as `pnpm publish` would and checks what a user would install: the
// manifest after publishConfig, the files shipped, and core's two entry points in both module systems
// with ioredis absent. Needs `turbo run build` first; `pnpm test` runs it last.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PUBLIC = ['core', 'express', 'fastify', 'nest', 'hono', 'koa'];
// The entry points beside the root: each must ship its ESM and CommonJS builds with their types.
const CORE_HTTP = ['http', 'admin'].flatMap((e) =>
  ['js', 'cjs', 'd.ts', 'd.cts'].map((x) => `dist/${e}.${x}`),
);

const problems = [];
const expect = (ok, message) => ok || problems.push(message);

/** Every string leaf of an exports map, with the chain of conditions that leads to it. */
function* leaves(value, trail = []) {
  if (typeof value === 'string') yield { trail, target: value };
  else for (const [key, inner] of Object.entries(value ?? {})) yield* leaves(inner, [...trail, key]);
}

async function packOne(name, out) {
  const dir = path.join(ROOT, 'packages', name);
  const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', out], { cwd: dir });
  const tarball = JSON.parse(stdout).filename;
  const into = path.join(out, name);
  mkdirSync(into);
  await run('tar', ['-xzf', tarball, '-C', into]);
  return path.join(into, 'package');
}

function checkManifest(name, dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const id = manifest.name;
  for (const { trail, target } of leaves(manifest.exports)) {
    expect(!trail.includes('source'), `${id}: exports still has a "source" condition (${trail.join(' > ')})`);
    expect(
      existsSync(path.join(dir, target)),
      `${id}: exports points at ${target}, which is not in the tarball`,
    );
  }
  for (const field of ['main', 'module', 'types']) {
    expect(existsSync(path.join(dir, manifest[field] ?? '-')), `${id}: ${field} is missing from the tarball`);
  }
  expect(!existsSync(path.join(dir, 'src')), `${id}: ships src/`);
  expect(manifest.repository?.directory === `packages/${name}`, `${id}: repository.directory is not set`);
  expect(manifest.homepage && manifest.bugs?.url, `${id}: homepage or bugs is missing`);
  const ranges = JSON.stringify([manifest.dependencies, manifest.peerDependencies]);
  expect(!ranges.includes('workspace:'), `${id}: a workspace: range would be published`);
}

// A directory outside the repository resolves nothing from the workspace, ioredis included; core's own
// dependencies (zod) are linked in, as an install would put them.
async function checkCoreAlone(dir, out) {
  const app = path.join(out, 'app');
  mkdirSync(path.join(app, 'node_modules', '@distlimiter'), { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    const installed = realpathSync(path.join(ROOT, 'packages', 'core', 'node_modules', dependency));
    mkdirSync(path.dirname(path.join(app, 'node_modules', dependency)), { recursive: true });
    symlinkSync(installed, path.join(app, 'node_modules', dependency), 'dir');
  }
  renameSync(dir, path.join(app, 'node_modules', '@distlimiter', 'core'));
  for (const file of CORE_HTTP) {
    expect(
      existsSync(path.join(app, 'node_modules/@distlimiter/core', file)),
      `@distlimiter/core: no ${file}`,
    );
  }
  const probe = `
    const missing = () => { try { new core.RedisBackend({ client: 'redis://127.0.0.1:1' }); } catch (e) { return e.code; } };
    const limiter = new core.RateLimiter({ algorithm: core.fixedWindow('1/minute'), backend: new core.MemoryBackend() });
    Promise.resolve(limiter.limit('k')).then((d) =>
      console.log(JSON.stringify([d.allowed, typeof http.HttpLimiter, typeof admin.createAdminHandler, missing()])));`;
  const esm = `import * as core from '@distlimiter/core'; import * as http from '@distlimiter/core/http'; import * as admin from '@distlimiter/core/admin'; ${probe}`;
  const cjs = `const core = require('@distlimiter/core'); const http = require('@distlimiter/core/http'); const admin = require('@distlimiter/core/admin'); ${probe}`;
  for (const [kind, args] of [
    ['ESM', ['--input-type=module', '-e', esm]],
    ['CommonJS', ['--input-type=commonjs', '-e', cjs]],
  ]) {
    const { stdout } = await run(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH } });
    const seen = stdout.trim();
    const want = JSON.stringify([true, 'function', 'function', 'ERR_DL_MISSING_DEPENDENCY']);
    expect(seen === want, `@distlimiter/core (${kind}, no ioredis): got ${seen}, expected ${want}`);
  }
  await checkBin(app, manifest);
}

// `npx distlimiter validate <file>` in a project that installed core: exit 0 for a valid file, 1 otherwise.
async function checkBin(app, manifest) {
  const bin = path.join(app, 'node_modules/@distlimiter/core', manifest.bin?.distlimiter ?? '-');
  expect(existsSync(bin), '@distlimiter/core: the distlimiter bin is not in the tarball');
  if (!existsSync(bin)) return;
  expect(
    readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node'),
    '@distlimiter/core: the bin has no #! line',
  );
  expect(
    existsSync(path.join(app, 'node_modules/@distlimiter/core/schema/distlimiter.schema.json')),
    '@distlimiter/core: schema/distlimiter.schema.json is not in the tarball',
  );
  const files = {
    'good.json': { version: 1, defaultTier: 'free', tiers: { free: { rate: '10/minute' } } },
    'bad.json': { version: 1, defaultTier: 'gold', tiers: { free: { rate: '10/minnute' } } },
  };
  for (const [name, doc] of Object.entries(files)) writeFileSync(path.join(app, name), JSON.stringify(doc));
  for (const [name, want] of [
    ['good.json', 0],
    ['bad.json', 1],
  ]) {
    const code = await run(process.execPath, [bin, 'validate', name], { cwd: app }).then(
      () => 0,
      (error) => error.code,
    );
    expect(code === want, `@distlimiter/core: distlimiter validate ${name} exited ${code}, expected ${want}`);
  }
}

const out = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-packs-'));
try {
  const dirs = await Promise.all(PUBLIC.map((name) => packOne(name, out)));
  for (const [i, name] of PUBLIC.entries()) checkManifest(name, dirs[i]);
  await checkCoreAlone(dirs[0], out);
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (problems.length) {
  console.error(`Pack check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `Pack check: ${PUBLIC.length} packages pack cleanly; core loads from its tarball without ioredis, and its distlimiter bin validates.`,
);
