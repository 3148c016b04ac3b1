const TWO_32 = 4294967296;

/**
 * Parses a decimal uint64 string ("0" .. "18446744073709551615") into `out[0]` (high 32 bits)
 * and `out[1]` (low 32 bits), without BigInt. Returns false (leaving `out` unspecified) when the
 * text is not plain decimal digits or is out of range.
 */
export function parseUint64Decimal(text: string, out: Uint32Array): boolean {
  const len = text.length;
  if (len === 0 || len > 20) return false;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    const l = lo * 10 + d;
    lo = l % TWO_32;
    hi = hi * 10 + Math.floor(l / TWO_32);
    if (hi >= TWO_32) return false;
  }
  out[0] = hi;
  out[1] = lo;
  return true;
}

/** Parses a decimal uint32 string; returns -1 when it is not plain digits or exceeds 4294967295. */
export function parseUint32Decimal(text: string): number {
  const len = text.length;
  if (len === 0 || len > 10) return -1;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v < TWO_32 ? v : -1;
}

/** Formats (hi, lo) uint32 halves as a decimal uint64 string. */
export function formatUint64Decimal(hi: number, lo: number): string {
  return ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
}

/** (hi:lo) mod m for a modulus 2 <= m < 2^37, without BigInt or precision loss. */
export function uint64Mod(hi: number, lo: number, m: number): number {
  let r = hi % m;
  r = (r * 65536) % m;
  r = (r * 65536 + lo) % m;
  return r;
}
