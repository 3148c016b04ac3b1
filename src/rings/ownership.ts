import { KetamaRing } from './ketama-ring';
import { MaglevTable } from './maglev-table';
import { RendezvousRing } from './rendezvous';
import { RingHashRing } from './ring-hash-ring';
import type { HashRing } from './types';

const TWO_32 = 2 ** 32;
const TWO_64 = 2 ** 64;

/**
 * Each member's exact share of the hash space, indexed like `ring.members`; the shares sum to 1.
 * A ring position owns the arc from the previous position (exclusive) to its own (inclusive), and
 * the first position also owns the wrap-around arc: ketama in a 2^32 space, ring_hash in 2^64
 * (as doubles, exact to about 1e-16). A maglev slot owns 1/M. A rendezvous member's share is its
 * expected share, exactly w / W (the logarithmic method's guarantee; the key space has no arcs).
 * @throws TypeError for a ring that is not one of this package's ring classes.
 */
export function ringOwnership(ring: HashRing): Float64Array {
  const shares = new Float64Array(ring.members.length);
  if (ring instanceof MaglevTable) {
    const owners = ring.owners;
    for (let p = 0; p < owners.length; p++) shares[owners[p]!]!++;
    for (let i = 0; i < shares.length; i++) shares[i]! /= owners.length;
    return shares;
  }
  if (ring instanceof RendezvousRing) {
    let total = 0;
    for (const w of ring.weights) total += w;
    for (let r = 0; r < ring.size; r++) shares[ring.memberAt(r)] = ring.weights[r]! / total;
    return shares;
  }
  if (ring instanceof KetamaRing) {
    const points = ring.points;
    const n = points.length;
    for (let p = 0; p < n; p++) {
      const previous = p === 0 ? points[n - 1]! - TWO_32 : points[p - 1]!;
      shares[ring.owners[p]!]! += (points[p]! - previous) / TWO_32;
    }
    return shares;
  }
  if (ring instanceof RingHashRing) {
    const { hashHi: hi, hashLo: lo, owners } = ring;
    const n = owners.length;
    const at = (p: number) => hi[p]! * TWO_32 + lo[p]!;
    for (let p = 0; p < n; p++) {
      const previous = p === 0 ? at(n - 1) - TWO_64 : at(p - 1);
      shares[owners[p]!]! += (at(p) - previous) / TWO_64;
    }
    return shares;
  }
  throw new TypeError(`ringOwnership: unsupported ring (algorithm ${String(ring.algorithm)})`);
}
