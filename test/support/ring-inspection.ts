import type { HashRing } from '../../src/rings';
import { KetamaRing, MaglevTable, RendezvousRing, RingHashRing } from '../../src/rings';

/** The owner id of every position, in position order. */
export function ownerIds(ring: HashRing): string[] {
  const ids: string[] = new Array(ring.size);
  for (let p = 0; p < ring.size; p++) ids[p] = ring.members[ring.memberAt(p)]!.id;
  return ids;
}

/** The ring's position values (points, entry hashes as decimal strings, or slot indexes). */
export function positionValues(ring: HashRing): string[] {
  if (ring instanceof KetamaRing) return Array.from(ring.points, String);
  if (ring instanceof RingHashRing) {
    return Array.from(ring.hashHi, (hi, i) => ((BigInt(hi) << 32n) | BigInt(ring.hashLo[i]!)).toString());
  }
  if (ring instanceof MaglevTable) return Array.from({ length: ring.size }, (_, i) => String(i));
  // Rendezvous positions are ranks in hash-key order.
  if (ring instanceof RendezvousRing) return Array.from({ length: ring.size }, (_, i) => String(i));
  throw new Error('unknown ring');
}

/**
 * Each member id's share of the key space, computed exactly from the arcs (ketama: 2^32,
 * ring_hash: 2^64 as doubles) or slot counts (maglev).
 */
export function ownershipShares(ring: HashRing): Map<string, number> {
  const shares = new Map<string, number>(ring.members.map((m) => [m.id, 0]));
  const add = (position: number, amount: number) => {
    const id = ring.members[ring.memberAt(position)]!.id;
    shares.set(id, shares.get(id)! + amount);
  };
  if (ring instanceof MaglevTable) {
    for (let p = 0; p < ring.size; p++) add(p, 1 / ring.size);
    return shares;
  }
  if (ring instanceof RendezvousRing) {
    // The logarithmic method's expected shares: w / W.
    const total = ring.members.reduce((s, m) => s + (m.weight ?? 1), 0);
    for (const m of ring.members) shares.set(m.id, (m.weight ?? 1) / total);
    return shares;
  }
  let values: number[];
  let space: number;
  if (ring instanceof KetamaRing) {
    values = Array.from(ring.points);
    space = 2 ** 32;
  } else if (ring instanceof RingHashRing) {
    values = Array.from(ring.hashHi, (hi, i) => hi * 2 ** 32 + ring.hashLo[i]!);
    space = 2 ** 64;
  } else {
    throw new Error('unknown ring');
  }
  // Position i owns (values[i-1], values[i]]; position 0 also owns the wrap-around arc.
  for (let p = 0; p < values.length; p++) {
    const previous = p === 0 ? values[values.length - 1]! - space : values[p - 1]!;
    add(p, (values[p]! - previous) / space);
  }
  return shares;
}

/** max share / mean share. */
export function maxOverMean(shares: Map<string, number>): number {
  const values = [...shares.values()];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.max(...values) / mean;
}
