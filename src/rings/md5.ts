import * as crypto from 'node:crypto';

// crypto.hash (Node 20.12+) is a one-shot without the Hash object; fall back to createHash.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

/** MD5 digest of a string's UTF-8 bytes, from node:crypto. */
export const md5: (data: string) => Buffer = oneShot
  ? (data) => oneShot('md5', data, 'buffer')
  : (data) => crypto.createHash('md5').update(data, 'utf8').digest();

// Ketama hashes about 160,000 tiny strings per 10,000 members. Measured per one-block digest:
// node:crypto's one-shot about 1 µs (the call dominates), a looped JS MD5 0.8 µs, an unrolled one
// 0.2 µs, two unrolled digests interleaved 0.09 µs each (MD5 is one long dependency chain: two
// independent chains keep the CPU busy). OpenSSL streaming one 10 MB input: 0.14 µs per block.

/** MD5 initial state (RFC 1321). */
const INIT = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476] as const;

/**
 * Two MD5 compressions at once, interleaved step by step: lane 0 absorbs the 64-byte block
 * `x[o..o+15]` into `s[0..3]`, lane 1 absorbs `x[p..p+15]` into `s[4..7]` (little-endian words).
 * The 64 steps of RFC 1321 unrolled, constants T[i] = floor(|sin(i)| × 2^32) inline as int32.
 */
