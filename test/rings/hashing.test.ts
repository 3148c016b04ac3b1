import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { xxh64 as referenceXxh64 } from '@node-rs/xxhash';
import fc from 'fast-check';
import {
  crc32String,
  formatUint64Decimal,
  parseUint32Decimal,
  parseUint64Decimal,
  uint64Mod,
  xxh64Bytes,
  xxh64String,
} from '../../src/rings';
import { crc32TableBytes } from '../../src/rings/crc32';
import { md5Numbered, md5Words } from '../../src/rings/md5';

const out = new Uint32Array(2);
const hex = (h: Uint32Array) => h[0]!.toString(16).padStart(8, '0') + h[1]!.toString(16).padStart(8, '0');

function sampleString(length: number, salt: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(32 + ((i * 31 + salt * 7) % 95));
  return s;
}

describe('XXH64', () => {
  it('matches the published reference values', () => {
    xxh64String('', 0, out);
    assert.equal(hex(out), 'ef46db3751d8e999');
    xxh64String('a', 0, out);
    assert.equal(hex(out), 'd24ec4f1a98c6e5b');
    xxh64String('abc', 0, out);
    assert.equal(hex(out), '44bc2cf5ad770999');
  });

  it('matches @node-rs/xxhash for lengths 0..100 (crossing 4/8/32-byte boundaries), seeds 0 and 1', () => {
    for (let len = 0; len <= 100; len++) {
      for (const seed of [0, 1]) {
        const s = sampleString(len, len + seed);
        xxh64String(s, seed, out);
        const expected = referenceXxh64(Buffer.from(s), BigInt(seed)).toString(16).padStart(16, '0');
        assert.equal(hex(out), expected, `length ${len} seed ${seed}`);
      }
    }
  });

  it('hashes the UTF-8 bytes of non-ASCII strings', () => {
    for (const s of ['é', 'ключ-42', '键🙂', `${'x'.repeat(40)}ü`]) {
      xxh64String(s, 0, out);
      assert.equal(hex(out), referenceXxh64(Buffer.from(s, 'utf8')).toString(16).padStart(16, '0'), s);
    }
  });

  it('hashes byte arrays with a full 64-bit seed', () => {
    const bytes = Buffer.from(sampleString(77, 3));
    xxh64Bytes(bytes, bytes.length, 0x12345678, 0x9abcdef0, out);
    assert.equal(hex(out), referenceXxh64(bytes, 0x123456789abcdef0n).toString(16).padStart(16, '0'));
  });
});

describe('CRC-32 and MD5', () => {
  it('crc32String equals the portable table implementation and known values', () => {
    assert.equal(crc32String(''), 0);
    assert.equal(crc32String('123456789'), 0xcbf43926);
    for (let len = 0; len < 70; len++) {
      const s = `${sampleString(len, len)}é`;
      assert.equal(crc32String(s), crc32TableBytes(Buffer.from(s, 'utf8')), `length ${len}`);
    }
  });

  it('crc32String equals zlib.crc32 on arbitrary strings: any code units, lone surrogates, astral code points', () => {
    // zlib.crc32(string) encodes as UTF-8 with a lone surrogate as U+FFFD, like Buffer.from.
    const codeUnits = fc
      .array(
        fc.oneof(
          fc.integer({ min: 0, max: 0x7f }),
          fc.integer({ min: 0x80, max: 0x7ff }),
          fc.integer({ min: 0xd800, max: 0xdfff }),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        { maxLength: 80 },
      )
      .map((units) => String.fromCharCode(...units));
    const property = (s: string) => {
      assert.equal(crc32String(s), zlib.crc32(s) >>> 0, JSON.stringify(s));
      assert.equal(crc32String(s), crc32TableBytes(Buffer.from(s, 'utf8')));
    };
    fc.assert(fc.property(codeUnits, property), { seed: 20261124, numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), property), {
      seed: 20261124,
      numRuns: 1000,
    });
    // ASCII runs broken by a non-ASCII character at every offset of the 4-character fast path.
    for (let len = 0; len < 24; len++) {
      for (const odd of ['é', '\ud800', '\udc00', '🙂', '\uffff', '\u0800']) {
        for (let at = 0; at <= len; at++) {
          const base = sampleString(len, at);
          property(base.slice(0, at) + odd + base.slice(at));
        }
      }
    }
  });

  it('md5Words equals node:crypto for every length up to three blocks, ASCII or not', () => {
    const words = new Uint32Array(4);
    for (let len = 0; len < 200; len++) {
      for (const s of [sampleString(len, len), `${sampleString(len, len)}ß`]) {
        md5Words(s, words);
        const d = createHash('md5').update(s, 'utf8').digest();
        assert.deepEqual(
          Array.from(words),
          [0, 4, 8, 12].map((o) => d.readUInt32LE(o)),
          `length ${s.length}`,
        );
      }
    }
  });
});

