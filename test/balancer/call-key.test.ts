import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createHashKeyInterceptor, type HashKeyCallOptions, register, withHashKey } from '../../src';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
} from '../support/hello-servers';

const HEADER = 'x-tenant';

describe('client key helpers', () => {
  let servers: RunningHelloServer[] = [];
  let target = '';
  before(async () => {
    register();
    servers = await startHelloServers(3);
    target = `static:///${servers.map((s) => s.address).join(',')}`;
  });
  after(() => stopAll(servers));

  it('withHashKey sets the header (validated, lowercased)', () => {
    assert.deepEqual(withHashKey('alice', 'X-Tenant').get('x-tenant'), ['alice']);
    const md = new grpc.Metadata();
    assert.equal(withHashKey('bob', HEADER, md), md);
    assert.throws(() => withHashKey('k', 'k-bin'), /-bin/);
  });

  it('the interceptor routes like the header would, from the hashKey option or a function', async () => {
    const config = [{ consistent_hash: { hashHeader: HEADER, missingKey: 'fail' } }];
    const plain = createHelloClient(target, config);
    const byOption = createHelloClient(target, config, {
      interceptors: [createHashKeyInterceptor({ header: HEADER })],
    });
    const byFunction = createHelloClient(target, config, {
      interceptors: [createHashKeyInterceptor({ header: HEADER, keyOf: () => 'fixed-tenant' })],
    });
    try {
      for (const key of ['t1', 't2', 't3', 't4', 't5', 't6']) {
        const expected = (await sayWithKey(plain, HEADER, key)).serverId;
        const viaOption = await new Promise<string | undefined>((resolve) => {
          const options: HashKeyCallOptions = { hashKey: key, deadline: Date.now() + 3000 };
          byOption.say({ text: key }, new grpc.Metadata(), options, (err, reply) =>
            resolve(err ? err.details : reply?.serverId),
          );
        });
        assert.equal(viaOption, expected, key);
      }
      const fixed = (await sayWithKey(plain, HEADER, 'fixed-tenant')).serverId;
      assert.equal((await sayWithKey(byFunction, 'unused', undefined)).serverId, fixed);
      // No key from the option: the call has none (and missingKey "fail" says so).
      const none = await sayWithKey(byOption, 'unused', undefined);
      assert.match(none.error?.details ?? '', /no "x-tenant" header/);
    } finally {
      plain.close();
      byOption.close();
      byFunction.close();
    }
  });
});