function compress2(s: Int32Array, x: Int32Array, o: number, p: number): void {
  const x0 = x[o]!;
  const x1 = x[o + 1]!;
  const x2 = x[o + 2]!;
  const x3 = x[o + 3]!;
  const x4 = x[o + 4]!;
  const x5 = x[o + 5]!;
  const x6 = x[o + 6]!;
  const x7 = x[o + 7]!;
  const x8 = x[o + 8]!;
  const x9 = x[o + 9]!;
  const x10 = x[o + 10]!;
  const x11 = x[o + 11]!;
  const x12 = x[o + 12]!;
  const x13 = x[o + 13]!;
  const x14 = x[o + 14]!;
  const x15 = x[o + 15]!;
  const y0 = x[p]!;
  const y1 = x[p + 1]!;
  const y2 = x[p + 2]!;
  const y3 = x[p + 3]!;
  const y4 = x[p + 4]!;
  const y5 = x[p + 5]!;
  const y6 = x[p + 6]!;
  const y7 = x[p + 7]!;
  const y8 = x[p + 8]!;
  const y9 = x[p + 9]!;
  const y10 = x[p + 10]!;
  const y11 = x[p + 11]!;
  const y12 = x[p + 12]!;
  const y13 = x[p + 13]!;
  const y14 = x[p + 14]!;
  const y15 = x[p + 15]!;
  let a = s[0]!;
  let b = s[1]!;
  let c = s[2]!;
  let d = s[3]!;
  let e = s[4]!;
  let f = s[5]!;
  let g = s[6]!;
  let h = s[7]!;
  a = (a + (d ^ (b & (c ^ d))) + x0 - 680876936) | 0;
  e = (e + (h ^ (f & (g ^ h))) + y0 - 680876936) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  e = (((e << 7) | (e >>> 25)) + f) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x1 - 389564586) | 0;
  h = (h + (g ^ (e & (f ^ g))) + y1 - 389564586) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  h = (((h << 12) | (h >>> 20)) + e) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x2 + 606105819) | 0;
  g = (g + (f ^ (h & (e ^ f))) + y2 + 606105819) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  g = (((g << 17) | (g >>> 15)) + h) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x3 - 1044525330) | 0;
  f = (f + (e ^ (g & (h ^ e))) + y3 - 1044525330) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  f = (((f << 22) | (f >>> 10)) + g) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x4 - 176418897) | 0;
  e = (e + (h ^ (f & (g ^ h))) + y4 - 176418897) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  e = (((e << 7) | (e >>> 25)) + f) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x5 + 1200080426) | 0;
  h = (h + (g ^ (e & (f ^ g))) + y5 + 1200080426) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  h = (((h << 12) | (h >>> 20)) + e) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x6 - 1473231341) | 0;
  g = (g + (f ^ (h & (e ^ f))) + y6 - 1473231341) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  g = (((g << 17) | (g >>> 15)) + h) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x7 - 45705983) | 0;
  f = (f + (e ^ (g & (h ^ e))) + y7 - 45705983) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  f = (((f << 22) | (f >>> 10)) + g) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x8 + 1770035416) | 0;
  e = (e + (h ^ (f & (g ^ h))) + y8 + 1770035416) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  e = (((e << 7) | (e >>> 25)) + f) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x9 - 1958414417) | 0;
  h = (h + (g ^ (e & (f ^ g))) + y9 - 1958414417) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  h = (((h << 12) | (h >>> 20)) + e) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x10 - 42063) | 0;
  g = (g + (f ^ (h & (e ^ f))) + y10 - 42063) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  g = (((g << 17) | (g >>> 15)) + h) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x11 - 1990404162) | 0;
  f = (f + (e ^ (g & (h ^ e))) + y11 - 1990404162) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  f = (((f << 22) | (f >>> 10)) + g) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x12 + 1804603682) | 0;
  e = (e + (h ^ (f & (g ^ h))) + y12 + 1804603682) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  e = (((e << 7) | (e >>> 25)) + f) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x13 - 40341101) | 0;
  h = (h + (g ^ (e & (f ^ g))) + y13 - 40341101) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  h = (((h << 12) | (h >>> 20)) + e) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x14 - 1502002290) | 0;
  g = (g + (f ^ (h & (e ^ f))) + y14 - 1502002290) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  g = (((g << 17) | (g >>> 15)) + h) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x15 + 1236535329) | 0;
  f = (f + (e ^ (g & (h ^ e))) + y15 + 1236535329) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  f = (((f << 22) | (f >>> 10)) + g) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x1 - 165796510) | 0;
  e = (e + (g ^ (h & (f ^ g))) + y1 - 165796510) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  e = (((e << 5) | (e >>> 27)) + f) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x6 - 1069501632) | 0;
  h = (h + (f ^ (g & (e ^ f))) + y6 - 1069501632) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  h = (((h << 9) | (h >>> 23)) + e) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x11 + 643717713) | 0;
  g = (g + (e ^ (f & (h ^ e))) + y11 + 643717713) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  g = (((g << 14) | (g >>> 18)) + h) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x0 - 373897302) | 0;
  f = (f + (h ^ (e & (g ^ h))) + y0 - 373897302) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  f = (((f << 20) | (f >>> 12)) + g) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x5 - 701558691) | 0;
  e = (e + (g ^ (h & (f ^ g))) + y5 - 701558691) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  e = (((e << 5) | (e >>> 27)) + f) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x10 + 38016083) | 0;
  h = (h + (f ^ (g & (e ^ f))) + y10 + 38016083) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  h = (((h << 9) | (h >>> 23)) + e) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x15 - 660478335) | 0;
  g = (g + (e ^ (f & (h ^ e))) + y15 - 660478335) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  g = (((g << 14) | (g >>> 18)) + h) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x4 - 405537848) | 0;
  f = (f + (h ^ (e & (g ^ h))) + y4 - 405537848) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  f = (((f << 20) | (f >>> 12)) + g) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x9 + 568446438) | 0;
  e = (e + (g ^ (h & (f ^ g))) + y9 + 568446438) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  e = (((e << 5) | (e >>> 27)) + f) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x14 - 1019803690) | 0;
  h = (h + (f ^ (g & (e ^ f))) + y14 - 1019803690) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  h = (((h << 9) | (h >>> 23)) + e) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x3 - 187363961) | 0;
  g = (g + (e ^ (f & (h ^ e))) + y3 - 187363961) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  g = (((g << 14) | (g >>> 18)) + h) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x8 + 1163531501) | 0;
  f = (f + (h ^ (e & (g ^ h))) + y8 + 1163531501) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  f = (((f << 20) | (f >>> 12)) + g) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x13 - 1444681467) | 0;
  e = (e + (g ^ (h & (f ^ g))) + y13 - 1444681467) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  e = (((e << 5) | (e >>> 27)) + f) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x2 - 51403784) | 0;
  h = (h + (f ^ (g & (e ^ f))) + y2 - 51403784) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  h = (((h << 9) | (h >>> 23)) + e) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x7 + 1735328473) | 0;
  g = (g + (e ^ (f & (h ^ e))) + y7 + 1735328473) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  g = (((g << 14) | (g >>> 18)) + h) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x12 - 1926607734) | 0;
  f = (f + (h ^ (e & (g ^ h))) + y12 - 1926607734) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  f = (((f << 20) | (f >>> 12)) + g) | 0;
  a = (a + (b ^ c ^ d) + x5 - 378558) | 0;
  e = (e + (f ^ g ^ h) + y5 - 378558) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  e = (((e << 4) | (e >>> 28)) + f) | 0;
  d = (d + (a ^ b ^ c) + x8 - 2022574463) | 0;
  h = (h + (e ^ f ^ g) + y8 - 2022574463) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  h = (((h << 11) | (h >>> 21)) + e) | 0;
  c = (c + (d ^ a ^ b) + x11 + 1839030562) | 0;
  g = (g + (h ^ e ^ f) + y11 + 1839030562) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  g = (((g << 16) | (g >>> 16)) + h) | 0;
  b = (b + (c ^ d ^ a) + x14 - 35309556) | 0;
  f = (f + (g ^ h ^ e) + y14 - 35309556) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  f = (((f << 23) | (f >>> 9)) + g) | 0;
  a = (a + (b ^ c ^ d) + x1 - 1530992060) | 0;
  e = (e + (f ^ g ^ h) + y1 - 1530992060) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  e = (((e << 4) | (e >>> 28)) + f) | 0;
  d = (d + (a ^ b ^ c) + x4 + 1272893353) | 0;
  h = (h + (e ^ f ^ g) + y4 + 1272893353) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  h = (((h << 11) | (h >>> 21)) + e) | 0;
  c = (c + (d ^ a ^ b) + x7 - 155497632) | 0;
  g = (g + (h ^ e ^ f) + y7 - 155497632) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  g = (((g << 16) | (g >>> 16)) + h) | 0;
  b = (b + (c ^ d ^ a) + x10 - 1094730640) | 0;
  f = (f + (g ^ h ^ e) + y10 - 1094730640) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  f = (((f << 23) | (f >>> 9)) + g) | 0;
  a = (a + (b ^ c ^ d) + x13 + 681279174) | 0;
  e = (e + (f ^ g ^ h) + y13 + 681279174) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  e = (((e << 4) | (e >>> 28)) + f) | 0;
  d = (d + (a ^ b ^ c) + x0 - 358537222) | 0;
  h = (h + (e ^ f ^ g) + y0 - 358537222) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  h = (((h << 11) | (h >>> 21)) + e) | 0;
  c = (c + (d ^ a ^ b) + x3 - 722521979) | 0;
  g = (g + (h ^ e ^ f) + y3 - 722521979) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  g = (((g << 16) | (g >>> 16)) + h) | 0;
  b = (b + (c ^ d ^ a) + x6 + 76029189) | 0;
  f = (f + (g ^ h ^ e) + y6 + 76029189) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  f = (((f << 23) | (f >>> 9)) + g) | 0;
  a = (a + (b ^ c ^ d) + x9 - 640364487) | 0;
  e = (e + (f ^ g ^ h) + y9 - 640364487) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  e = (((e << 4) | (e >>> 28)) + f) | 0;
  d = (d + (a ^ b ^ c) + x12 - 421815835) | 0;
  h = (h + (e ^ f ^ g) + y12 - 421815835) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  h = (((h << 11) | (h >>> 21)) + e) | 0;
  c = (c + (d ^ a ^ b) + x15 + 530742520) | 0;
  g = (g + (h ^ e ^ f) + y15 + 530742520) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  g = (((g << 16) | (g >>> 16)) + h) | 0;
  b = (b + (c ^ d ^ a) + x2 - 995338651) | 0;
  f = (f + (g ^ h ^ e) + y2 - 995338651) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  f = (((f << 23) | (f >>> 9)) + g) | 0;
  a = (a + (c ^ (b | ~d)) + x0 - 198630844) | 0;
  e = (e + (g ^ (f | ~h)) + y0 - 198630844) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  e = (((e << 6) | (e >>> 26)) + f) | 0;
  d = (d + (b ^ (a | ~c)) + x7 + 1126891415) | 0;
  h = (h + (f ^ (e | ~g)) + y7 + 1126891415) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  h = (((h << 10) | (h >>> 22)) + e) | 0;
  c = (c + (a ^ (d | ~b)) + x14 - 1416354905) | 0;
  g = (g + (e ^ (h | ~f)) + y14 - 1416354905) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  g = (((g << 15) | (g >>> 17)) + h) | 0;
  b = (b + (d ^ (c | ~a)) + x5 - 57434055) | 0;
  f = (f + (h ^ (g | ~e)) + y5 - 57434055) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  f = (((f << 21) | (f >>> 11)) + g) | 0;
  a = (a + (c ^ (b | ~d)) + x12 + 1700485571) | 0;
  e = (e + (g ^ (f | ~h)) + y12 + 1700485571) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  e = (((e << 6) | (e >>> 26)) + f) | 0;
  d = (d + (b ^ (a | ~c)) + x3 - 1894986606) | 0;
  h = (h + (f ^ (e | ~g)) + y3 - 1894986606) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  h = (((h << 10) | (h >>> 22)) + e) | 0;
  c = (c + (a ^ (d | ~b)) + x10 - 1051523) | 0;
  g = (g + (e ^ (h | ~f)) + y10 - 1051523) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  g = (((g << 15) | (g >>> 17)) + h) | 0;
  b = (b + (d ^ (c | ~a)) + x1 - 2054922799) | 0;
  f = (f + (h ^ (g | ~e)) + y1 - 2054922799) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  f = (((f << 21) | (f >>> 11)) + g) | 0;
  a = (a + (c ^ (b | ~d)) + x8 + 1873313359) | 0;
  e = (e + (g ^ (f | ~h)) + y8 + 1873313359) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  e = (((e << 6) | (e >>> 26)) + f) | 0;
  d = (d + (b ^ (a | ~c)) + x15 - 30611744) | 0;
  h = (h + (f ^ (e | ~g)) + y15 - 30611744) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  h = (((h << 10) | (h >>> 22)) + e) | 0;
  c = (c + (a ^ (d | ~b)) + x6 - 1560198380) | 0;
  g = (g + (e ^ (h | ~f)) + y6 - 1560198380) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  g = (((g << 15) | (g >>> 17)) + h) | 0;
  b = (b + (d ^ (c | ~a)) + x13 + 1309151649) | 0;
  f = (f + (h ^ (g | ~e)) + y13 + 1309151649) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  f = (((f << 21) | (f >>> 11)) + g) | 0;
  a = (a + (c ^ (b | ~d)) + x4 - 145523070) | 0;
  e = (e + (g ^ (f | ~h)) + y4 - 145523070) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  e = (((e << 6) | (e >>> 26)) + f) | 0;
  d = (d + (b ^ (a | ~c)) + x11 - 1120210379) | 0;
  h = (h + (f ^ (e | ~g)) + y11 - 1120210379) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  h = (((h << 10) | (h >>> 22)) + e) | 0;
  c = (c + (a ^ (d | ~b)) + x2 + 718787259) | 0;
  g = (g + (e ^ (h | ~f)) + y2 + 718787259) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  g = (((g << 15) | (g >>> 17)) + h) | 0;
  b = (b + (d ^ (c | ~a)) + x9 - 343485551) | 0;
  f = (f + (h ^ (g | ~e)) + y9 - 343485551) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  f = (((f << 21) | (f >>> 11)) + g) | 0;
  s[0] = (s[0]! + a) | 0;
  s[1] = (s[1]! + b) | 0;
  s[2] = (s[2]! + c) | 0;
  s[3] = (s[3]! + d) | 0;
  s[4] = (s[4]! + e) | 0;
  s[5] = (s[5]! + f) | 0;
  s[6] = (s[6]! + g) | 0;
  s[7] = (s[7]! + h) | 0;
}

