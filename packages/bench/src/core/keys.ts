/** The rotating set of client keys every throughput measurement cycles through, on both sides. */
export function makeKeys(count: number, tag = 'user'): string[] {
  return Array.from({ length: count }, (_, i) => `${tag}-${i}`);
}
