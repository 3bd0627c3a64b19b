// `pnpm bench`: distlimiter side by side with its peers, in one run, on one machine.
import { mkdirSync, writeFileSync } from 'node:fs';
// By path: @distlimiter/testkit is not (yet) a dependency of this package.
import { startRedis } from '../../testkit/src/index.js';
import { type Part, PARTS, parseArgs } from './args.js';
import { type CoreResults, FULL_CORE, QUICK_CORE, runCore } from './core/run.js';
import { FULL_FAULTS, type FaultsResults, QUICK_FAULTS, runFaults } from './faults/run.js';
import { redisVersion } from './core/redis.js';
import { type HttpRedis, redisPid } from './http/redis.js';
import { FULL_HTTP, type HttpResults, QUICK_HTTP, runHttp } from './http/run.js';
import { describeMachine, machineLine } from './machine.js';
import {
  type Bar,
  barsText,
  coreBars,
  coreMarkdown,
  httpBars,
  httpMarkdown,
  faultsMarkdown,
  httpRedisBars,
  httpRedisMarkdown,
  preamble,
} from './report.js';

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const runs = (part: Part) => args.parts.includes(part);
  const flags = [
    args.parts.length < PARTS.length ? `--only ${args.parts.join(',')}` : '',
    args.quick ? '--quick' : '',
    args.floors ? '--floors' : '',
    args.frameworks ? `--framework ${args.frameworks.join(',')}` : '',
  ].filter(Boolean);
  const command = ['pnpm bench', ...flags].join(' ');
  const started = Date.now();
  const httpPlan = args.quick ? QUICK_HTTP : FULL_HTTP;
  let core: CoreResults | undefined;
  let http: HttpResults | undefined;
  let httpRedis: HttpResults | undefined;
  let faults: FaultsResults | undefined;

  // A server of our own for each part that needs one (none runs beside the memory rows), unless told
  // otherwise, so the bench needs nothing but redis-server on PATH.
  const withRedis = async <T>(work: (redis: HttpRedis) => Promise<T>): Promise<T> => {
    const own = process.env.REDIS_URL ? undefined : await startRedis();
    const url = process.env.REDIS_URL ?? own!.url;
    try {
      machine.redis = await redisVersion(url);
      log(`redis: ${own ? `started ${url}` : 'REDIS_URL'} (redis ${machine.redis})`);
      return await work({ url, ...(own ? { pid: await redisPid(url) } : {}) });
    } finally {
      await own?.stop();
    }
  };

  if (runs('core')) {
    core = await withRedis(({ url }) => runCore(args.quick ? QUICK_CORE : FULL_CORE, url, log));
  }
  if (runs('http')) http = await runHttp({ ...httpPlan, floors: args.floors }, log);
  if (runs('http-redis')) {
    httpRedis = await withRedis((redis) => runHttp({ ...httpPlan, store: 'redis' }, log, redis));
  }
  // Always on servers of its own, REDIS_URL or not: it kills and pauses them.
  if (runs('faults')) {
    if (process.env.REDIS_URL) log('faults: REDIS_URL ignored; this part starts (and kills) its own servers');
    faults = await runFaults(args.quick ? QUICK_FAULTS : FULL_FAULTS, log);
    machine.redis ??= faults.redis;
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
  if (httpRedis) {
    sections.push(httpRedisMarkdown(httpRedis));
    bars.push(...httpRedisBars(httpRedis, http));
  }
  // Figures, not bars: latency under faults is reported, never asserted.
  if (faults) sections.push(faultsMarkdown(faults));
  if (bars.length) sections.push(`### Bars\n\n${barsText(bars)}`);
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
    httpRedis,
    faults,
    bars,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${file.pathname} (${json.seconds} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
