import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  type ConsistentHashJsonConfig,
  type ConsistentHashLoadBalancingConfig,
  createHashKeyInterceptor,
  DEFAULT_HASH_HEADER,
  register,
  validateConfig,
  withHashKey,
} from '../../src';
import { freePort } from '../support/etcd-server';
import { captureErrorLog } from '../support/grpc-log';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
} from '../support/hello-servers';

// The exported config type is exact: a misspelt field is a compile error (tsc checks this file).
// @ts-expect-error "hashheader" is not a field
const typo: ConsistentHashJsonConfig = { hashheader: 'x-user-id' };
// @ts-expect-error "hashHeaders" is not a field
const entryTypo: ConsistentHashLoadBalancingConfig = { consistent_hash: { hashHeaders: 'x' } };
void typo;
void entryTypo;

describe('mistakes are loud on a real channel', () => {
  let servers: RunningHelloServer[] = [];
  let target = '';
  before(async () => {
    register();
    servers = await startHelloServers(3);
    target = `static:///${servers.map((s) => s.address).join(',')}`;
  });
  after(() => stopAll(servers));

  async function withClient<T>(config: object[], fn: (client: HelloClient) => Promise<T>, options = {}) {
    const client = createHelloClient(target, config, options);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  const typos: [object, RegExp][] = [
    [{ hashheader: 'x-user-id' }, /unknown field "hashheader" \(did you mean "hashHeader"\?\)/],
    [{ hashHeaders: 'x-user-id' }, /unknown field "hashHeaders" \(did you mean "hashHeader"\?\)/],
    [{ missing_keys: 'random' }, /unknown field "missing_keys" \(did you mean "missingKey"\?\)/],
    [{ algoritm: 'maglev' }, /unknown field "algoritm" \(did you mean "algorithm"\?\)/],
  ];
  for (const [json, message] of typos) {
    it(`a typo (${Object.keys(json)[0]}) fails every call at once with UNAVAILABLE naming the field, logged once`, async () => {
      await withClient([{ consistent_hash: json }], async (client) => {
        const { result, lines } = await captureErrorLog(async () => {
          const started = Date.now();
          const outcomes = [];
          for (const key of ['a', 'b', 'c']) outcomes.push(await sayWithKey(client, 'x-user-id', key));
          // waitForReady cannot fix a config: it fails too, instead of waiting for the deadline.
          outcomes.push(await sayWithKey(client, 'x-user-id', 'd', { waitForReady: true }));
          return { outcomes, elapsed: Date.now() - started };
        });
        assert.ok(!(result instanceof Error));
        assert.ok(result.elapsed < 2000, `took ${result.elapsed} ms`);
        for (const outcome of result.outcomes) {
          assert.equal(outcome.serverId, undefined, 'no call may succeed through a silent fallback');
          assert.equal(outcome.error?.code, grpc.status.UNAVAILABLE);
          assert.match(outcome.error!.details, /^invalid load-balancing config: consistent_hash: /);
          assert.match(outcome.error!.details, message);
        }
        const errors = lines.filter((l) => message.test(l));
        assert.equal(errors.length, 1, `one ERROR line: ${JSON.stringify(lines)}`);
      });
    });
  }

  it('an invalid value fails calls the same way, for consistent_hash and ring_hash_experimental', async () => {
    for (const [config, message] of [
      [
        { consistent_hash: { affinity: 'sticky' } },
        /consistent_hash: field "affinity" must be one of.*"sticky"/,
      ],
      [{ ring_hash_experimental: { minRingSize: -1 } }, /ring_hash_experimental: field "minRingSize".*-1/],
      [{ ring_hash_experimental: { requestHashHeader: 'user-agent' } }, /"requestHashHeader".*"user-agent"/],
    ] as const) {
      await withClient([config], async (client) => {
        const { result } = await captureErrorLog(() => sayWithKey(client, 'x-hash-key', 'k'));
        assert.ok(!(result instanceof Error));
        assert.equal(result.error?.code, grpc.status.UNAVAILABLE, JSON.stringify(config));
        assert.match(result.error!.details, message);
      });
    }
  });

  it('ring_hash_experimental ignores unknown fields, as every gRPC client does', async () => {
    await withClient(
      [{ ring_hash_experimental: { requestHashHeader: 'x-k', someFutureField: 1 } }],
      async (client) => {
        const outcome = await sayWithKey(client, 'x-k', 'k');
        assert.match(outcome.serverId ?? '', /^server-\d$/, outcome.error?.details);
      },
    );
  });

  it('a connection error names the cause, without a dangling "Resolution note: "', async () => {
    const port = await freePort(); // nothing listens there
    const client = createHelloClient(`static:///127.0.0.1:${port}`, [{ consistent_hash: {} }]);
    try {
      const outcome = await sayWithKey(client, DEFAULT_HASH_HEADER, 'k');
      assert.equal(outcome.error?.code, grpc.status.UNAVAILABLE);
      assert.match(outcome.error!.details, /ECONNREFUSED/);
      assert.doesNotMatch(outcome.error!.details, /Resolution note/);
    } finally {
      client.close();
    }
  });

  it('static://host:port (two slashes) fails at once, pointing to the missing third slash', async () => {
    const address = servers[0]!.address;
    const client = createHelloClient(`static://${address}`, [{ consistent_hash: {} }]);
    try {
      const started = Date.now();
      const outcome = await sayWithKey(client, DEFAULT_HASH_HEADER, 'k');
      assert.ok(Date.now() - started < 1000);
      assert.equal(outcome.error?.code, grpc.status.UNAVAILABLE);
      assert.ok(
        outcome.error!.details.includes(`write static:///${address} (three slashes)`),
        outcome.error!.details,
      );
    } finally {
      client.close();
    }
  });

  it('a keyless call fails by default, naming the header and both ways to set it', async () => {
    await withClient([{ consistent_hash: { hashHeader: 'x-user-id' } }], async (client) => {
      assert.match((await sayWithKey(client, 'x-user-id', 'alice')).serverId ?? '', /^server-\d$/);
      const outcome = await sayWithKey(client, 'x-other', 'alice');
      assert.equal(outcome.error?.code, grpc.status.INTERNAL);
      assert.match(outcome.error!.details, /no "x-user-id" header/);
      assert.match(outcome.error!.details, /withHashKey\(key, "x-user-id"\)/);
      assert.match(outcome.error!.details, /createHashKeyInterceptor\(\{ header: "x-user-id" \}\)/);
      assert.match(outcome.error!.details, /missingKey: "random"/);
      // A header withHashKey sets by default is not the configured one: the same failure.
      const mismatched = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.say({ text: 'x' }, withHashKey('alice'), { deadline: Date.now() + 3000 }, (e) => resolve(e)),
      );
      assert.match(mismatched?.details ?? '', /no "x-user-id" header/);
    });
  });

  it('missingKey "random" (opt-in) and ring_hash_experimental (A76) still serve keyless calls', async () => {
    for (const config of [
      { consistent_hash: { missingKey: 'random' } },
      { ring_hash_experimental: { requestHashHeader: 'x-k' } },
      { ring_hash_experimental: {} },
    ]) {
      await withClient([config], async (client) => {
        const outcome = await sayWithKey(client, 'x-none', undefined);
        assert.match(
          outcome.serverId ?? '',
          /^server-\d$/,
          `${JSON.stringify(config)}: ${outcome.error?.details}`,
        );
      });
    }
  });

  it('the interceptor: keyOf undefined means no key; a non-string key fails that call clearly', async () => {
    const config = [{ consistent_hash: { hashHeader: 'x-tenant' } }];
    let next: unknown;
    const interceptor = createHashKeyInterceptor({
      header: 'x-tenant',
      keyOf: () => next as string | undefined,
    });
    await withClient(
      config,
      async (client) => {
        next = undefined;
        const none = await sayWithKey(client, 'x-unused', undefined);
        assert.match(none.error?.details ?? '', /no "x-tenant" header/);
        for (const bad of [42, null, { id: 1 }]) {
          next = bad;
          const outcome = await sayWithKey(client, 'x-unused', undefined);
          assert.equal(outcome.error?.code, grpc.status.INVALID_ARGUMENT, String(bad));
          assert.match(
            outcome.error!.details,
            /createHashKeyInterceptor: keyOf gave no usable key: the key must be a string/,
          );
        }
        next = 'tenant-1';
        assert.match((await sayWithKey(client, 'x-unused', undefined)).serverId ?? '', /^server-\d$/);
      },
      { interceptors: [interceptor] },
    );
  });
});

