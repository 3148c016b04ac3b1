/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, 2016), as Envoy's
 * `hash_balance_factor` and HAProxy's `hash-balance-factor` apply it: a member may take one more
 * unit of load only while its load is below its limit.
 */

/**
 * The most load a member may hold before a new unit passes it by:
 * ⌈factor × (totalLoad + 1) × weight / totalWeight⌉, which for equal weights is ⌈c × (total + 1) / N⌉.
 * @param factor the balance factor c, a finite number ≥ 1
 * @param totalLoad the load currently held by all members together
 * @param weight this member's weight
 * @param totalWeight the sum of all members' weights
 */
export function boundedLoadLimit(
  factor: number,
  totalLoad: number,
  weight: number,
  totalWeight: number,
): number {
  return Math.ceil((factor * (totalLoad + 1) * weight) / totalWeight);
}

/** Validates a bounded-load factor; returns an error message, or null when it is valid. */
export function boundedLoadFactorError(factor: unknown): string | null {
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    return `must be a finite number >= 1, got ${JSON.stringify(factor) ?? String(factor)}`;
  }
  return null;
}
