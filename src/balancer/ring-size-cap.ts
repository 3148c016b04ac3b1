import type * as grpc from '@grpc/grpc-js';
import { DEFAULT_RING_SIZE_CAP, RING_SIZE_UPPER_BOUND } from '../rings/ring-options';
import { RING_SIZE_CAP_OPTION } from './config';

export { RING_SIZE_CAP_OPTION };

/** The cap to use, and what was wrong with the option when it could not be used. */
export interface RingSizeCap {
  readonly cap: number;
  readonly error: string | null;
}

/**
 * Reads {@link RING_SIZE_CAP_OPTION}: absent means 4096; a number (or a string of digits) is
 * rounded down and clamped to [1, 8,388,608], as grpc-go clamps `GRPC_RING_HASH_CAP`; anything
 * else is an error, and the default applies.
 */
export function ringSizeCap(options: grpc.ChannelOptions): RingSizeCap {
  const raw: unknown = options[RING_SIZE_CAP_OPTION];
  if (raw === undefined) return { cap: DEFAULT_RING_SIZE_CAP, error: null };
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    return {
      cap: DEFAULT_RING_SIZE_CAP,
      error: `channel option "${RING_SIZE_CAP_OPTION}" must be a number, got ${JSON.stringify(raw) ?? String(raw)}; using ${DEFAULT_RING_SIZE_CAP}`,
    };
  }
  return { cap: Math.min(RING_SIZE_UPPER_BOUND, Math.max(1, Math.floor(value))), error: null };
}