// Scratch space, reused: the hashes run synchronously and never re-enter. Lane L's last one or
// two blocks are bytes[128L, 128L + 128) and words[32L, 32L + 32).
const state = new Int32Array(8);
const midstate = new Int32Array(4);
const bytes = new Uint8Array(256);
const words = new Int32Array(64);
const laneDigits = new Int32Array(2);
const laneBlocks = new Int32Array(2);

/** Packs lane bytes into its words [from, to), little-endian. */
function pack(lane: number, from: number, to: number): void {
  const b = lane << 7;
  const w = lane << 5;
  for (let k = from; k < to; k++) {
    const o = b + (k << 2);
    words[w + k] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
  }
}

/** Byte length of the last string given to {@link absorb}. */
let absorbed = 0;

/**
 * Hashes the whole 64-byte blocks of `s`'s UTF-8 bytes into `midstate` and leaves the bytes
 * after them at the start of lane 0; returns their count. ASCII is copied as it is read.
 */
function absorb(s: string): number {
  for (let j = 0; j < 8; j++) state[j] = INIT[j & 3]!;
  let n = s.length;
  let utf8: Buffer | undefined;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      utf8 = Buffer.from(s, 'utf8');
      n = utf8.length;
      break;
    }
  }
  let at = 0;
  for (let i = 0; i < n; i++) {
    bytes[at++] = utf8 === undefined ? s.charCodeAt(i) : utf8[i]!;
    if (at === 64) {
      pack(0, 0, 16);
      compress2(state, words, 0, 0);
      at = 0;
    }
  }
  for (let j = 0; j < 4; j++) midstate[j] = state[j]!;
  absorbed = n;
  return at;
}

