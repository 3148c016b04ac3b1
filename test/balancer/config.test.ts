import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConsistentHashConfigError,
  DEFAULT_HASH_HEADER,
  RING_HASH_EXPERIMENTAL_TYPE_NAME,
  validateConfig,
} from '../../src';
import { ConsistentHashConfig, InvalidHashPolicyConfig } from '../../src/balancer/config';
import { RingHashExperimentalConfig } from '../../src/balancer/ring-hash-experimental-config';
import { captureErrorLog } from '../support/grpc-log';

describe('consistent_hash config', () => {
  it('fills in the documented defaults', () => {
    assert.deepEqual(validateConfig({}), {
      algorithm: 'ketama',
      ringOptions: {},
      hashHeader: DEFAULT_HASH_HEADER,
      missingKey: 'fail',
      affinity: 'failover',
      connect: 'lazy',
      boundedLoad: null,
    });
  });

  it('accepts lowerCamelCase and snake_case and lowercases the header', () => {
    const camel = validateConfig({
      algorithm: 'ring_hash',
      minRingSize: 16,
      maxRingSize: 64,
      hashHeader: 'X-User-Id',
      missingKey: 'fail',
      affinity: 'strict',
      connect: 'eager',
    });
    const snake = validateConfig({
      algorithm: 'ring_hash',
      min_ring_size: 16,
      max_ring_size: '64',
      hash_header: 'x-user-id',
      missing_key: 'fail',
      affinity: 'strict',
      connect: 'eager',
    });
    assert.deepEqual(camel, snake);
    assert.equal(camel.hashHeader, 'x-user-id');
    assert.deepEqual(camel.ringOptions, { minRingSize: 16, maxRingSize: 64 });
  });

  it('accepts a loadBalancingConfig entry', () => {
    assert.equal(validateConfig({ consistent_hash: { algorithm: 'maglev' } }).algorithm, 'maglev');
    const a76 = validateConfig({
      [RING_HASH_EXPERIMENTAL_TYPE_NAME]: { requestHashHeader: 'X-Key', minRingSize: 8 },
    });
    assert.equal(a76.algorithm, 'ring_hash');
    assert.equal(a76.hashHeader, 'x-key');
    assert.equal(a76.affinity, 'failover');
    assert.equal(a76.missingKey, 'random');
  });

  const bad: [string, object, RegExp][] = [
    ['algorithm', { algorithm: 'jump_hash' }, /"algorithm".*"jump_hash"/],
    ['hashHeader type', { hashHeader: 42 }, /"hashHeader".*42/],
    ['hashHeader -bin', { hashHeader: 'x-key-bin' }, /"hashHeader".*"x-key-bin".*binary \(-bin\)/],
    ['hashHeader chars', { hashHeader: 'x key' }, /"hashHeader".*"x key".*not a valid header name/],
    ['hashHeader reserved', { hashHeader: 'grpc-timeout' }, /"hashHeader".*"grpc-timeout".*reserved by gRPC/],
    ['missingKey', { missingKey: 'ignore' }, /"missingKey".*"ignore"/],
    ['affinity', { affinity: 'sticky' }, /"affinity".*"sticky"/],
    ['connect', { connect: 'now' }, /"connect".*"now"/],
    ['vnodes', { vnodes: -3 }, /"vnodes".*-3/],
    ['minRingSize', { algorithm: 'ring_hash', minRingSize: 1.5 }, /"minRingSize".*1\.5/],
    ['camel and snake disagree', { hashHeader: 'a', hash_header: 'b' }, /"hashHeader" and "hash_header"/],
    ['not an object', 42 as unknown as object, /JSON object/],
    ['empty list', [] as unknown as object, /has no "consistent_hash"/],
  ];
  for (const [what, json, message] of bad) {
    it(`refuses a bad ${what}, naming the field and the value`, () => {
      assert.throws(
        () => validateConfig(json),
        (e: Error) => e instanceof ConsistentHashConfigError && message.test(e.message),
      );
    });
  }

  it('uses the ring builder validation for sizes (messages agree with the rings)', () => {
    assert.throws(
      () => validateConfig({ algorithm: 'ring_hash', minRingSize: 9_000_000 }),
      /consistent_hash: .*9000000|8388608/,
    );
    assert.throws(
      () => validateConfig({ algorithm: 'maglev', tableSize: 65536 }),
      /consistent_hash: .*65536/,
    );
    assert.throws(
      () => validateConfig({ algorithm: 'ring_hash', minRingSize: 100, maxRingSize: 10 }),
      /consistent_hash: /,
    );
  });

  it('grpc-js parsing never throws a config error: it gets an invalid config carrying the error', async () => {
    const { result, lines } = await captureErrorLog(() =>
      ConsistentHashConfig.createFromJson({ affinity: 'sticky' }),
    );
    assert.ok(result instanceof InvalidHashPolicyConfig);
    assert.equal(result.getLoadBalancerName(), 'consistent_hash');
    assert.match(result.error.message, /consistent_hash: field "affinity".*"sticky"/);
    assert.deepEqual(lines, [], 'the channel logs it, once, when it uses the config');
    const a76 = RingHashExperimentalConfig.createFromJson({ requestHashHeader: 'k-bin' });
    assert.ok(a76 instanceof InvalidHashPolicyConfig);
    assert.match(a76.error.message, /ring_hash_experimental: field "requestHashHeader".*"k-bin"/);
  });

  it('round-trips through toJsonObject', () => {
    const config = ConsistentHashConfig.parse({
      algorithm: 'maglev',
      tableSize: 251,
      hashHeader: 'x-k',
    });
    const json = config.toJsonObject() as { consistent_hash: unknown };
    assert.deepEqual(ConsistentHashConfig.parse(json.consistent_hash).settings, config.settings);
  });
});
