import { FRAMEWORKS } from './http/frameworks.js';

/** A part of the bench that `--only` can select. */
export type Part = 'core' | 'http' | 'http-redis' | 'faults';

/** Every part, in the order a run measures them. */
export const PARTS: readonly Part[] = ['core', 'http', 'http-redis', 'faults'];

/** What one `pnpm bench` run should do, from its command line. */
export interface BenchArgs {
  /**
   * The parts to run (default: all): core (Part A), http (Part B, memory stores), http-redis (Part B on
   * Redis), faults (latency while Redis is killed or paused).
   */
  parts: readonly Part[];
  /** Short rounds for a smoke run. */
  quick: boolean;
  /** Part B frameworks to run, by id (e.g. "fastify", "nest-express"); undefined runs them all. */
  frameworks: string[] | undefined;
  /** Part B also measures the floors: a no-op middleware, ours without headers, ours with all five. */
  floors: boolean;
}

const USAGE =
  'usage: pnpm bench [--only <part>[,<part>...]] [--quick] [--floors] [--framework <id>[,<id>...]]\n' +
  '  parts: core, http (limiters on memory stores), http-redis (limiters on Redis),\n' +
  '         faults (latency while redis-server is killed or paused); default: all\n' +
  `  frameworks: ${FRAMEWORKS.map((f) => f.id).join(', ')}`;

// `--name value` or `--name=value`; advances past a separate value.
function flagValue(argv: readonly string[], i: number, name: string): [string | undefined, number] {
  return argv[i] === name ? [argv[i + 1], i + 1] : [argv[i]!.slice(name.length + 1), i];
}

/** Splits `flag`'s comma-separated list of `noun`s and checks every item against `known`. */
function listOf(value: string | undefined, known: readonly string[], flag: string, noun: string): string[] {
  const items = (value ?? '').split(',').filter(Boolean);
  if (items.length === 0) throw new Error(`${flag} takes one or more of ${known.join(', ')}\n${USAGE}`);
  for (const item of items) {
    if (!known.includes(item)) {
      throw new Error(`unknown ${noun} ${item} (known: ${known.join(', ')})\n${USAGE}`);
    }
  }
  return items;
}

/**
 * Parses `--only <parts>`, `--quick`, `--floors` and `--framework <ids>` (lists repeatable or
 * comma-separated, checked against the known parts and frameworks); anything else is a usage error, so
 * typos never run silently.
 */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let parts: Part[] | undefined;
  const args: BenchArgs = { parts: PARTS, quick: false, frameworks: undefined, floors: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a === '--quick') args.quick = true;
    else if (a === '--floors') args.floors = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const [value, next] = flagValue(argv, i, '--only');
      i = next;
      parts = [...(parts ?? []), ...(listOf(value, PARTS, '--only', 'part') as Part[])];
    } else if (a === '--framework' || a.startsWith('--framework=')) {
      const [value, next] = flagValue(argv, i, '--framework');
      i = next;
      const ids = listOf(
        value,
        FRAMEWORKS.map((f) => f.id),
        '--framework',
        'framework',
      );
      args.frameworks = [...(args.frameworks ?? []), ...ids];
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  // In run order whatever order they were named in, each once.
  if (parts) args.parts = PARTS.filter((p) => parts!.includes(p));
  return args;
}
