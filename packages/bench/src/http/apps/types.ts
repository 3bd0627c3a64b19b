/** Which build of a hello-world app to serve. */
export type Variant = 'bare' | 'ours' | 'peer';

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
