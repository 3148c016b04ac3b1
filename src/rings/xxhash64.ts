// XXH64 (xxHash, 64-bit) in pure JavaScript on 32-bit halves: no BigInt, no async init.
// Chosen over xxhash-wasm and @node-rs/xxhash by measurement (bench/hash.bench.ts, docs/performance.md):
// both return a BigInt that must then be split into the hi/lo halves the rings search on, and
// xxhash-wasm needs an async init that a synchronous picker cannot await.
//
// Every 64-bit value lives in two local int32 numbers (xh:xl). The 64-bit multiply by a prime
// (16-bit limbs on Math.imul), add and rotate are written out inline at every use rather than
// called: V8's cumulative inlining budget stops inlining such helpers after a few dozen call
// sites, and the calls alone made the hash ~2x slower (~300 ns against ~150 ns for 36 bytes).
// The expansion is mechanical; tests compare it with @node-rs/xxhash for lengths 0..100.

// The five XXH64 primes (P1..P5) appear below as literal hi/lo halves and 16-bit limbs:
// P1 0x9E3779B185EBCA87, P2 0xC2B2AE3D27D4EB4F, P3 0x165667B19E3779F9, P4 0x85EBCA77C2B2AE63,
// P5 0x27D4EB2F165667C5.

/**
 * XXH64 core over input packed as little-endian 32-bit words (byte i is bits 8*(i%4).. of
 * words[i>>2]): one load per 4 bytes instead of four. Result in out[0] (hi) and out[1] (lo).
 */
