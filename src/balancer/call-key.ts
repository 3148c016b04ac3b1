import * as grpc from '@grpc/grpc-js';
import { logError } from '../trace';
import { CONSISTENT_HASH_TYPE_NAME, DEFAULT_HASH_HEADER, show, validateHeaderName } from './config';

/** Call options that carry a hash key for {@link createHashKeyInterceptor}. */
export interface HashKeyCallOptions extends grpc.CallOptions {
  /** The call's hash key; the interceptor puts it in the key header. */
  hashKey?: string;
}

let scheduled = false;

/**
 * A forgotten `register()` otherwise shows only as grpc-js's "Name resolution failed for target
 * dns:static:///..." or a silent pick_first. When a key helper is used, check (once, a tick later so
 * that a `register()` further down the same start-up code counts) that the policy is registered with
 * the @grpc/grpc-js this package loads, and say so at ERROR if not.
 */
function checkPolicyRegisteredSoon(helper: string): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    if (grpc.experimental.isLoadBalancerNameRegistered(CONSISTENT_HASH_TYPE_NAME)) return;
    logError(
      'register',
      `${helper} is in use, but the consistent_hash policy is not registered with @grpc/grpc-js: call register() ` +
        'from grpc-consistent-hash once, before creating channels. Without it, a consistent_hash config is ' +
        'skipped (grpc-js uses pick_first) and a static:, consul: or etcd: target fails with ' +
        '"Name resolution failed for target dns:static:///..."',
    );
  }).unref();
}

/** A key as metadata accepts it: a string of printable ASCII. Returns why not, or null. */
function keyProblem(key: unknown): string | null {
  if (key === undefined || key === null) return `the key must be a string, got ${String(key)}`;
  if (typeof key !== 'string') return `the key must be a string, got ${typeof key} ${show(key)}`;
  if (!/^[ -~]*$/.test(key)) {
    return `the key ${show(key)} has characters a header cannot carry (printable ASCII only); encode it first, e.g. with encodeURIComponent`;
  }
  return null;
}

/**
 * Returns `metadata` (a new `Metadata` when omitted) with the hash key set in `header`
 * (default {@link DEFAULT_HASH_HEADER}, which must match the policy's `hashHeader`).
 * @throws TypeError when `key` is not a string (`undefined` would otherwise route as the key "undefined")
 *   or has characters a header cannot carry.
 */
export function withHashKey(
  key: string,
  header: string = DEFAULT_HASH_HEADER,
  metadata: grpc.Metadata = new grpc.Metadata(),
): grpc.Metadata {
  const problem = keyProblem(key);
  if (problem !== null) throw new TypeError(`withHashKey: ${problem}`);
  metadata.set(validateHeaderName('withHashKey', 'header', header), key);
  checkPolicyRegisteredSoon('withHashKey');
  return metadata;
}

/** Options of {@link createHashKeyInterceptor}. */
export interface HashKeyInterceptorOptions {
  /** The header to set; must match the policy's `hashHeader`. Default {@link DEFAULT_HASH_HEADER}. */
  header?: string;
  /**
   * Computes the key of a call from its options (e.g. from a request context). Default: the
   * `hashKey` call option. Returning `undefined` leaves the call without a key; returning anything
   * else that is not a string (or throwing) fails that call with INVALID_ARGUMENT saying so.
   */
  keyOf?: (options: grpc.InterceptorOptions) => string | undefined;
}

/** A call that ends at once with `details`, without reaching the channel. */
function failedCall(nextCall: grpc.NextCall, callOptions: grpc.InterceptorOptions, details: string) {
  const call: grpc.InterceptingCall = new grpc.InterceptingCall(nextCall(callOptions), {
    start(_metadata, listener) {
      // The channel's call was never started; cancelling it stops its deadline timer.
      call.cancelWithStatus(grpc.status.CANCELLED, details);
      // Asynchronously, as a real call ends: callers may not expect the callback inside the call.
      process.nextTick(() =>
        listener.onReceiveStatus({
          code: grpc.status.INVALID_ARGUMENT,
          details,
          metadata: new grpc.Metadata(),
        }),
      );
    },
    sendMessage() {},
    halfClose() {},
  });
  return call;
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
  const source = options.keyOf ? 'keyOf' : 'the hashKey call option';
  const keyOf = options.keyOf ?? ((callOptions) => (callOptions as HashKeyCallOptions).hashKey);
  return (callOptions, nextCall) => {
    checkPolicyRegisteredSoon('createHashKeyInterceptor');
    let key: unknown;
    try {
      key = keyOf(callOptions);
    } catch (error) {
      return failedCall(
        nextCall,
        callOptions,
        `createHashKeyInterceptor: keyOf threw: ${(error as Error)?.message ?? String(error)}`,
      );
    }
    if (key === undefined) return new grpc.InterceptingCall(nextCall(callOptions));
    const problem = keyProblem(key);
    if (problem !== null) {
      return failedCall(
        nextCall,
        callOptions,
        `createHashKeyInterceptor: ${source} gave no usable key: ${problem} (return undefined for a call without a key)`,
      );
    }
    return new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        if (metadata.get(header).length === 0) metadata.set(header, key as string);
        next(metadata, listener);
      },
    });
  };
}