describe('headers that cannot carry a key are refused at config time', () => {
  const refused: [string, RegExp][] = [
    ['user-agent', /set by grpc-js on the connection/],
    ['User-Agent', /set by grpc-js on the connection/],
    ['content-type', /set by grpc-js on the connection/],
    ['te', /set by grpc-js on the connection/],
    ['grpc-timeout', /reserved by gRPC/],
    ['grpc-custom', /reserved by gRPC/],
    [':authority', /pseudo-header/],
    [':path', /pseudo-header/],
    ['x-key-bin', /binary \(-bin\)/],
    ['x key', /not a valid header name/],
    ['x/key', /not a valid header name/],
    ['connection', /connection-specific/],
    ['transfer-encoding', /connection-specific/],
  ];
  for (const [header, reason] of refused) {
    it(`refuses ${JSON.stringify(header)}, naming it`, () => {
      const named = new RegExp(`"hashHeader" cannot carry the hash key: ${JSON.stringify(header)}`);
      assert.throws(
        () => validateConfig({ hashHeader: header }),
        (e: Error) => named.test(e.message) && reason.test(e.message),
      );
      assert.throws(() => validateConfig({ ring_hash_experimental: { requestHashHeader: header } }), reason);
      assert.throws(() => withHashKey('k', header), reason);
      assert.throws(() => createHashKeyInterceptor({ header }), reason);
    });
  }

  it('accepts ordinary custom headers', () => {
    for (const header of ['x-user-id', 'tenant', 'x.trace_id', DEFAULT_HASH_HEADER, 'authorization']) {
      assert.equal(validateConfig({ hashHeader: header }).hashHeader, header);
    }
  });
});

