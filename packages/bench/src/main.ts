// `pnpm bench`: distlimiter side by side with its peers, in one run, on one machine.
import { mkdirSync, writeFileSync } from 'node:fs';
// By path: @distlimiter/testkit is not (yet) a dependency of this package.
import { startRedis } from '../../testkit/src/index.js';
import { parseArgs } from './args.js';
import { type CoreResults, FULL_CORE, QUICK_CORE, runCore } from './core/run.js';
import { redisVersion } from './core/redis.js';
import { FULL_HTTP, type HttpResults, QUICK_HTTP, runHttp } from './http/run.js';
import { describeMachine, machineLine } from './machine.js';
import { type Bar, barsText, coreBars, coreMarkdown, httpBars, httpMarkdown, preamble } from './report.js';

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const flags = [
    args.only ? `--only ${args.only}` : '',
    args.quick ? '--quick' : '',
    args.floors ? '--floors' : '',
  ].filter(Boolean);
  const command = ['pnpm bench', ...flags].join(' ');
  const started = Date.now();
  let core: CoreResults | undefined;
  let http: HttpResults | undefined;

  if (args.only !== 'http') {
    // A server of our own unless told otherwise, so the bench needs nothing but redis-server on PATH.
    const own = process.env.REDIS_URL ? undefined : await startRedis();
    const url = process.env.REDIS_URL ?? own!.url;
    try {
      machine.redis = await redisVersion(url);
      log(`redis: ${own ? `started ${url}` : 'REDIS_URL'} (redis ${machine.redis})`);
      core = await runCore(args.quick ? QUICK_CORE : FULL_CORE, url, log);
    } finally {
      await own?.stop();
    }
  }
  if (args.only !== 'core') {
    http = await runHttp({ ...(args.quick ? QUICK_HTTP : FULL_HTTP), floors: args.floors }, log);
  }

  const bars: Bar[] = [];
  const sections = [preamble(machine, command)];
  if (core) {
    sections.push(coreMarkdown(core));
    bars.push(...coreBars(core));
  }
  if (http) {
    sections.push(httpMarkdown(http));
    bars.push(...httpBars(http));
  }
  sections.push(`### Bars\n\n${barsText(bars)}`);
  process.stdout.write(`\n${sections.join('\n\n')}\n\n`);

  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL('latest.json', dir);
  const json = {
    date: new Date().toISOString(),
    command,
    machine,
    machineLine: machineLine(machine),
    seconds: Math.round((Date.now() - started) / 1000),
    core,
    http,
    bars,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${file.pathname} (${json.seconds} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