/**
 * Pads a lane whose message has `length` bytes, `used` of them in its tail: the 0x80 byte, zeros
 * and the bit length. Packs the tail; returns its blocks (2 when the padding does not fit in 1).
 */
function pad(lane: number, used: number, length: number): number {
  const b = lane << 7;
  bytes.fill(0, b + used, b + 128);
  bytes[b + used] = 0x80;
  const end = used + 9 <= 64 ? 64 : 128;
  const bits = length * 8;
  for (let k = 0; k < 4; k++) bytes[b + end - 8 + k] = (bits >>> (8 * k)) & 0xff;
  const high = Math.floor(bits / 0x100000000);
  for (let k = 0; k < 4; k++) bytes[b + end - 4 + k] = (high >>> (8 * k)) & 0xff;
  pack(lane, 0, end >> 2);
  return end >> 6;
}

/** Loads a lane with both lanes' state at the midstate. */
function resetState(): void {
  for (let j = 0; j < 8; j++) state[j] = midstate[j & 3]!;
}

/**
 * The MD5 digest of `data`'s UTF-8 bytes as its four little-endian uint32 words, written to
 * `out` from `offset`.
 */
export function md5Words(data: string, out: Uint32Array, offset = 0): void {
  const rest = absorb(data);
  const blocks = pad(0, rest, absorbed);
  resetState();
  // Both lanes hash the same block: one digest is not worth a second code path.
  compress2(state, words, 0, 0);
  if (blocks === 2) compress2(state, words, 16, 16);
  for (let j = 0; j < 4; j++) out[offset + j] = state[j]!;
}