describe('md5Numbered', () => {
  it('runs the code its generator prints (scripts/generate-md5-compress.mjs)', () => {
    const root = path.join(__dirname, '..', '..');
    const generated = execFileSync(
      process.execPath,
      [path.join(root, 'scripts', 'generate-md5-compress.mjs')],
      {
        encoding: 'utf8',
      },
    ).trim();
    assert.ok(generated.split('\n').length > 250, 'the generator prints the unrolled steps');
    assert.ok(readFileSync(path.join(root, 'src', 'rings', 'md5.ts'), 'utf8').includes(generated));
  });

  const reference = (s: string) => {
    const d = createHash('md5').update(s, 'utf8').digest();
    return [0, 4, 8, 12].map((o) => d.readUInt32LE(o));
  };

  it('equals node:crypto of prefix + i for every prefix length up to three blocks, ASCII or not', () => {
    // Counts across the digit changes (9 -> 10, 99 -> 100) and odd ones (the last pair half used).
    for (let len = 0; len < 140; len++) {
      for (const prefix of [sampleString(len, len), `${sampleString(len >> 1, len)}é🙂\ud800`]) {
        const count = 3 + (len % 5) * 27;
        const words = new Uint32Array(4 * count + 4).fill(7);
        md5Numbered(prefix, count, words, 4);
        assert.deepEqual(Array.from(words.subarray(0, 4)), [7, 7, 7, 7], 'nothing before offset');
        for (let i = 0; i < count; i++) {
          assert.deepEqual(
            Array.from(words.subarray(4 + 4 * i, 8 + 4 * i)),
            reference(prefix + i),
            `${len}: ${i}`,
          );
        }
      }
    }
  });

  it('equals node:crypto up to 6-digit numbers, for prefixes whose digits cross a block end', () => {
    // 52..56 bytes + digits: the padding moves to a second block as the number grows.
    for (const len of [0, 12, 52, 53, 54, 55, 56, 63, 64]) {
      const prefix = sampleString(len, 3);
      const count = 100_003;
      const words = new Uint32Array(4 * count);
      md5Numbered(prefix, count, words);
      for (let i = 0; i < count; i += i < 1200 ? 1 : 997) {
        assert.deepEqual(Array.from(words.subarray(4 * i, 4 * i + 4)), reference(prefix + i), `${len}: ${i}`);
      }
      const last = count - 1;
      assert.deepEqual(Array.from(words.subarray(4 * last)), reference(prefix + last));
    }
  });
});

describe('decimal uint64 helpers', () => {
  it('round-trips boundary values', () => {
    for (const text of ['0', '1', '4294967295', '4294967296', '9007199254740993', '18446744073709551615']) {
      assert.ok(parseUint64Decimal(text, out), text);
      assert.equal(formatUint64Decimal(out[0]!, out[1]!), text);
    }
  });

  it('rejects non-digits, empty strings and values above 2^64-1', () => {
    for (const text of [
      '',
      '-1',
      '1.5',
      ' 1',
      '0x10',
      '18446744073709551616',
      '99999999999999999999',
      '1e3',
    ]) {
      assert.equal(parseUint64Decimal(text, out), false, JSON.stringify(text));
    }
    assert.equal(parseUint32Decimal('4294967295'), 4294967295);
    assert.equal(parseUint32Decimal('4294967296'), -1);
    assert.equal(parseUint32Decimal('abc'), -1);
    assert.equal(parseUint32Decimal(''), -1);
  });

  it('uint64Mod equals BigInt arithmetic', () => {
    for (const text of ['0', '65536', '18446744073709551615', '1358662563146998643']) {
      parseUint64Decimal(text, out);
      for (const m of [2, 65537, 5000011]) {
        assert.equal(uint64Mod(out[0]!, out[1]!, m), Number(BigInt(text) % BigInt(m)), `${text} mod ${m}`);
      }
    }
  });
});
