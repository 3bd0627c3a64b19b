import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadIoredis } from '../src/backends/ioredis.js';
import { MissingDependencyError } from '../src/errors.js';
import { REPO_ROOT } from './support/spawn.js';

const notFound = (id: string) =>
  Object.assign(new Error(`Cannot find module '${id}'\nRequire stack:\n- /app/index.js`), {
    code: 'MODULE_NOT_FOUND',
  });

describe('loadIoredis', () => {
  it('loads the installed ioredis', () => {
    expect(loadIoredis().Redis).toBe(Redis);
  });

  it('names the fix when ioredis is not installed', () => {
    const missing = notFound('ioredis');
    let caught: unknown;
    try {
      loadIoredis(() => {
        throw missing;
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingDependencyError);
    expect(caught).toMatchObject({
      code: 'ERR_DL_MISSING_DEPENDENCY',
      dependency: 'ioredis',
      cause: missing,
    });
    expect((caught as Error).message).toBe(
      'RedisBackend needs the "ioredis" package, which is not installed: run `npm install ioredis` ' +
        '(it is an optional peer dependency of @distlimiter/core).',
    );
  });

  it('keeps the original error when ioredis is installed but broken', () => {
    const broken = notFound('denque');
    expect(() =>
      loadIoredis(() => {
        throw broken;
      }),
    ).toThrow(broken);
  });
});

describe('@distlimiter/core without ioredis installed', () => {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-core-alone-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('imports and runs on memory, and RedisBackend throws MissingDependencyError', async () => {
    // A copy outside the repository has no node_modules above it, so nothing can resolve ioredis.
    cpSync(path.join(REPO_ROOT, 'packages/core/src'), path.join(copy, 'src'), { recursive: true });
    writeFileSync(path.join(copy, 'package.json'), '{ "type": "module" }');
    // Core's own dependencies (zod) are linked in, as an install would put them; ioredis, a peer, is not.
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/core/package.json'), 'utf8'));
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      const link = path.join(copy, 'node_modules', dependency);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(realpathSync(path.join(REPO_ROOT, 'packages/core/node_modules', dependency)), link, 'dir');
    }
    const script = path.join(REPO_ROOT, 'packages/core/test/support/without-ioredis.ts');
    const entry = pathToFileURL(path.join(copy, 'src/index.ts')).href;
    const { NODE_PATH: _, ...env } = process.env;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, entry], {
      cwd: REPO_ROOT,
      env,
    });
    const { memory, error } = JSON.parse(stdout);
    expect(memory).toBe(true);
    expect(error).toMatchObject({
      name: 'MissingDependencyError',
      code: 'ERR_DL_MISSING_DEPENDENCY',
      dependency: 'ioredis',
      typed: true,
    });
    expect(error.message).toContain('npm install ioredis');
  });
});