/**
 * Writes `value` in decimal after the `rest` tail bytes of a lane, for a message whose prefix has
 * `prefixLength` bytes; pads the lane again when the digit count changes. Returns the lane's
 * blocks; `lastWord`/`lastShift` locate its last digit.
 */
function setNumber(lane: number, value: number, rest: number, prefixLength: number): number {
  let digits = 1;
  for (let t = 10; value >= t; t *= 10) digits++;
  if (digits !== laneDigits[lane]) {
    laneDigits[lane] = digits;
    laneBlocks[lane] = pad(lane, rest + digits, prefixLength + digits);
  }
  const b = lane << 7;
  let v = value;
  const last = rest + digits - 1;
  for (let k = last; k >= rest; k--) {
    const q = Math.floor(v / 10);
    bytes[b + k] = 0x30 + v - 10 * q;
    v = q;
  }
  pack(lane, rest >> 2, (last >> 2) + 1);
  lastWord = (lane << 5) + (last >> 2);
  lastShift = (last & 3) << 3;
  return laneBlocks[lane]!;
}
let lastWord = 0;
let lastShift = 0;

/**
 * MD5 of `prefix + i` (i in decimal) for i = 0 .. count - 1, as 4 little-endian uint32 words
 * each, written to `out` from `offset` in order. The prefix is encoded and its whole blocks
 * hashed once; digests go two at a time, lane 0 the even numbers and lane 1 the odd ones. Between
 * carries a lane's number grows by 2 in its last digit's word alone.
 */
