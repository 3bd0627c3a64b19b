import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, USAGE } from '../src/cli/run-cli.js';
import { EXPECTED_RATE } from '../src/errors.js';
import { issueDocument } from './support/config-document.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bad = issueDocument();
bad.tiers.free.rate = '10/minnute';
bad.defaultTier = 'anonymus';
writeFileSync(path.join(dir, 'good.json'), JSON.stringify(issueDocument(), null, 2));
writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad, null, 2));
writeFileSync(path.join(dir, 'broken.json'), '{\n  "version": 1\n  "tiers": {}\n}\n');

const BAD_OUTPUT =
  'bad.json: 2 problems\n' +
  `  tiers.free.rate: "10/minnute" is not ${EXPECTED_RATE}\n` +
  '  defaultTier: "anonymus" is not a tier of this document (did you mean "anonymous"?); tiers: anonymous, free, pro, enterprise\n';

/** Runs the command line in the temporary directory; returns its exit code and what it wrote. */
async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd: dir,
  });
  return { code, stdout, stderr };
}

describe('distlimiter validate', () => {
  it('prints one line and exits 0 for a valid file', async () => {
    expect(await cli('validate', 'good.json')).toEqual({
      code: 0,
      stdout: 'good.json: valid (4 tiers, 2 rules, 2 keys)\n',
      stderr: '',
    });
  });

  it('prints every problem and exits 1 for an invalid file', async () => {
    expect(await cli('validate', 'bad.json')).toEqual({ code: 1, stdout: BAD_OUTPUT, stderr: '' });
  });

  it('checks every file it is given, and exits 1 when any is invalid', async () => {
    const { code, stdout } = await cli('validate', 'good.json', 'bad.json', 'broken.json', 'missing.json');
    expect(code).toBe(1);
    expect(stdout).toBe(
      'good.json: valid (4 tiers, 2 rules, 2 keys)\n' +
        BAD_OUTPUT +
        'broken.json: 1 problem\n' +
        '  line 3, column 3: not valid JSON: expected "," or "}" after the property value, found "\\""\n' +
        'missing.json: 1 problem\n' +
        `  cannot be read: ENOENT: no such file or directory, open '${path.join(dir, 'missing.json')}'\n`,
    );
  });

  it('takes a file whose name starts with "-" after "--"', async () => {
    writeFileSync(path.join(dir, '-dash.json'), JSON.stringify(issueDocument()));
    expect((await cli('validate', '--', '-dash.json')).code).toBe(0);
  });

  it('prints its usage for --help and -h, and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['validate', '--help'], ['validate', 'good.json', '-h']]) {
      expect(await cli(...argv)).toEqual({ code: 0, stdout: USAGE, stderr: '' });
    }
    expect(USAGE).toMatch(/^Usage: distlimiter validate <file>\.\.\./);
  });

  it('exits 2 with a hint on wrong usage', async () => {
    const hint = 'Run "distlimiter --help" for usage.\n';
    expect(await cli()).toEqual({ code: 2, stdout: '', stderr: `distlimiter: no command given\n${hint}` });
    expect(await cli('valdate', 'good.json')).toEqual({
      code: 2,
      stdout: '',
      stderr: `distlimiter: unknown command "valdate" (did you mean "validate"?)\n${hint}`,
    });
    expect(await cli('validate')).toEqual({
      code: 2,
      stdout: '',
      stderr: `distlimiter: validate needs at least one file, e.g. distlimiter validate distlimiter.json\n${hint}`,
    });
    expect(await cli('validate', '--strict', 'good.json')).toEqual({
      code: 2,
      stdout: '',
      stderr: `distlimiter: unknown option "--strict"\n${hint}`,
    });
  });

  it('sets the exit code of the real bin (src/cli.ts)', async () => {
    const run = promisify(execFile);
    const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const bin = (...argv: string[]) =>
      run(process.execPath, ['--import', tsx, path.join(packageRoot, 'src/cli.ts'), ...argv], {
        cwd: dir,
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    expect(await bin('validate', 'good.json')).toEqual({
      code: 0,
      stdout: 'good.json: valid (4 tiers, 2 rules, 2 keys)\n',
    });
    expect(await bin('validate', 'bad.json')).toEqual({ code: 1, stdout: BAD_OUTPUT });
    expect((await bin('nonsense')).code).toBe(2);
  });
});
