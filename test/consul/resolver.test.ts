import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  CONSUL_TOKEN_OPTION,
  ConsulResolver,
  createConsulToken,
  queryTimeoutMs,
} from '../../src/exports/consul';
import { ConsulDouble } from '../support/consul-double';
import { NEEDS_DOUBLE, uniqueServiceName } from '../support/consul-env';
import { addressesOf, ResolutionRecorder } from '../support/consul-resolver-recorder';
import { waitFor } from '../support/hello-servers';

const HEALTH = 'GET /v1/health/service/:name';

function uri(target: string): grpc.experimental.GrpcUri {
  const m = /^consul:(?:\/\/([^/]*)\/)?(.*)$/.exec(target)!;
  return { scheme: 'consul', authority: m[1], path: m[2]! };
}

/**
 * Starts a resolver on `target` as grpc-js does (constructor, then updateResolution()), marking both
 * as a synchronous section.
 */
function startResolver(target: string, options: grpc.ChannelOptions = {}) {
  const recorder = new ResolutionRecorder();
  const resolver = recorder.sync(() => {
    const created = new ConsulResolver(uri(target), recorder.listener, options);
    created.updateResolution();
    return created;
  });
  return { recorder, resolver };
}

function healthRequests(double: ConsulDouble, service: string) {
  return double.requests.filter((r) => r.route === HEALTH && r.path.endsWith(`/${service}`));
}

