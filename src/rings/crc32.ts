// CRC-32 (IEEE 802.3, Go's `crc32.ChecksumIEEE`) in pure JavaScript, slicing by 4, reading the
// string's UTF-8 bytes straight from its UTF-16 code units (no Buffer, no call into C++).
// Measured on 36-character keys: 85–100 ns against `zlib.crc32(string)`'s 125–135 ns, which
// encodes to UTF-8 and crosses into C++ first; on 8-character keys 30 against 65 ns. Slicing by 8
// was no faster. Tests compare it with zlib.crc32 on arbitrary strings, lone surrogates included.

/** T0 is the byte-at-a-time table; Tk advances a byte through k further zero bytes. */
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  T1[n] = (T0[n]! >>> 8) ^ T0[T0[n]! & 0xff]!;
  T2[n] = (T1[n]! >>> 8) ^ T0[T1[n]! & 0xff]!;
  T3[n] = (T2[n]! >>> 8) ^ T0[T2[n]! & 0xff]!;
}

/** CRC-32 (IEEE) of bytes, byte at a time. */
export function crc32TableBytes(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32 (IEEE) of a string's UTF-8 bytes, as a uint32: the ketama string-key hash. Encodes as
 * `Buffer.from(key, 'utf8')` does, a lone surrogate as U+FFFD (EF BF BD).
 */
export function crc32String(key: string): number {
  let c = -1;
  const len = key.length;
  let i = 0;
  // Runs of 4 ASCII characters: 4 bytes folded in at once.
  for (; i + 4 <= len; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    c ^= c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  }
  for (; i < len; i++) {
    let u = key.charCodeAt(i);
    if (u < 0x80) {
      c = T0[(c ^ u) & 0xff]! ^ (c >>> 8);
      continue;
    }
    if (u < 0x800) {
      c = T0[(c ^ (0xc0 | (u >> 6))) & 0xff]! ^ (c >>> 8);
      c = T0[(c ^ (0x80 | (u & 0x3f))) & 0xff]! ^ (c >>> 8);
      continue;
    }
    if (u >= 0xd800 && u < 0xe000) {
      const next = i + 1 < len ? key.charCodeAt(i + 1) : 0;
      if (u < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        // A surrogate pair: one code point, 4 bytes.
        i++;
        u = 0x10000 + ((u - 0xd800) << 10) + (next - 0xdc00);
        c = T0[(c ^ (0xf0 | (u >> 18))) & 0xff]! ^ (c >>> 8);
        c = T0[(c ^ (0x80 | ((u >> 12) & 0x3f))) & 0xff]! ^ (c >>> 8);
        c = T0[(c ^ (0x80 | ((u >> 6) & 0x3f))) & 0xff]! ^ (c >>> 8);
        c = T0[(c ^ (0x80 | (u & 0x3f))) & 0xff]! ^ (c >>> 8);
        continue;
      }
      u = 0xfffd;
    }
    c = T0[(c ^ (0xe0 | (u >> 12))) & 0xff]! ^ (c >>> 8);
    c = T0[(c ^ (0x80 | ((u >> 6) & 0x3f))) & 0xff]! ^ (c >>> 8);
    c = T0[(c ^ (0x80 | (u & 0x3f))) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}
