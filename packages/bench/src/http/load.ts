import { execFile, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';
import { BENCH_API_KEY } from './apps/types.js';

/** The load every server gets; only the server changes between runs. */
export interface LoadSettings {
  connections: number;
}

/** Requests per second over one run, plus anything that makes the number meaningless. */
export interface LoadResult {
  rps: number;
  /** Responses counted over the run. */
  requests: number;
  /** Responses other than 2xx: a limiter that refused, or a broken app. */
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** A tool that loads one URL for a while and counts what came back. */
export interface LoadGenerator {
  /** How the report names it, version included. */
  name: string;
  /** Whether several runs at once each get their own process (wrk), so they can load servers side by side. */
  concurrent: boolean;
  /** Loads `url` for `seconds` (whole seconds: wrk counts no finer), on `cpus` (taskset list) if given. */
  run(url: string, settings: LoadSettings, seconds: number, cpus?: string): Promise<LoadResult>;
}

/**
 * wrk: written in C, it spends a fraction of a core on what costs autocannon a whole one, so on a
 * 2-core machine the server, not the client, sets the pace. With autocannon the client saturated first
 * and every extra response header slowed the *client*'s parser, which the ratios then blamed on the app.
 */
function wrk(version: string): LoadGenerator {
  return {
    name: `wrk ${version}`,
    concurrent: true,
    run: (url, settings, seconds, cpus) =>
      new Promise((resolve, reject) => {
        const wrkArgs = [
          '-t1',
          `-c${settings.connections}`,
          `-d${seconds}s`,
          '--timeout',
          '10s',
          '-H',
          `x-api-key: ${BENCH_API_KEY}`,
          url,
        ];
        const [command, args] = cpus ? ['taskset', ['-c', cpus, 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
        execFile(command, args as string[], (error, stdout) => {
          if (error) return reject(new Error(`wrk ${args.join(' ')} failed: ${error.message}`));
          resolve(parseWrk(stdout));
        });
      }),
  };
}

/** Reads wrk's summary: `Requests/sec`, `Non-2xx or 3xx responses`, `Socket errors`. */
export function parseWrk(out: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    requests,
    non2xx,
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
  };
}

const AUTOCANNON: LoadGenerator = {
  name: 'autocannon (wrk not found: the client, not the app, may set the pace)',
  // One event loop drives every autocannon run, so side-by-side runs would share one client.
  concurrent: false,
  async run(url, settings, seconds) {
    const result = await autocannon({
      url,
      connections: settings.connections,
      duration: seconds,
      headers: { 'x-api-key': BENCH_API_KEY },
    });
    return {
      rps: result.requests.total / result.duration,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
  },
};

/**
 * wrk when it is on PATH (`apt-get install wrk`), else autocannon; `BENCH_LOAD=autocannon` forces the
 * latter, for comparison.
 */
export function pickLoadGenerator(): LoadGenerator {
  if (process.env.BENCH_LOAD === 'autocannon') return AUTOCANNON;
  // `wrk -v` prints its banner and exits non-zero; only a missing binary counts as absent.
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    if (process.env.BENCH_LOAD === 'wrk') throw new Error('BENCH_LOAD=wrk but wrk is not on PATH');
    return AUTOCANNON;
  }
  const version = /wrk\s+(\S+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? '';
  return wrk(version);
}
