/** A command-line mistake: reported as one line on stderr with exit code 2, never a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit code for usage errors (bad flags, bad input). */
export const USAGE_EXIT_CODE = 2;
