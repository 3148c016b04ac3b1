import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import { CONSUL_INITIAL_BACKOFF_OPTION, ConsulResolver } from '../../src/exports/consul';
import { ConsulDouble } from '../support/consul-double';
import { NEEDS_DOUBLE, uniqueServiceName } from '../support/consul-env';
import { addressesOf, ResolutionRecorder } from '../support/consul-resolver-recorder';
import { createHelloClient, sayWithKey } from '../support/hello-servers';

const HEALTH = 'GET /v1/health/service/:name';

describe('consul resolver: bad answers', { skip: NEEDS_DOUBLE }, () => {
  let double: ConsulDouble;
  let service: string;
  const resolvers: ConsulResolver[] = [];
  before(async () => {
    double = await ConsulDouble.start();
  });
  after(async () => {
    for (const r of resolvers) r.destroy();
    await double.stop();
  });
  beforeEach(() => {
    double.setFault(null);
    service = uniqueServiceName('bad');
  });
  const open = (query = '', options: grpc.ChannelOptions = {}) => {
    const recorder = new ResolutionRecorder();
    const resolver = new ConsulResolver(
      { scheme: 'consul', authority: double.address, path: `${service}${query}` },
      recorder.listener,
      options,
    );
    resolver.updateResolution();
    resolvers.push(resolver);
    return { recorder, resolver };
  };
  const add = (id: string, address: string, port: unknown) =>
    double.addCatalogService({ id, name: service, address, port: port as number });
  const healthRequestTimes = () =>
    double.requests.filter((r) => r.route === HEALTH && r.path.endsWith(`/${service}`)).map((r) => r.at);

  it('skips an entry with Port "abc" and still follows real changes', async () => {
    add('good-1', '127.0.0.1', 1001);
    add('broken', '127.0.0.1', 'abc');
    const { recorder, resolver } = open('?wait=2s');
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'the first list');
    assert.deepEqual(addressesOf(first.endpoints), ['127.0.0.1:1001']);
    add('good-2', '127.0.0.1', 1002);
    const second = await recorder.waitFor((r) => r.endpoints?.length === 2, 'the change');
    assert.deepEqual(addressesOf(second.endpoints), ['127.0.0.1:1001', '127.0.0.1:1002']);
    assert.equal(
      recorder.results.filter((r) => r.error).length,
      0,
      'the malformed entry never failed the answer',
    );
    resolver.destroy();
  });

  it('leaves out an address that is neither an IP nor a DNS name', async () => {
    add('good', '127.0.0.1', 1001);
    add('junk', 'not an ip', 1002);
    const { recorder, resolver } = open();
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'the list');
    assert.deepEqual(addressesOf(first.endpoints), ['127.0.0.1:1001']);
    resolver.destroy();
  });

  it('makes ::1 and 0:0:0:0:0:0:0:1 one member', async () => {
    add('short', '::1', 1001);
    add('long', '0:0:0:0:0:0:0:1', 1001);
    const { recorder, resolver } = open();
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'the list');
    assert.deepEqual(addressesOf(first.endpoints), ['[::1]:1001']);
    resolver.destroy();
  });

  it('hashkey=id: an instance that comes back on a new IP keeps its ring identity', async () => {
    add('cache-0', '127.0.0.1', 1001);
    add('cache-1', '127.0.0.1', 1002);
    const { recorder, resolver } = open('?hashkey=id&wait=2s');
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'the list');
    assert.deepEqual(
      first.endpoints!.map((e) => e.hashKey),
      ['cache-0', 'cache-1'],
    );
    add('cache-0', '127.0.0.9', 1001); // re-registered with a new address
    const moved = await recorder.waitFor(
      (r) => addressesOf(r.endpoints).includes('127.0.0.9:1001'),
      'the new address',
    );
    const identityOf = Object.fromEntries(moved.endpoints!.map((e) => [addressesOf([e])[0], e.hashKey]));
    assert.deepEqual(identityOf, { '127.0.0.1:1002': 'cache-1', '127.0.0.9:1001': 'cache-0' });
    resolver.destroy();
  });

  for (const status of [429, 503]) {
    it(`honours Retry-After on ${status}, even when the channel asks to re-resolve`, async () => {
      add('a', '127.0.0.1', 1001);
      double.setFault({ kind: 'status', status, body: 'slow down', headers: { 'Retry-After': '1' } });
      const { recorder, resolver } = open('', { [CONSUL_INITIAL_BACKOFF_OPTION]: 20 });
      const error = await recorder.waitFor((r) => r.error !== null, `the ${status}`);
      assert.match(error.error!.details, new RegExp(`HTTP ${status}: slow down`));
      resolver.updateResolution(); // an early retry must still respect Retry-After
      double.setFault(null);
      await recorder.waitFor((r) => r.endpoints !== null, 'the list after Retry-After');
      const [failedAt, retriedAt] = healthRequestTimes();
      // The double's own request timestamps: 1 s asked, against a 20 ms backoff.
      assert.ok(retriedAt! - failedAt! >= 950, `retried after ${retriedAt! - failedAt!} ms`);
      resolver.destroy();
    });
  }
});

describe('consul: "nothing here" fails calls at once', { skip: NEEDS_DOUBLE }, () => {
  let double: ConsulDouble;
  before(async () => {
    register();
    double = await ConsulDouble.start();
  });
  after(() => double.stop());

  it('a service with no passing instances: UNAVAILABLE naming it at once; waitForReady calls wait', async () => {
    const service = uniqueServiceName('empty');
    const client = createHelloClient(`consul://${double.address}/${service}`, [
      { consistent_hash: { hashHeader: 'x-key' } },
    ]);
    try {
      const t0 = Date.now();
      const r = await sayWithKey(client, 'x-key', 'k', { deadline: Date.now() + 5000 });
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(r.error!.details, new RegExp(`no passing instances of service "${service}" in Consul at`));
      assert.ok(Date.now() - t0 < 2000, `failed after ${Date.now() - t0} ms, not at the deadline`);
      const waiting = await sayWithKey(client, 'x-key', 'k', {
        deadline: Date.now() + 800,
        waitForReady: true,
      });
      assert.equal(waiting.error?.code, grpc.status.DEADLINE_EXCEEDED, 'a waitForReady call waits');
    } finally {
      client.close();
    }
  });
});
