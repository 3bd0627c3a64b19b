/** What one `pnpm bench` run should do, from its command line. */
export interface BenchArgs {
  /** Run only this part (default: both). */
  only: 'core' | 'http' | undefined;
  /** Short rounds for a smoke run. */
  quick: boolean;
}

const USAGE = 'usage: pnpm bench [--only core|http] [--quick]';

/** Parses `--only core|http` and `--quick`; anything else is a usage error, so typos never run silently. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: undefined, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a === '--quick') args.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (value !== 'core' && value !== 'http') throw new Error(`--only takes core or http\n${USAGE}`);
      args.only = value;
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return args;
}
