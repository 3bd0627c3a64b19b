import { InvalidOptionError } from '../errors.js';
import { plainObject } from './validate.js';

/**
 * Checks that `input` is an options object holding only `known` keys, and returns it. An unknown key throws
 * InvalidOptionError naming it, with the nearest known name ("did you mean") and the whole list, because a
 * misspelt option silently ignored is a limit silently not applied.
 */
export function knownKeys(
  input: unknown,
  known: readonly string[],
  field: string,
  path = '',
): Record<string, unknown> {
  const o = plainObject(input, field);
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new InvalidOptionError(
      `${path}${key}`,
      o[key],
      `no such option${near ? ` (did you mean "${near}"?)` : ''}; known options: ${known.join(', ')}`,
    );
  }
  return o;
}

/** The known name nearest to a typo (edit distance at most 2, or a case-only difference), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The list of an options interface's keys, checked against it: `keysOf<Options>()([...])` fails to compile
 * when the list misses a key of the interface, so validation and the type can never drift apart.
 */
export function keysOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K &
      ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> }),
  ): readonly (keyof T & string)[] => Object.freeze([...keys]);
}
