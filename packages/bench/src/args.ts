import { FRAMEWORKS } from './http/frameworks.js';

/** What one `pnpm bench` run should do, from its command line. */
export interface BenchArgs {
  /** Run only this part (default: both). */
  only: 'core' | 'http' | undefined;
  /** Short rounds for a smoke run. */
  quick: boolean;
  /** Part B frameworks to run, by id (e.g. "fastify", "nest-express"); undefined runs them all. */
  frameworks: string[] | undefined;
  /** Part B also measures the floors: a no-op middleware, and ours without headers. */
  floors: boolean;
}

const USAGE = 'usage: pnpm bench [--only core|http] [--quick] [--floors] [--framework <id>[,<id>...]]';

/**
 * Parses `--only core|http`, `--quick`, `--floors` and `--framework <ids>` (repeatable or comma-separated, checked
 * against the known frameworks); anything else is a usage error, so typos never run silently.
 */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const knownFrameworks = FRAMEWORKS.map((f) => f.id);
  const args: BenchArgs = { only: undefined, quick: false, frameworks: undefined, floors: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a === '--quick') args.quick = true;
    else if (a === '--floors') args.floors = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (value !== 'core' && value !== 'http') throw new Error(`--only takes core or http\n${USAGE}`);
      args.only = value;
    } else if (a === '--framework' || a.startsWith('--framework=')) {
      const value = a === '--framework' ? argv[++i] : a.slice('--framework='.length);
      const ids = (value ?? '').split(',').filter(Boolean);
      if (ids.length === 0) throw new Error(`--framework takes a framework id\n${USAGE}`);
      for (const id of ids) {
        if (!knownFrameworks.includes(id)) {
          throw new Error(`unknown framework ${id} (known: ${knownFrameworks.join(', ')})\n${USAGE}`);
        }
      }
      args.frameworks = [...(args.frameworks ?? []), ...ids];
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return args;
}
