import path from 'node:path';
import { formatProblem } from '../errors.js';
import { checkConfigFile } from '../policy/config/load-file.js';

/** Where a CLI command writes, and the directory its file arguments are relative to. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Relative file names are read from here (default: the process's working directory). */
  readonly cwd?: string;
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * `distlimiter validate <file>...`: prints one line per valid file, and every problem of an invalid one
 * (`path: message`, one a line). Resolves to the exit code: 0 when every file is valid, else 1.
 */
export async function validateCommand(files: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  for (const file of files) {
    const result = await checkConfigFile(path.resolve(io.cwd ?? process.cwd(), file));
    if (result.ok) {
      const { tiers, rules, keys } = result.config;
      const summary = [
        count(Object.keys(tiers).length, 'tier'),
        count(rules.length, 'rule'),
        count(Object.keys(keys).length, 'key'),
      ];
      io.stdout.write(`${file}: valid (${summary.join(', ')})\n`);
    } else {
      code = 1;
      const lines = result.problems.map((p) => `  ${formatProblem(p)}\n`).join('');
      io.stdout.write(`${file}: ${count(result.problems.length, 'problem')}\n${lines}`);
    }
  }
  return code;
}
