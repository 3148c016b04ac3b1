import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from '../../src/go-duration';
import { ExponentialBackoff, TokenBucket } from '../../src/resolvers/shared';

describe('TokenBucket', () => {
  it('allows a burst, then spaces reservations at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 2, () => now);
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 500);
    assert.equal(bucket.reserve(), 1000);
    now = 5000;
    assert.equal(bucket.delayUntilAvailable(), 0);
    assert.equal(bucket.reserve(), 0);
  });
  it('rejects nonsense settings', () => {
    assert.throws(() => new TokenBucket(0, 2), /ratePerSecond/);
    assert.throws(() => new TokenBucket(1, 0.5), /burst/);
  });
});

describe('ExponentialBackoff', () => {
  it('grows by the multiplier up to the cap, with bounded jitter, and resets', () => {
    const b = new ExponentialBackoff({
      initialMs: 100,
      maxMs: 1000,
      multiplier: 2,
      jitter: 0,
      random: () => 0.5,
    });
    assert.deepEqual(
      Array.from({ length: 6 }, () => b.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
    b.reset();
    assert.equal(b.next(), 100);
    const jittered = new ExponentialBackoff({ initialMs: 1000, jitter: 0.2, random: () => 0 });
    assert.equal(jittered.next(), 800);
  });
});

describe('parseGoDuration', () => {
  it('parses Go durations', () => {
    assert.equal(parseGoDuration('5m'), 300_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('1h'), 3_600_000);
  });
  it('rejects what Go rejects', () => {
    for (const bad of ['', '5', 'm', '-1s', '1x', '1s ', ' 1s', '1.s.'])
      assert.equal(parseGoDuration(bad), null, bad);
  });
});
