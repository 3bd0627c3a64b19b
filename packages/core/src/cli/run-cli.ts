import { didYouMean } from '../policy/config/messages.js';
import { type CliIo, validateCommand } from './validate-command.js';

/** The text `distlimiter --help` prints. */
export const USAGE = `Usage: distlimiter validate <file>...

Checks distlimiter configuration files (JSON): prints every problem with its path and exits 1,
or prints one line per valid file and exits 0.

Commands:
  validate <file>...   check configuration files

Options:
  -h, --help           show this help

Exit codes: 0 valid, 1 problems found, 2 wrong usage.
`;

const COMMANDS = ['validate'];

/** Runs the `distlimiter` command line (argv without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const endOfOptions = argv.indexOf('--');
  const options = endOfOptions === -1 ? argv : argv.slice(0, endOfOptions);
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout.write(USAGE);
    return 0;
  }
  const unknown = options.find((a) => a.startsWith('-') && a !== '-' && a !== '--');
  if (unknown !== undefined) return usageError(io, `unknown option "${unknown}"`);
  const args = argv.filter((_, i) => i !== endOfOptions);
  const [command, ...files] = args;
  if (command === undefined) return usageError(io, 'no command given');
  if (command !== 'validate') {
    return usageError(io, `unknown command "${command}"${didYouMean(command, COMMANDS)}`);
  }
  if (files.length === 0)
    return usageError(io, 'validate needs at least one file, e.g. distlimiter validate distlimiter.json');
  return validateCommand(files, io);
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`distlimiter: ${message}\nRun "distlimiter --help" for usage.\n`);
  return 2;
}
