/**
 * Which build of a hello-world app to serve. `twin` is the bare app again, in processes of its own: its ratio
 * to the bare app shows how far two identical servers drift apart in one run, the noise floor of the others.
 */
export type Variant = 'bare' | 'ours' | 'peer' | 'twin' | 'noop' | 'quiet';

/**
 * The floors `--floors` adds: `noop` is the app with a middleware (hook, guard) that does nothing, the least
 * any limiter costs; `quiet` is ours with `headers: false`, deciding without sending a header.
 */
export const FLOOR_VARIANTS: readonly Variant[] = ['noop', 'quiet'];

/** Starts one framework's app in the given variant on 127.0.0.1 and resolves with its port. */
export type StartApp = (variant: Variant) => Promise<number>;

/** The rate every limiter gets: far above what a few seconds of load can reach, so nothing is refused. */
export const OUR_RATE = '100000000/hour';
/** The peers' equally unreachable limit per hour. */
export const PEER_LIMIT = 1e9;
/** The peers' window. */
export const HOUR_MS = 3_600_000;
/** What every app answers. */
export const HELLO = 'hello world';
