import * as zlib from 'node:zlib';

// zlib.crc32 exists from Node 20.15 / 22.2; older runtimes use the table below.
const nativeCrc32 = (zlib as { crc32?: (data: string | Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (IEEE 802.3, as Go's `crc32.ChecksumIEEE`) of bytes, using the portable table. */
export function crc32TableBytes(bytes: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE) of a string's UTF-8 bytes, as a uint32: the ketama string-key hash. */
export const crc32String: (key: string) => number = nativeCrc32
  ? (key) => nativeCrc32(key) >>> 0
  : (key) => crc32TableBytes(Buffer.from(key, 'utf8'));