function xxh64Words(
  words: Int32Array,
  length: number,
  seedHi: number,
  seedLo: number,
  out: Uint32Array,
): void {
  let s: number;
  let th: number;
  let a0: number;
  let a1: number;
  let m1: number;
  let m2: number;
  let mid: number;
  let xh: number;
  let xl: number;
  let hh: number;
  let hl: number;
  let p = 0;
  if (length >= 32) {
    // Four accumulators: v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1.
    let v1h = seedHi;
    let v1l = seedLo;
    s = (v1l >>> 0) + 0x85ebca87;
    v1h = (v1h + 0x9e3779b1 + (s > 0xffffffff ? 1 : 0)) | 0;
    v1l = s | 0;
    s = (v1l >>> 0) + 0x27d4eb4f;
    v1h = (v1h + 0xc2b2ae3d + (s > 0xffffffff ? 1 : 0)) | 0;
    v1l = s | 0;
    let v2h = seedHi;
    let v2l = seedLo;
    s = (v2l >>> 0) + 0x27d4eb4f;
    v2h = (v2h + 0xc2b2ae3d + (s > 0xffffffff ? 1 : 0)) | 0;
    v2l = s | 0;
    let v3h = seedHi;
    let v3l = seedLo;
    s = (seedLo >>> 0) - 0x85ebca87;
    let v4l = s | 0;
    let v4h = (seedHi - 0x9e3779b1 - (s < 0 ? 1 : 0)) | 0;
    const limit = length - 32;
    // Each 32-byte stripe: v = rotl(v + lane * P2, 31) * P1 per accumulator.
    do {
      const w = p >> 2;
      a0 = words[w + 0]! & 0xffff;
      a1 = words[w + 0]! >>> 16;
      m1 = Math.imul(a1, 0xeb4f);
      m2 = Math.imul(a0, 0x27d4);
      mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x27d4) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(words[w + 1]!, 0x27d4eb4f) +
          Math.imul(words[w + 0]!, 0xc2b2ae3d)) |
        0;
      xl = Math.imul(words[w + 0]!, 0x27d4eb4f);
      xh = th;
      s = (v1l >>> 0) + (xl >>> 0);
      v1h = (v1h + xh + (s > 0xffffffff ? 1 : 0)) | 0;
      v1l = s | 0;
      xh = (v1h << 31) | (v1l >>> 1);
      xl = (v1l << 31) | (v1h >>> 1);
      a0 = xl & 0xffff;
      a1 = xl >>> 16;
      m1 = Math.imul(a1, 0xca87);
      m2 = Math.imul(a0, 0x85eb);
      mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x85eb) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(xh, 0x85ebca87) +
          Math.imul(xl, 0x9e3779b1)) |
        0;
      v1l = Math.imul(xl, 0x85ebca87);
      v1h = th;
      a0 = words[w + 2]! & 0xffff;
      a1 = words[w + 2]! >>> 16;
      m1 = Math.imul(a1, 0xeb4f);
      m2 = Math.imul(a0, 0x27d4);
      mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x27d4) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(words[w + 3]!, 0x27d4eb4f) +
          Math.imul(words[w + 2]!, 0xc2b2ae3d)) |
        0;
      xl = Math.imul(words[w + 2]!, 0x27d4eb4f);
      xh = th;
      s = (v2l >>> 0) + (xl >>> 0);
      v2h = (v2h + xh + (s > 0xffffffff ? 1 : 0)) | 0;
      v2l = s | 0;
      xh = (v2h << 31) | (v2l >>> 1);
      xl = (v2l << 31) | (v2h >>> 1);
      a0 = xl & 0xffff;
      a1 = xl >>> 16;
      m1 = Math.imul(a1, 0xca87);
      m2 = Math.imul(a0, 0x85eb);
      mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x85eb) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(xh, 0x85ebca87) +
          Math.imul(xl, 0x9e3779b1)) |
        0;
      v2l = Math.imul(xl, 0x85ebca87);
      v2h = th;
      a0 = words[w + 4]! & 0xffff;
      a1 = words[w + 4]! >>> 16;
      m1 = Math.imul(a1, 0xeb4f);
      m2 = Math.imul(a0, 0x27d4);
      mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x27d4) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(words[w + 5]!, 0x27d4eb4f) +
          Math.imul(words[w + 4]!, 0xc2b2ae3d)) |
        0;
      xl = Math.imul(words[w + 4]!, 0x27d4eb4f);
      xh = th;
      s = (v3l >>> 0) + (xl >>> 0);
      v3h = (v3h + xh + (s > 0xffffffff ? 1 : 0)) | 0;
      v3l = s | 0;
      xh = (v3h << 31) | (v3l >>> 1);
      xl = (v3l << 31) | (v3h >>> 1);
      a0 = xl & 0xffff;
      a1 = xl >>> 16;
      m1 = Math.imul(a1, 0xca87);
      m2 = Math.imul(a0, 0x85eb);
      mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x85eb) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(xh, 0x85ebca87) +
          Math.imul(xl, 0x9e3779b1)) |
        0;
      v3l = Math.imul(xl, 0x85ebca87);
      v3h = th;
      a0 = words[w + 6]! & 0xffff;
      a1 = words[w + 6]! >>> 16;
      m1 = Math.imul(a1, 0xeb4f);
      m2 = Math.imul(a0, 0x27d4);
      mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x27d4) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(words[w + 7]!, 0x27d4eb4f) +
          Math.imul(words[w + 6]!, 0xc2b2ae3d)) |
        0;
      xl = Math.imul(words[w + 6]!, 0x27d4eb4f);
      xh = th;
      s = (v4l >>> 0) + (xl >>> 0);
      v4h = (v4h + xh + (s > 0xffffffff ? 1 : 0)) | 0;
      v4l = s | 0;
      xh = (v4h << 31) | (v4l >>> 1);
      xl = (v4l << 31) | (v4h >>> 1);
      a0 = xl & 0xffff;
      a1 = xl >>> 16;
      m1 = Math.imul(a1, 0xca87);
      m2 = Math.imul(a0, 0x85eb);
      mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
      th =
        (Math.imul(a1, 0x85eb) +
          (m1 >>> 16) +
          (m2 >>> 16) +
          (mid >>> 16) +
          Math.imul(xh, 0x85ebca87) +
          Math.imul(xl, 0x9e3779b1)) |
        0;
      v4l = Math.imul(xl, 0x85ebca87);
      v4h = th;
      p += 32;
    } while (p <= limit);
    // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18), then h = (h ^ round(0, v)) * P1 + P4 per v.
    hh = (v1h << 1) | (v1l >>> 31);
    hl = (v1l << 1) | (v1h >>> 31);
    xh = (v2h << 7) | (v2l >>> 25);
    xl = (v2l << 7) | (v2h >>> 25);
    s = (hl >>> 0) + (xl >>> 0);
    hh = (hh + xh + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    xh = (v3h << 12) | (v3l >>> 20);
    xl = (v3l << 12) | (v3h >>> 20);
    s = (hl >>> 0) + (xl >>> 0);
    hh = (hh + xh + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    xh = (v4h << 18) | (v4l >>> 14);
    xl = (v4l << 18) | (v4h >>> 14);
    s = (hl >>> 0) + (xl >>> 0);
    hh = (hh + xh + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    a0 = v1l & 0xffff;
    a1 = v1l >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(v1h, 0x27d4eb4f) +
        Math.imul(v1l, 0xc2b2ae3d)) |
      0;
    v1l = Math.imul(v1l, 0x27d4eb4f);
    v1h = th;
    xh = (v1h << 31) | (v1l >>> 1);
    xl = (v1l << 31) | (v1h >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    xl = Math.imul(xl, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    a0 = hl & 0xffff;
    a1 = hl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(hh, 0x85ebca87) +
        Math.imul(hl, 0x9e3779b1)) |
      0;
    hl = Math.imul(hl, 0x85ebca87);
    hh = th;
    s = (hl >>> 0) + 0xc2b2ae63;
    hh = (hh + 0x85ebca77 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    a0 = v2l & 0xffff;
    a1 = v2l >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(v2h, 0x27d4eb4f) +
        Math.imul(v2l, 0xc2b2ae3d)) |
      0;
    v2l = Math.imul(v2l, 0x27d4eb4f);
    v2h = th;
    xh = (v2h << 31) | (v2l >>> 1);
    xl = (v2l << 31) | (v2h >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    xl = Math.imul(xl, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    a0 = hl & 0xffff;
    a1 = hl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(hh, 0x85ebca87) +
        Math.imul(hl, 0x9e3779b1)) |
      0;
    hl = Math.imul(hl, 0x85ebca87);
    hh = th;
    s = (hl >>> 0) + 0xc2b2ae63;
    hh = (hh + 0x85ebca77 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    a0 = v3l & 0xffff;
    a1 = v3l >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(v3h, 0x27d4eb4f) +
        Math.imul(v3l, 0xc2b2ae3d)) |
      0;
    v3l = Math.imul(v3l, 0x27d4eb4f);
    v3h = th;
    xh = (v3h << 31) | (v3l >>> 1);
    xl = (v3l << 31) | (v3h >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    xl = Math.imul(xl, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    a0 = hl & 0xffff;
    a1 = hl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(hh, 0x85ebca87) +
        Math.imul(hl, 0x9e3779b1)) |
      0;
    hl = Math.imul(hl, 0x85ebca87);
    hh = th;
    s = (hl >>> 0) + 0xc2b2ae63;
    hh = (hh + 0x85ebca77 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    a0 = v4l & 0xffff;
    a1 = v4l >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(v4h, 0x27d4eb4f) +
        Math.imul(v4l, 0xc2b2ae3d)) |
      0;
    v4l = Math.imul(v4l, 0x27d4eb4f);
    v4h = th;
    xh = (v4h << 31) | (v4l >>> 1);
    xl = (v4l << 31) | (v4h >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    xl = Math.imul(xl, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    a0 = hl & 0xffff;
    a1 = hl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(hh, 0x85ebca87) +
        Math.imul(hl, 0x9e3779b1)) |
      0;
    hl = Math.imul(hl, 0x85ebca87);
    hh = th;
    s = (hl >>> 0) + 0xc2b2ae63;
    hh = (hh + 0x85ebca77 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
  } else {
    // h = seed + P5
    hh = seedHi;
    hl = seedLo;
    s = (hl >>> 0) + 0x165667c5;
    hh = (hh + 0x27d4eb2f + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
  }
  // h += length
  s = (hl >>> 0) + length;
  hh = (hh + Math.floor(s / 4294967296)) | 0;
  hl = s | 0;
  // 8-byte lanes: h ^= round(0, lane); h = rotl(h, 27) * P1 + P4
  while (p + 8 <= length) {
    const w = p >> 2;
    let kh = words[w + 1]!;
    let kl = words[w]!;
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(kh, 0x27d4eb4f) +
        Math.imul(kl, 0xc2b2ae3d)) |
      0;
    kl = Math.imul(kl, 0x27d4eb4f);
    kh = th;
    xh = (kh << 31) | (kl >>> 1);
    xl = (kl << 31) | (kh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    xl = Math.imul(xl, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    xh = (hh << 27) | (hl >>> 5);
    xl = (hl << 27) | (hh >>> 5);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    hl = Math.imul(xl, 0x85ebca87);
    hh = th;
    s = (hl >>> 0) + 0xc2b2ae63;
    hh = (hh + 0x85ebca77 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    p += 8;
  }
  // A 4-byte lane: h ^= lane * P1; h = rotl(h, 23) * P2 + P3
  if (p + 4 <= length) {
    const k = words[p >> 2]!;
    a0 = k & 0xffff;
    a1 = k >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(0, 0x85ebca87) +
        Math.imul(k, 0x9e3779b1)) |
      0;
    xl = Math.imul(k, 0x85ebca87);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    xh = (hh << 23) | (hl >>> 9);
    xl = (hl << 23) | (hh >>> 9);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xeb4f);
    m2 = Math.imul(a0, 0x27d4);
    mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x27d4) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x27d4eb4f) +
        Math.imul(xl, 0xc2b2ae3d)) |
      0;
    hl = Math.imul(xl, 0x27d4eb4f);
    hh = th;
    s = (hl >>> 0) + 0x9e3779f9;
    hh = (hh + 0x165667b1 + (s > 0xffffffff ? 1 : 0)) | 0;
    hl = s | 0;
    p += 4;
  }
  // Remaining bytes: h ^= byte * P5; h = rotl(h, 11) * P1
  while (p < length) {
    const c = (words[p >> 2]! >>> ((p & 3) << 3)) & 0xff;
    a0 = c & 0xffff;
    a1 = c >>> 16;
    m1 = Math.imul(a1, 0x67c5);
    m2 = Math.imul(a0, 0x1656);
    mid = (Math.imul(a0, 0x67c5) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x1656) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(0, 0x165667c5) +
        Math.imul(c, 0x27d4eb2f)) |
      0;
    xl = Math.imul(c, 0x165667c5);
    xh = th;
    hh ^= xh;
    hl ^= xl;
    xh = (hh << 11) | (hl >>> 21);
    xl = (hl << 11) | (hh >>> 21);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    m1 = Math.imul(a1, 0xca87);
    m2 = Math.imul(a0, 0x85eb);
    mid = (Math.imul(a0, 0xca87) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
    th =
      (Math.imul(a1, 0x85eb) +
        (m1 >>> 16) +
        (m2 >>> 16) +
        (mid >>> 16) +
        Math.imul(xh, 0x85ebca87) +
        Math.imul(xl, 0x9e3779b1)) |
      0;
    hl = Math.imul(xl, 0x85ebca87);
    hh = th;
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hl ^= hh >>> 1;
  a0 = hl & 0xffff;
  a1 = hl >>> 16;
  m1 = Math.imul(a1, 0xeb4f);
  m2 = Math.imul(a0, 0x27d4);
  mid = (Math.imul(a0, 0xeb4f) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  th =
    (Math.imul(a1, 0x27d4) +
      (m1 >>> 16) +
      (m2 >>> 16) +
      (mid >>> 16) +
      Math.imul(hh, 0x27d4eb4f) +
      Math.imul(hl, 0xc2b2ae3d)) |
    0;
  hl = Math.imul(hl, 0x27d4eb4f);
  hh = th;
  hl ^= (hl >>> 29) | (hh << 3);
  hh ^= hh >>> 29;
  a0 = hl & 0xffff;
  a1 = hl >>> 16;
  m1 = Math.imul(a1, 0x79f9);
  m2 = Math.imul(a0, 0x9e37);
  mid = (Math.imul(a0, 0x79f9) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  th =
    (Math.imul(a1, 0x9e37) +
      (m1 >>> 16) +
      (m2 >>> 16) +
      (mid >>> 16) +
      Math.imul(hh, 0x9e3779f9) +
      Math.imul(hl, 0x165667b1)) |
    0;
  hl = Math.imul(hl, 0x9e3779f9);
  hh = th;
  hl ^= hh;
  out[0] = hh;
  out[1] = hl;
}

// Scratch words for packing keys; grows (never shrinks) to the longest key seen.
let scratchWords = new Int32Array(64);

function ensureScratch(bytes: number): Int32Array {
  if (bytes + 4 > scratchWords.length * 4) scratchWords = new Int32Array((bytes >> 2) + 8);
  return scratchWords;
}

/** Packs UTF-8 bytes into little-endian words (endianness-independent: computed, not reinterpreted). */
function packBytes(bytes: Uint8Array, length: number, words: Int32Array): void {
  words.fill(0, 0, (length >> 2) + 1);
  for (let i = 0; i < length; i++) words[i >> 2]! |= bytes[i]! << ((i & 3) << 3);
}

/**
 * XXH64 of `bytes[0..length)` with a 64-bit seed given as (hi, lo) uint32 halves. Writes the
 * high 32 bits to `out[0]` and the low 32 bits to `out[1]`.
 */
export function xxh64Bytes(
  bytes: Uint8Array,
  length: number,
  seedHi: number,
  seedLo: number,
  out: Uint32Array,
): void {
  const words = ensureScratch(length);
  packBytes(bytes, length, words);
  xxh64Words(words, length, seedHi | 0, seedLo | 0, out);
}

/**
 * XXH64 of a string's UTF-8 bytes. Writes the high 32 bits to `out[0]` and the low 32 bits to
 * `out[1]` (a caller-owned, reused array: no allocation, no BigInt). `seed` is a uint32
 * (the rings use 0 and 1).
 */
export function xxh64String(key: string, seed: number, out: Uint32Array): void {
  const len = key.length;
  const words = ensureScratch(len);
  // ASCII keys (the common case) are packed straight from the string, 4 characters per word.
  let w = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    words[w++] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
  }
  let last = 0;
  let shift = 0;
  for (; i < len; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) break;
    last |= c << shift;
    shift += 8;
  }
  if (i === len) {
    words[w] = last;
    xxh64Words(words, len, 0, seed | 0, out);
    return;
  }
  const bytes = Buffer.from(key, 'utf8');
  const packed = ensureScratch(bytes.length);
  packBytes(bytes, bytes.length, packed);
  xxh64Words(packed, bytes.length, 0, seed | 0, out);
}
