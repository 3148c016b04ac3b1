import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConsistentHashConfigError,
  DEFAULT_HASH_HEADER,
  RING_HASH_EXPERIMENTAL_TYPE_NAME,
  register,
  validateConfig,
} from '../../src';
import { ConsistentHashConfig } from '../../src/balancer/config';
import { RingHashExperimentalConfig } from '../../src/balancer/ring-hash-experimental-config';
import { captureErrorLog } from '../support/grpc-log';
import { createHelloClient, sayWithKey, startHelloServers, stopAll } from '../support/hello-servers';

describe('consistent_hash config', () => {
  it('fills in the documented defaults', () => {
    assert.deepEqual(validateConfig({}), {
      algorithm: 'ketama',
      ringOptions: {},
      hashHeader: DEFAULT_HASH_HEADER,
      missingKey: 'random',
      affinity: 'failover',
      connect: 'lazy',
      boundedLoad: null,
    });
  });

  it('accepts lowerCamelCase and snake_case, lowercases the header, ignores unknown fields', () => {
    const camel = validateConfig({
      algorithm: 'ring_hash',
      minRingSize: 16,
      maxRingSize: 64,
      hashHeader: 'X-User-Id',
      missingKey: 'fail',
      affinity: 'strict',
      connect: 'eager',
      somethingNew: { future: true },
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
    ['hashHeader -bin', { hashHeader: 'x-key-bin' }, /"hashHeader".*-bin.*"x-key-bin"/],
    ['hashHeader chars', { hashHeader: 'x key' }, /"hashHeader".*"x key"/],
    ['hashHeader reserved', { hashHeader: 'grpc-timeout' }, /"hashHeader".*"grpc-timeout"/],
    ['missingKey', { missingKey: 'ignore' }, /"missingKey".*"ignore"/],
    ['affinity', { affinity: 'sticky' }, /"affinity".*"sticky"/],
    ['connect', { connect: 'now' }, /"connect".*"now"/],
    ['vnodes', { vnodes: -3 }, /"vnodes".*-3/],
    ['minRingSize', { algorithm: 'ring_hash', minRingSize: 1.5 }, /"minRingSize".*1\.5/],
    ['camel and snake disagree', { hashHeader: 'a', hash_header: 'b' }, /"hashHeader" and "hash_header"/],
    ['not an object', [] as unknown as object, /JSON object/],
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

  it('logs the error at ERROR when grpc-js parses a bad config (it would fall back silently)', async () => {
    const { result, lines } = await captureErrorLog(() =>
      ConsistentHashConfig.createFromJson({ affinity: 'sticky' }),
    );
    assert.ok(result instanceof ConsistentHashConfigError);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /consistent_hash.*"affinity".*"sticky"/);
    const a76 = await captureErrorLog(() =>
      RingHashExperimentalConfig.createFromJson({ requestHashHeader: 'k-bin' }),
    );
    assert.ok(a76.result instanceof ConsistentHashConfigError);
    assert.match(a76.lines[0]!, /ring_hash_experimental.*"requestHashHeader".*"k-bin"/);
  });

  it('round-trips through toJsonObject', () => {
    const config = ConsistentHashConfig.createFromJson({
      algorithm: 'maglev',
      tableSize: 251,
      hashHeader: 'x-k',
    });
    const json = config.toJsonObject() as { consistent_hash: unknown };
    assert.deepEqual(ConsistentHashConfig.createFromJson(json.consistent_hash).settings, config.settings);
  });
});

describe('an invalid config on a real channel', () => {
  let servers: Awaited<ReturnType<typeof startHelloServers>> = [];
  before(async () => {
    register();
    servers = await startHelloServers(1);
  });
  after(() => stopAll(servers));

  it('logs the error naming field and value at the default verbosity', async () => {
    const client = createHelloClient(`static:///${servers[0]!.address}`, [
      { consistent_hash: { missingKey: 'maybe' } },
    ]);
    try {
      const { result, lines } = await captureErrorLog(() => sayWithKey(client, DEFAULT_HASH_HEADER, 'k'));
      // grpc-js falls back to pick_first, so the call itself succeeds: the log line is the only signal.
      assert.ok(!(result instanceof Error) && result.serverId === 'server-0');
      assert.ok(
        lines.some((l) => /consistent_hash.*"missingKey".*"maybe"/.test(l)),
        `log lines: ${JSON.stringify(lines)}`,
      );
    } finally {
      client.close();
    }
  });
});
