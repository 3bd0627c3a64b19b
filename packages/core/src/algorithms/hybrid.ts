import { InvalidOptionError } from '../errors.js';
import type { Algorithm, AlgorithmStep } from './types.js';

/**
 * Hybrid: several algorithms that must all agree. A request is allowed only if every member allows it,
 * and then every member is charged; if one refuses, none is charged. Members run atomically in one
 * backend call. Example: `hybrid(tokenBucket('10/s'), fixedWindow('1000/hour'))`.
 */
export function hybrid(...algorithms: Algorithm[]): Algorithm {
  if (algorithms.length === 0) throw new InvalidOptionError('hybrid', algorithms, 'at least one algorithm');
  const members: AlgorithmStep[] = [];
  algorithms.forEach((a, i) => {
    if (!a || typeof a !== 'object' || !Array.isArray(a.members)) {
      throw new InvalidOptionError(`hybrid[${i}]`, a, 'an algorithm such as tokenBucket("10/s")');
    }
    members.push(...a.members);
  });
  return Object.freeze({ name: 'hybrid', members: Object.freeze(members) });
}
