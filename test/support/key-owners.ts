import { createRingBuilder } from '../../src/rings';
import type { RingAlgorithm } from '../../src/rings/types';
import { type HelloClient, sayWithKey } from './hello-servers';

/** A backend as the ring sees it: the address registered, and the server id that answers there. */
export interface OwnedBackend {
  readonly address: string;
  readonly serverId: string;
}

/** Key → the server id the ring (over the registered addresses) says owns it. */
export function expectedOwners(
  backends: readonly OwnedBackend[],
  keys: readonly string[],
  algorithm: RingAlgorithm = 'ketama',
): Map<string, string> {
  const ring = createRingBuilder(algorithm).build(backends.map((b) => ({ id: b.address, weight: 1 })));
  const byAddress = new Map(backends.map((b) => [b.address, b.serverId]));
  return new Map(keys.map((k) => [k, byAddress.get(ring.members[ring.memberAt(ring.locateKey(k))]!.id)!]));
}

/** Calls every key once; key → the server that answered, or `error: <code> <details>`. */
export async function observedOwners(
  client: HelloClient,
  header: string,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const r = await sayWithKey(client, header, key, { deadline: Date.now() + 3000 });
    out.set(key, r.serverId ?? `error: ${r.error!.code} ${r.error!.details}`);
  }
  return out;
}

/** The keys whose observed owner differs from the expected one (empty when routing matches). */
export function ownerMismatches(expected: Map<string, string>, observed: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [key, owner] of expected) {
    if (observed.get(key) !== owner) out.push(`${key}: expected ${owner}, got ${observed.get(key)}`);
  }
  return out;
}
