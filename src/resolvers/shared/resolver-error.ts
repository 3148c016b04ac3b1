/**
 * What went wrong, as a stable code a program can branch on (the message is for people):
 * - `INVALID_TARGET`: the target or a channel option is malformed. Retrying cannot help.
 * - `NO_ENDPOINTS`: the registry answered, and it lists nothing usable for the target (an empty etcd
 *   prefix, a Consul service without passing instances, hostnames that do not exist).
 * - `UNREACHABLE`: the registry could not be reached (connection refused, timeout, no answer).
 * - `REJECTED`: the registry refused the request (an HTTP error status, permission denied, no leader).
 * - `MALFORMED_ANSWER`: the registry answered something that is not what its API documents.
 */
export type ResolverErrorCode =
  | 'INVALID_TARGET'
  | 'NO_ENDPOINTS'
  | 'UNREACHABLE'
  | 'REJECTED'
  | 'MALFORMED_ANSWER';

/** Optional details of a {@link ResolverError}. */
export interface ResolverErrorOptions {
  /** The registry asked us to wait this long before asking again (HTTP `Retry-After`), in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * The one error type of every resolver (`static:`, `consul:`, `etcd:` and adapters built on the shared
 * lifecycle). Target parsers throw it with code `INVALID_TARGET`; a channel's calls fail with
 * UNAVAILABLE whose details are its `message`: the target, then the reason. It never carries a token
 * or password.
 */
export class ResolverError extends Error {
  override readonly name = 'ResolverError';
  /** Milliseconds the registry asked us to wait (Retry-After), when it did. */
  readonly retryAfterMs: number | undefined;

  /**
   * @param code stable classification, see {@link ResolverErrorCode}
   * @param target the target as the user wrote it (secrets removed), e.g. `etcd://10.0.0.1:2379/svc`
   * @param reason what went wrong, naming the bad part or the registry's answer
   */
  constructor(
    readonly code: ResolverErrorCode,
    readonly target: string,
    readonly reason: string,
    options: ResolverErrorOptions = {},
  ) {
    super(target === '' ? reason : `${target}: ${reason}`, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** `error` as a {@link ResolverError} for `target`: kept as it is when it already is one. */
export function toResolverError(error: unknown, target: string, code: ResolverErrorCode): ResolverError {
  if (error instanceof ResolverError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ResolverError(code, target, reason, { cause: error });
}
