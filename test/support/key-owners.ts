import assert from 'node:assert/strict';
import { createRingBuilder } from '../../src/rings';
import type { RingAlgorithm } from '../../src/rings/types';
import { type HelloClient, sayWithKey, waitFor } from './hello-servers';

/** A backend as the ring sees it: the address registered, and the server id that answers there. */
export interface OwnedBackend {
  readonly address: string;
  readonly serverId: string;
}

/**
 * Key → the server id the ring (over the registered addresses) says owns it. `weights` maps a
 * server id to its registered weight (1 when absent).
 */
export function expectedOwners(
  backends: readonly OwnedBackend[],
  keys: readonly string[],
  algorithm: RingAlgorithm = 'ketama',
  weights: Readonly<Record<string, number>> = {},
): Map<string, string> {
  const ring = createRingBuilder(algorithm).build(
    backends.map((b) => ({ id: b.address, weight: weights[b.serverId] ?? 1 })),
  );
  const byAddress = new Map(backends.map((b) => [b.address, b.serverId]));
  return new Map(keys.map((k) => [k, byAddress.get(ring.members[ring.memberAt(ring.locateKey(k))]!.id)!]));
}

/** Calls every key once; key → the server that answered, or `error: <code> <details>`. */
export async function observedOwners(
  client: HelloClient,
  header: string,
  keys: readonly string[],
  deadlineMs = 3000,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const r = await sayWithKey(client, header, key, { deadline: Date.now() + deadlineMs });
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

/** Checks where a client routes `keys` (sent in `header`) against an expected key → owner map. */
export interface OwnerProbe {
  /** The keys routed elsewhere than `expected` says, after one call per key. */
  mismatches(expected: Map<string, string>): Promise<string[]>;
  /** Whether one call per key lands every key on its expected owner. */
  matches(expected: Map<string, string>): Promise<boolean>;
  /** Polls until every key lands on its expected owner; rejects naming `what` after `timeoutMs`. */
  converge(expected: Map<string, string>, what: string, timeoutMs: number, intervalMs: number): Promise<void>;
  /**
   * Asserts every key lands on its expected owner, round after round: at least once, then until
   * `until` (a `Date.now()` time) or `maxRounds` rounds, whichever comes first.
   */
  assertHeld(expected: Map<string, string>, until: number, maxRounds: number, what: string): Promise<void>;
}

/** An {@link OwnerProbe} for `client`; each call carries a `deadlineMs` deadline. */
export function ownerProbe(
  client: HelloClient,
  header: string,
  keys: readonly string[],
  deadlineMs = 3000,
): OwnerProbe {
  const mismatches = async (expected: Map<string, string>) =>
    ownerMismatches(expected, await observedOwners(client, header, keys, deadlineMs));
  const matches = async (expected: Map<string, string>) => (await mismatches(expected)).length === 0;
  return {
    mismatches,
    matches,
    converge: (expected, what, timeoutMs, intervalMs) =>
      waitFor(() => matches(expected), what, timeoutMs, intervalMs),
    async assertHeld(expected, until, maxRounds, what) {
      for (let round = 0; round < maxRounds && (round === 0 || Date.now() < until); round++) {
        assert.deepEqual(await mismatches(expected), [], what);
      }
    },
  };
}
