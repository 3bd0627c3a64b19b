import { DistLimiterError } from '../../errors.js';

/**
 * A publish with `ifVersion` found another configuration version in force (someone changed it since the
 * caller read it): nothing was written. `current` is the version found, undefined when it could not be read.
 */
export class ConfigVersionError extends DistLimiterError {
  /** The version the caller expected. */
  readonly expected: string;
  /** The version found, or undefined when the stored configuration could not be merged. */
  readonly current: string | undefined;

  constructor(expected: string, current: string | undefined) {
    super(
      'ERR_DL_CONFIG',
      `The configuration is at version ${current ?? '(unreadable)'}, not ${expected}: it changed since it was read; nothing was written. Read it again and retry.`,
    );
    this.expected = expected;
    this.current = current;
  }
}