export function md5Numbered(prefix: string, count: number, out: Uint32Array, offset = 0): void {
  const rest = absorb(prefix);
  const length = absorbed;
  const m0 = midstate[0]!;
  const m1 = midstate[1]!;
  const m2 = midstate[2]!;
  const m3 = midstate[3]!;
  bytes.copyWithin(128, 0, rest);
  laneDigits.fill(0);
  let blocks0 = 1;
  let blocks1 = 1;
  let word0 = 0;
  let shift0 = 0;
  let word1 = 0;
  let shift1 = 0;
  // Pairs since the last carry: the last digits go 0/1, 2/3, ... 8/9, then both carry.
  let step = 5;
  for (let i = 0; i < count; i += 2) {
    if (step === 5) {
      blocks0 = setNumber(0, i, rest, length);
      word0 = lastWord;
      shift0 = lastShift;
      blocks1 = setNumber(1, i + 1, rest, length);
      word1 = lastWord;
      shift1 = lastShift;
      step = 1;
    } else {
      words[word0]! += 2 << shift0;
      words[word1]! += 2 << shift1;
      step++;
    }
    state[0] = m0;
    state[1] = m1;
    state[2] = m2;
    state[3] = m3;
    state[4] = m0;
    state[5] = m1;
    state[6] = m2;
    state[7] = m3;
    compress2(state, words, 0, 32);
    // An odd count's last pair hashes one number too many: lane 1's digest is dropped.
    const both = i + 1 < count;
    const o = offset + 4 * i;
    if (blocks0 === 2 || blocks1 === 2) {
      if (blocks0 === 1) for (let k = 0; k < 4; k++) out[o + k] = state[k]!;
      if (blocks1 === 1 && both) for (let k = 0; k < 4; k++) out[o + 4 + k] = state[4 + k]!;
      compress2(state, words, 16, 48);
      if (blocks0 === 2) for (let k = 0; k < 4; k++) out[o + k] = state[k]!;
      if (blocks1 === 2 && both) for (let k = 0; k < 4; k++) out[o + 4 + k] = state[4 + k]!;
      continue;
    }
    out[o] = state[0]!;
    out[o + 1] = state[1]!;
    out[o + 2] = state[2]!;
    out[o + 3] = state[3]!;
    if (both) {
      out[o + 4] = state[4]!;
      out[o + 5] = state[5]!;
      out[o + 6] = state[6]!;
      out[o + 7] = state[7]!;
    }
  }
}