describe('withHashKey', () => {
  it('throws a TypeError for a key that is not a string', () => {
    for (const key of [undefined, null, 42, { id: 'a' }, ['a']]) {
      assert.throws(
        () => withHashKey(key as unknown as string),
        (e: Error) => e instanceof TypeError && /withHashKey: the key must be a string/.test(e.message),
        String(key),
      );
    }
    assert.throws(
      () => withHashKey('josé'),
      (e: Error) => e instanceof TypeError && /encodeURIComponent/.test(e.message),
    );
    assert.deepEqual(withHashKey('alice').get(DEFAULT_HASH_HEADER), ['alice']);
  });
});

describe('validateConfig shapes', () => {
  const serviceConfig = {
    loadBalancingConfig: [{ consistent_hash: { hashHeader: 'x-user-id', affinity: 'strict' } }],
    methodConfig: [{ name: [{ service: 'hello.Hello' }], timeout: '1s' }],
  };

  it('accepts a policy config, an entry, a loadBalancingConfig list, a service config object or JSON string', () => {
    const expected = validateConfig({ hashHeader: 'x-user-id', affinity: 'strict' });
    assert.equal(expected.affinity, 'strict');
    assert.deepEqual(validateConfig(serviceConfig.loadBalancingConfig[0]), expected);
    assert.deepEqual(validateConfig(serviceConfig.loadBalancingConfig), expected);
    assert.deepEqual(
      validateConfig([...serviceConfig.loadBalancingConfig, { round_robin: {} }]),
      expected,
      'a fallback after ours is fine',
    );
    assert.deepEqual(validateConfig(serviceConfig), expected);
    assert.deepEqual(validateConfig(JSON.stringify(serviceConfig)), expected);
    assert.equal(validateConfig({ ring_hash_experimental: { requestHashHeader: 'x-k' } }).hashHeader, 'x-k');
  });

  const refused: [string, unknown, RegExp][] = [
    [
      'a bad value inside a whole service config',
      { loadBalancingConfig: [{ consistent_hash: { affinity: 'sticky' } }] },
      /^loadBalancingConfig\[0\]\.consistent_hash: field "affinity" must be one of "failover", "strict", got "sticky"$/,
    ],
    [
      'the same as a JSON string',
      JSON.stringify({ loadBalancingConfig: [{ consistent_hash: { affinity: 'sticky' } }] }),
      /^loadBalancingConfig\[0\]\.consistent_hash: field "affinity"/,
    ],
    [
      'a misspelt policy name',
      { consistent_hsh: { hashHeader: 'x' } },
      /^loadBalancingConfig entry: unknown load-balancing policy "consistent_hsh" \(did you mean "consistent_hash"\?\)/,
    ],
    [
      'a misspelt policy name in a list',
      [{ consistent_hsh: {} }],
      /^loadBalancingConfig\[0\]: unknown load-balancing policy "consistent_hsh" \(did you mean "consistent_hash"\?\)/,
    ],
    [
      'an entry with two policy keys',
      { consistent_hash: {}, round_robin: {} },
      /^loadBalancingConfig entry: an entry must have exactly one key, the policy name; got "consistent_hash", "round_robin"/,
    ],
    [
      'an entry with two keys in a service config',
      { loadBalancingConfig: [{ consistent_hash: {}, ring_hash_experimental: {} }] },
      /^loadBalancingConfig\[0\]: an entry must have exactly one key/,
    ],
    [
      'an unknown field in an entry',
      { consistent_hash: { hashheader: 'x' } },
      /^consistent_hash: unknown field "hashheader" \(did you mean "hashHeader"\?\)/,
    ],
    [
      'an unknown field in a list',
      [{ consistent_hash: { hashHeader: 'x', missingkey: 'fail' } }],
      /^loadBalancingConfig\[0\]\.consistent_hash: unknown field "missingkey" \(did you mean "missingKey"\?\)/,
    ],
    [
      'an unknown service config field',
      { loadBalancingConfigs: [{ consistent_hash: {} }] },
      /^service config: unknown field "loadBalancingConfigs" \(did you mean "loadBalancingConfig"\?\)/,
    ],
    [
      'a service config without our policy',
      { loadBalancingConfig: [{ round_robin: {} }] },
      /^loadBalancingConfig: has no "consistent_hash" or "ring_hash_experimental" entry/,
    ],
    [
      'another policy before ours',
      [{ round_robin: {} }, { consistent_hash: {} }],
      /^loadBalancingConfig\[0\]: "round_robin" comes first.*"consistent_hash" would never be used/,
    ],
    [
      'loadBalancingPolicy instead of loadBalancingConfig',
      { loadBalancingPolicy: 'consistent_hash' },
      /^service config: "loadBalancingPolicy" only names grpc-js's built-in policies/,
    ],
    ['invalid JSON', '{"loadBalancingConfig": [', /^service config: not valid JSON/],
    ['an entry that is not an object', [42], /^loadBalancingConfig\[0\]: an entry must be an object/],
  ];
  for (const [what, input, message] of refused) {
    it(`refuses ${what}, with the path of the problem`, () => {
      assert.throws(
        () => validateConfig(input),
        (e: Error) => e.name === 'ConsistentHashConfigError' && message.test(e.message),
      );
    });
  }
});
