import { expect } from 'vitest';
import { InvalidOptionError } from '../../src/index.js';

/** Runs `fn`, asserts it throws an InvalidOptionError, and returns that error for further checks. */
export function thrown(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}
