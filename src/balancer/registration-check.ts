import * as grpc from '@grpc/grpc-js';
import { logError } from '../trace';
import { CONSISTENT_HASH_TYPE_NAME } from './config';

let scheduled = false;

/**
 * A forgotten `register()` otherwise shows only as grpc-js's "Name resolution failed for target
 * dns:static:///..." or a silent pick_first. When a key helper is used, check (once, a tick later so
 * that a `register()` further down the same start-up code counts) that the policy is registered with
 * the @grpc/grpc-js this package loads, and say so at ERROR if not.
 */
export function checkPolicyRegisteredSoon(helper: string): void {
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
