import { type SendOptions, sendMany } from './http-client.js';

/** Status codes of `n` requests to `url`, sent one after another so the counts are exact. */
export async function statuses(url: string, n: number, init: SendOptions = {}): Promise<number[]> {
  return (await sendMany(url, '', n, init)).map((reply) => reply.status);
}

/** `n` copies of `status`: the expected answer of a run that should all be alike. */
export function times(n: number, status: number): number[] {
  return Array<number>(n).fill(status);
}
