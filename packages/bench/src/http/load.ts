import autocannon from 'autocannon';

/** The load every server gets; only the server changes between runs. */
export interface LoadSettings {
  connections: number;
  pipelining: number;
}

/** Requests per second over one run, plus anything that makes the number meaningless. */
export interface LoadResult {
  rps: number;
  /** Responses other than 2xx: a limiter that refused, or a broken app. */
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Runs autocannon against `url` for `ms` milliseconds. */
export async function load(url: string, settings: LoadSettings, ms: number): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: settings.connections,
    pipelining: settings.pipelining,
    duration: ms / 1000,
  });
  return {
    rps: result.requests.total / result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
