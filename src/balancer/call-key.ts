import * as grpc from '@grpc/grpc-js';
import { DEFAULT_HASH_HEADER, validateHeaderName } from './config';

/** Call options that carry a hash key for {@link createHashKeyInterceptor}. */
export interface HashKeyCallOptions extends grpc.CallOptions {
  /** The call's hash key; the interceptor puts it in the key header. */
  hashKey?: string;
}

/**
 * Returns `metadata` (a new `Metadata` when omitted) with the hash key set in `header`
 * (default {@link DEFAULT_HASH_HEADER}, which must match the policy's `hashHeader`).
 */
export function withHashKey(
  key: string,
  header: string = DEFAULT_HASH_HEADER,
  metadata: grpc.Metadata = new grpc.Metadata(),
): grpc.Metadata {
  metadata.set(validateHeaderName('withHashKey', 'header', header), key);
  return metadata;
}

/** Options of {@link createHashKeyInterceptor}. */
export interface HashKeyInterceptorOptions {
  /** The header to set; must match the policy's `hashHeader`. Default {@link DEFAULT_HASH_HEADER}. */
  header?: string;
  /**
   * Computes the key of a call from its options (e.g. from a request context). Default: the
   * `hashKey` call option. Returning undefined leaves the call without a key.
   */
  keyOf?: (options: grpc.InterceptorOptions) => string | undefined;
}

/**
 * A client interceptor that attaches the hash key to every call: from the `hashKey` call option,
 * or from `keyOf`. A key already present in the call's metadata is left as it is.
 *
 * ```ts
 * const client = new HelloClient(target, creds, { interceptors: [createHashKeyInterceptor({ header: 'x-user-id' })] });
 * client.say(req, new grpc.Metadata(), { hashKey: 'alice' } as HashKeyCallOptions, cb);
 * ```
 */
export function createHashKeyInterceptor(options: HashKeyInterceptorOptions = {}): grpc.Interceptor {
  const header = validateHeaderName(
    'createHashKeyInterceptor',
    'header',
    options.header ?? DEFAULT_HASH_HEADER,
  );
  const keyOf = options.keyOf ?? ((callOptions) => (callOptions as HashKeyCallOptions).hashKey);
  return (callOptions, nextCall) => {
    const key = keyOf(callOptions);
    if (key === undefined) return new grpc.InterceptingCall(nextCall(callOptions));
    return new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        if (metadata.get(header).length === 0) metadata.set(header, key);
        next(metadata, listener);
      },
    });
  };
}
