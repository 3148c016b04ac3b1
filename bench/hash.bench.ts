// XXH64 candidates for the ring_hash / maglev request hash, on 36-character keys, including the
// split into the (hi, lo) uint32 halves that the ring search needs. Run: node --import tsx bench/hash.bench.ts
import * as zlib from 'node:zlib';
import { xxh64 as nodeRsXxh64 } from '@node-rs/xxhash';
import xxhashWasm from 'xxhash-wasm';
import { crc32String } from '../src/rings/crc32';
import { md5, md5Words } from '../src/rings/md5';
import { xxh64String } from '../src/rings/xxhash64';
import { interleavedMedians, printTable, type Row, uuidLikeKeys, writeResults } from './support/table';

// Keys built by concatenation are V8 cons strings, whose characters cost more to read than a flat
// string's (a key decoded from JSON or the wire is flat): measure both.
const FLAT_KEYS = uuidLikeKeys(4096);
const KEYS = FLAT_KEYS.map((k) => k.slice(0, 18) + k.slice(18));
const MASK = KEYS.length - 1;

/** ns per call of `f` over the keys, after a warm-up. */
function nsPerCall(f: (key: string) => number, iterations: number, keys = KEYS): () => number {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += f(keys[i & MASK]!);
  return () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += f(keys[i & MASK]!);
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    if (sink === -1) console.log(sink);
    return ns;
  };
}

/** Measures the candidates; returns the table rows. */
export async function measureHashes(rounds = 9): Promise<Row[]> {
  const wasm = await xxhashWasm();
  const out = new Uint32Array(2);
  const words = new Uint32Array(4);
  const iterations = 200_000;
  const cases: Record<string, () => number> = {
    'xxh64 pure JS (ours), hi/lo': nsPerCall((k) => {
      xxh64String(k, 0, out);
      return out[0]! ^ out[1]!;
    }, iterations),
    'xxh64 @node-rs/xxhash, BigInt split': nsPerCall((k) => {
      const h = nodeRsXxh64(k);
      return Number(h >> 32n) ^ Number(h & 0xffffffffn);
    }, iterations),
    'xxh64 xxhash-wasm h64 (async init), BigInt split': nsPerCall((k) => {
      const h = wasm.h64(k);
      return Number(h >> 32n) ^ Number(h & 0xffffffffn);
    }, iterations),
    'xxh64 xxhash-wasm h64ToString, parse halves': nsPerCall((k) => {
      const s = wasm.h64ToString(k);
      return Number.parseInt(s.slice(0, 8), 16) ^ Number.parseInt(s.slice(8), 16);
    }, iterations),
    'xxh64 pure JS (ours), flat string': nsPerCall(
      (k) => {
        xxh64String(k, 0, out);
        return out[0]! ^ out[1]!;
      },
      iterations,
      FLAT_KEYS,
    ),
    'crc32 pure JS slicing-by-4 (ours, ketama key)': nsPerCall((k) => crc32String(k), iterations),
    'crc32 pure JS slicing-by-4 (ours), flat string': nsPerCall((k) => crc32String(k), iterations, FLAT_KEYS),
    'crc32 zlib.crc32 (native, used before)': nsPerCall((k) => zlib.crc32(k), iterations),
    'crc32 zlib.crc32 (native), flat string': nsPerCall((k) => zlib.crc32(k), iterations, FLAT_KEYS),
    'md5 node:crypto (ketama build)': nsPerCall((k) => md5(k)[0]!, iterations / 4),
    'md5 pure JS one block (ours)': nsPerCall((k) => {
      md5Words(k, words);
      return words[0]!;
    }, iterations),
  };
  const medians = interleavedMedians(cases, rounds);
  return Object.entries(medians).map(([candidate, ns]) => ({ candidate, 'ns/call': Math.round(ns) }));
}

if (require.main === module) {
  measureHashes().then((rows) => {
    printTable('Hashing a 36-character key (median of interleaved rounds)', rows);
    console.log(`\nwrote ${writeResults('hash', { hashing: rows })}`);
  });
}
