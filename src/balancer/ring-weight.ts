/** Weights above this are clamped, so that a bad weight cannot make a ring of millions of points. */
export const MAX_ENDPOINT_WEIGHT = 1000;

/** How the balancer reads one weight value. */
export interface RingWeight {
  /** The weight the ring uses. */
  readonly weight: number;
  /** The weight asked for: the value, or 1 when it was missing or invalid. Above the maximum when clamped. */
  readonly requested: number;
  /** The value was given but is not a finite number > 0, so it counts as 1. */
  readonly invalid: boolean;
}

const UNWEIGHTED: RingWeight = Object.freeze({ weight: 1, requested: 1, invalid: false });
const INVALID_WEIGHT: RingWeight = Object.freeze({ weight: 1, requested: 1, invalid: true });

/**
 * The balancer's weight rule, shared with the CLI so that `route`, `simulate` and `inspect` predict
 * it exactly: a missing weight is 1; an invalid one (not a finite number > 0) counts as 1; one above
 * {@link MAX_ENDPOINT_WEIGHT} is clamped to it.
 */
export function ringWeight(value: unknown): RingWeight {
  // Shared results for the common cases: a first list of 20,000 endpoints allocates none.
  if (value === undefined) return UNWEIGHTED;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return INVALID_WEIGHT;
  return { weight: Math.min(value, MAX_ENDPOINT_WEIGHT), requested: value, invalid: false };
}
