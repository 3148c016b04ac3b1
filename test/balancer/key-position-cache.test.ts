import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY_MISSED, KEY_NOT_LOOKED_UP, KeyPositionCache } from '../../src/balancer/key-position-cache';

/** Drives the cache as the picker does; returns the share of picks that hit. */
function drive(cache: KeyPositionCache, keyAt: (i: number) => string, picks: number): number {
  let hits = 0;
  for (let i = 0; i < picks; i++) {
    const key = keyAt(i);
    const cached = cache.get(key);
    if (cached >= 0) hits++;
    else if (cached === KEY_MISSED) cache.set(key, key.length);
  }
  return hits / picks;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

const unique = (i: number) => `unique-${i}`;

describe('KeyPositionCache', () => {
  it('returns the cached position of a repeating key, and KEY_MISSED for a new one', () => {
    const cache = new KeyPositionCache();
    assert.equal(cache.get('alice'), KEY_MISSED);
    cache.set('alice', 7);
    assert.equal(cache.get('alice'), 7);
    assert.equal(drive(cache, (i) => `user-${i % 100}`, 10_000) > 0.98, true);
  });

  it('stays bounded, and neither caches nor looks up keys above maxKeyLength', () => {
    const cache = new KeyPositionCache(64, 16);
    drive(cache, unique, 10_000);
    assert.ok(cache.size <= 64);
    const long = 'x'.repeat(17);
    cache.set(long, 1);
    assert.equal(cache.get(long), KEY_NOT_LOOKED_UP);
  });

  it('with keys that never repeat, looks up only about one pick in 16', () => {
    const cache = new KeyPositionCache();
    drive(cache, unique, 20_000);
    let lookedUp = 0;
    for (let i = 0; i < 16_000; i++) if (cache.get(`later-${i}`) !== KEY_NOT_LOOKED_UP) lookedUp++;
    assert.ok(lookedUp > 500 && lookedUp < 1600, `looked up ${lookedUp} of 16000`);
  });

  it('looks up every pick again once keys start repeating', () => {
    const cache = new KeyPositionCache();
    drive(cache, unique, 20_000);
    // The samples find repeating keys; within a few windows every pick looks up and hits.
    drive(cache, (i) => `user-${i % 200}`, 40_000);
    assert.ok(drive(cache, (i) => `user-${i % 200}`, 2_000) > 0.99);
  });

  it('keeps the hit rate of a mix of hot and cold keys (25 % of picks on 256 hot keys)', () => {
    const random = lcg(12345);
    const cache = new KeyPositionCache();
    const mixed = (i: number) => (random() < 0.25 ? `hot-${Math.floor(random() * 256)}` : unique(i));
    drive(cache, mixed, 100_000);
    const rate = drive(cache, mixed, 400_000);
    // Every pick looking up and admitting every miss reaches about 0.20 here.
    assert.ok(rate > 0.17, `hit rate ${rate}`);
  });

  it('is not fooled by a periodic pattern: hot keys on every 4th pick', () => {
    const cache = new KeyPositionCache();
    const periodic = (i: number) => (i % 4 === 0 ? `hot-${(i >> 2) & 255}` : unique(i));
    drive(cache, periodic, 100_000);
    const rate = drive(cache, periodic, 400_000);
    assert.ok(rate > 0.17, `hit rate ${rate}`);
  });
});