describe('consul resolver against the double', { skip: NEEDS_DOUBLE }, () => {
  let double: ConsulDouble;
  let service: string;
  const resolvers: ConsulResolver[] = [];
  before(async () => {
    double = await ConsulDouble.start({ acl: undefined });
  });
  after(async () => {
    for (const r of resolvers) r.destroy();
    await double.stop();
  });
  beforeEach(() => {
    double.setFault(null);
    service = uniqueServiceName('web');
  });
  const open = (query = '', options: grpc.ChannelOptions = {}) => {
    const started = startResolver(`consul://${double.address}/${service}${query}`, options);
    resolvers.push(started.resolver);
    return started;
  };
  const add = (
    id: string,
    port: number,
    extra: Partial<Parameters<ConsulDouble['addCatalogService']>[0]> = {},
  ) => double.addCatalogService({ id, name: service, address: '127.0.0.1', port, ...extra });

  it('pushes the list asynchronously, then follows changes with blocking queries', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=2s');
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'first list');
    assert.deepEqual(addressesOf(first.endpoints), ['127.0.0.1:1001']);
    assert.equal(first.synchronous, false);
    add('b', 1002);
    const second = await recorder.waitFor((r) => r.endpoints?.length === 2, 'second list');
    assert.deepEqual(addressesOf(second.endpoints), ['127.0.0.1:1001', '127.0.0.1:1002']);
    assert.equal(second.attributes, first.attributes, 'attributes object is stable');
    const reqs = healthRequests(double, service);
    assert.equal(reqs[0]!.query.get('index'), null, 'the first query does not block');
    assert.ok(Number(reqs[1]!.query.get('index')) > 0);
    assert.equal(reqs[1]!.query.get('wait'), '2s');
    assert.equal(reqs[0]!.query.get('passing'), 'true');
    resolver.destroy();
  });

  it('sends repeated tags and dc, and the double applies them', async () => {
    add('ab', 1001, { tags: ['a', 'b'] });
    add('a', 1002, { tags: ['a'] });
    const { recorder, resolver } = open('?tag=a&tag=b&dc=dc1');
    const r = await recorder.waitFor((x) => x.endpoints !== null, 'list');
    assert.deepEqual(addressesOf(r.endpoints), ['127.0.0.1:1001']);
    assert.deepEqual(r.endpoints![0]!.tags, ['a', 'b']);
    assert.deepEqual(healthRequests(double, service)[0]!.query.getAll('tag'), ['a', 'b']);
    resolver.destroy();
  });

  it('reports an unknown datacenter as UNAVAILABLE naming the agent and the cause', async () => {
    const { recorder, resolver } = open('?dc=nowhere', { [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000 });
    const r = await recorder.waitFor((x) => x.error !== null, 'error');
    assert.equal(r.error!.code, grpc.status.UNAVAILABLE);
    assert.match(
      r.error!.details,
      new RegExp(`Consul at http://${double.address}.*HTTP 500: No path to datacenter`),
    );
    resolver.destroy();
  });

  it('pushes only on change: index bumps that leave the endpoint list equal are not re-pushed', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=2s', { [CONSUL_QUERIES_PER_SECOND_OPTION]: 50 });
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    await waitFor(() => healthRequests(double, service).length >= 2, 'a blocking query');
    for (let i = 0; i < 3; i++) {
      const before = healthRequests(double, service).length;
      // An instance without any address is skipped: the answer changes, the list does not.
      add(`x${i}`, 2000 + i, { address: '', node: { Node: 'n', Address: '' } });
      await waitFor(() => healthRequests(double, service).length > before, 'the next query');
    }
    assert.equal(recorder.results.length, 1);
    resolver.destroy();
  });

  it('resets the index when it goes backwards, and uses 1 when Consul answers index 0', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=2s', { [CONSUL_QUERIES_PER_SECOND_OPTION]: 20 });
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    await waitFor(() => healthRequests(double, service).length >= 2, 'a blocking query');
    const n = healthRequests(double, service).length;
    double.resetIndex(1);
    await waitFor(() => healthRequests(double, service).length >= n + 2, 'queries after the reset');
    const after = healthRequests(double, service).slice(n);
    assert.equal(after[0]!.query.get('index'), null, 'index reset to 0: a non-blocking query');
    assert.equal(after[1]!.query.get('index'), '1');
    double.setFault({ kind: 'index-zero' });
    const m = healthRequests(double, service).length;
    add('b', 1002);
    await waitFor(() => healthRequests(double, service).length >= m + 3, 'queries under index 0');
    for (const r of healthRequests(double, service).slice(m + 1)) assert.equal(r.query.get('index'), '1');
    await recorder.waitFor((x) => x.endpoints?.length === 2, 'list still updates');
    resolver.destroy();
  });

  it('rate-limits a server that answers every blocking query at once (burst 2, then the set rate)', async () => {
    add('a', 1001);
    double.setFault({ kind: 'immediate' });
    const t0 = Date.now();
    const { recorder, resolver } = open('', { [CONSUL_QUERIES_PER_SECOND_OPTION]: 4 });
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    await waitFor(() => Date.now() - t0 >= 1500, '1.5 s', 3000, 50);
    resolver.destroy();
    const elapsed = (Date.now() - t0) / 1000;
    const count = healthRequests(double, service).length;
    // Burst 2 plus 4/s; an unlimited loop would make thousands of requests.
    assert.ok(count <= 2 + Math.ceil(elapsed * 4) + 1, `${count} requests in ${elapsed} s`);
    assert.ok(count >= 4, `${count} requests: polling continued`);
  });

  it('backs off exponentially on errors and keeps the last good list (no error pushed), then recovers', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=2s', {
      [CONSUL_INITIAL_BACKOFF_OPTION]: 100,
      [CONSUL_MAX_BACKOFF_OPTION]: 400,
      [CONSUL_QUERIES_PER_SECOND_OPTION]: 50,
    });
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    double.setFault({ kind: 'status', status: 500, body: 'rpc error: No cluster leader' });
    const n = healthRequests(double, service).length;
    add('b', 1002); // wakes the blocking query into the fault
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 >= 1500, '1.5 s', 3000, 50);
    const failed = healthRequests(double, service).length - n;
    // 100, 160, 256, 400, 400 ... ms: about 5-7 attempts in 1.5 s; at 50/s without backoff, 75.
    assert.ok(failed >= 3 && failed <= 9, `${failed} attempts in 1.5 s`);
    assert.ok(
      recorder.results.every((r) => r.error === null),
      'no error pushed once a list exists',
    );
    double.setFault(null);
    const r = await recorder.waitFor((x) => x.endpoints?.length === 2, 'recovery');
    assert.deepEqual(addressesOf(r.endpoints), ['127.0.0.1:1001', '127.0.0.1:1002']);
    resolver.destroy();
  });

  for (const fault of [{ kind: 'malformed-json' }, { kind: 'wrong-shape' }] as const) {
    it(`keeps the last good list through ${fault.kind} answers`, async () => {
      add('a', 1001);
      const { recorder, resolver } = open('?wait=2s', {
        [CONSUL_INITIAL_BACKOFF_OPTION]: 50,
        [CONSUL_QUERIES_PER_SECOND_OPTION]: 50,
      });
      await recorder.waitFor((x) => x.endpoints !== null, 'list');
      double.setFault(fault);
      const n = healthRequests(double, service).length;
      add('b', 1002);
      await waitFor(() => healthRequests(double, service).length >= n + 3, 'failing queries');
      assert.equal(recorder.results.length, 1);
      double.setFault(null);
      await recorder.waitFor((x) => x.endpoints?.length === 2, 'recovery');
      resolver.destroy();
    });
  }

  it('reports an error when there never was a list, and retries early on updateResolution()', async () => {
    double.setFault({ kind: 'status', status: 500 });
    const { recorder, resolver } = open('', { [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000 });
    const r = await recorder.waitFor((x) => x.error !== null, 'error');
    assert.equal(r.error!.code, grpc.status.UNAVAILABLE);
    assert.match(r.error!.details, /HTTP 500: injected failure/);
    add('a', 1001);
    double.setFault(null);
    const t0 = Date.now();
    recorder.sync(() => resolver.updateResolution());
    const ok = await recorder.waitFor((x) => x.endpoints !== null, 'early retry', 0, 3000);
    assert.equal(ok.synchronous, false);
    assert.ok(Date.now() - t0 < 2000, 'retried well before the 60 s backoff');
    resolver.destroy();
  });

  it('reports connection refused with the address, keeps the list through an outage, and recovers', async () => {
    const local = await ConsulDouble.start();
    try {
      const { recorder, resolver } = startResolver(`consul://${local.address}/${service}?wait=1s`, {
        [CONSUL_INITIAL_BACKOFF_OPTION]: 50,
        [CONSUL_MAX_BACKOFF_OPTION]: 200,
      });
      local.addCatalogService({ id: 'a', name: service, address: '127.0.0.1', port: 1001 });
      await recorder.waitFor((x) => x.endpoints?.length === 1, 'list');
      await local.closeListener();
      // The outage itself: 400 ms of refused connections (several 50-200 ms backoff rounds).
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(recorder.results.length, 1, 'nothing pushed during the outage');
      local.addCatalogService({ id: 'b', name: service, address: '127.0.0.1', port: 1002 });
      await local.reopenListener();
      await recorder.waitFor((x) => x.endpoints?.length === 2, 'recovery after the outage');
      assert.ok(recorder.results.every((r) => r.error === null));
      resolver.destroy();
      await local.closeListener();
      const never = startResolver(`consul://${local.address}/${service}`, {
        [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000,
      });
      const e = await never.recorder.waitFor((x) => x.error !== null, 'refused error');
      assert.match(e.error!.details, new RegExp(`Consul at http://${local.address}: .*ECONNREFUSED`));
      never.resolver.destroy();
    } finally {
      await local.stop();
    }
  });

  it('times out a hung query after wait + wait/16 + slack, keeping the list', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=1s', { [CONSUL_INITIAL_BACKOFF_OPTION]: 50 });
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    double.setFault({ kind: 'hang' });
    const n = healthRequests(double, service).length;
    await waitFor(() => healthRequests(double, service).length >= n + 1, 'a hung query', 5000);
    const t0 = Date.now();
    await waitFor(() => healthRequests(double, service).length >= n + 2, 'the query after the timeout', 8000);
    const waited = Date.now() - t0;
    assert.ok(waited >= queryTimeoutMs(1000, true) - 1200, `gave up after ${waited} ms`);
    assert.equal(recorder.results.length, 1);
    double.setFault(null);
    add('b', 1002);
    await recorder.waitFor((x) => x.endpoints?.length === 2, 'recovery', 0, 8000);
    resolver.destroy();
  });

  it('works with slow answers', async () => {
    add('a', 1001);
    double.setFault({ kind: 'slow', delayMs: 300 });
    const { recorder, resolver } = open('?wait=2s');
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    add('b', 1002);
    await recorder.waitFor((x) => x.endpoints?.length === 2, 'update through slow answers');
    resolver.destroy();
  });

  it('destroy() aborts the in-flight blocking query at once and stops; updateResolution() restarts', async () => {
    add('a', 1001);
    const { recorder, resolver } = open('?wait=5m');
    await recorder.waitFor((x) => x.endpoints !== null, 'list');
    await waitFor(() => healthRequests(double, service).length >= 2, 'a blocking query');
    const before = healthRequests(double, service).length;
    const t0 = Date.now();
    resolver.destroy();
    // The double's blocked query ends when the client's socket closes.
    await waitFor(() => double.blockedQueries === 0, 'the aborted query to close', 2000, 5);
    const ms = Date.now() - t0;
    assert.ok(ms < 500, `socket closed after ${ms} ms`);
    add('b', 1002);
    // Nothing to wait on for "no further request": watch a short window. A query loop that
    // survived destroy() would ask again at once (its token bucket still holds a burst), so 300 ms
    // is ample.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(healthRequests(double, service).length, before, 'no query after destroy');
    assert.equal(recorder.results.length, 1, 'no listener call after destroy');
    recorder.sync(() => resolver.updateResolution());
    const again = await recorder.waitFor((x) => x.endpoints?.length === 2, 'restart', 1);
    assert.equal(again.synchronous, false);
    resolver.destroy();
  });

  it('sends the token only as X-Consul-Token, and never puts it in errors', async () => {
    const secret = 'b1gs3cret-token-value';
    const acl = await ConsulDouble.start({
      acl: { tokens: { [secret]: { serviceRead: true, nodeRead: true, serviceWrite: true }, noread: {} } },
    });
    try {
      acl.addCatalogService({ id: 'a', name: service, address: '127.0.0.1', port: 1001 });
      const good = startResolver(`consul://${acl.address}/${service}`, {
        [CONSUL_TOKEN_OPTION]: createConsulToken(secret),
      });
      await good.recorder.waitFor((x) => x.endpoints?.length === 1, 'list with a good token');
      good.resolver.destroy();
      for (const r of acl.requests) {
        assert.equal(r.token, secret);
        assert.equal(r.query.has('token'), false);
      }
      const badSecret = 'wrong-s3cret-value';
      const bad = startResolver(`consul://${acl.address}/${service}`, {
        [CONSUL_TOKEN_OPTION]: createConsulToken(badSecret),
        [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000,
      });
      const e = await bad.recorder.waitFor((x) => x.error !== null, '403');
      assert.match(e.error!.details, /HTTP 403: ACL not found/);
      assert.ok(!e.error!.details.includes(badSecret) && !e.note.includes(badSecret));
      bad.resolver.destroy();
      const noRead = startResolver(`consul://${acl.address}/${service}`, {
        [CONSUL_TOKEN_OPTION]: createConsulToken('noread'),
      });
      const empty = await noRead.recorder.waitFor(() => true, 'answer for a token without read rights');
      // An empty answer fails calls at once, naming the service and the agent.
      assert.equal(
        empty.error?.details,
        `consul://${acl.address}/${service}: no passing instances of service "${service}" in Consul at http://${acl.address}`,
      );
      noRead.resolver.destroy();
    } finally {
      await acl.stop();
    }
  });

  it('reports a malformed target asynchronously as UNAVAILABLE naming the parameter', async () => {
    const { recorder, resolver } = open('?wait=forever');
    const r = await recorder.waitFor(() => true, 'error');
    assert.equal(r.synchronous, false);
    assert.equal(r.error!.code, grpc.status.UNAVAILABLE);
    assert.match(r.error!.details, /parameter "wait".*"forever"/);
    resolver.destroy();
  });

  it('builds endpoints from the double: Node.Address fallback, IPv6, weights and meta', async () => {
    add('n', 1001, { address: '', node: { Node: 'other', Address: '127.0.0.2' } });
    add('v6', 1002, { address: '::1', weight: 5, meta: { zone: 'z' } });
    const { recorder, resolver } = open();
    const r = await recorder.waitFor((x) => x.endpoints !== null, 'list');
    assert.deepEqual(addressesOf(r.endpoints), ['127.0.0.2:1001', '[::1]:1002']);
    assert.equal(r.endpoints![1]!.weight, 5);
    assert.deepEqual(r.endpoints![1]!.metadata, { zone: 'z' });
    resolver.destroy();
  });
});
