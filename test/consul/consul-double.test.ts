// The double's own behaviour, checked against Consul's documented HTTP API, so that the
// resolver and registration tests rest on a faithful model.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulDouble } from '../support/consul-double';
import { NEEDS_DOUBLE } from '../support/consul-env';
import { waitFor } from '../support/hello-servers';

describe('consul double', { skip: NEEDS_DOUBLE }, () => {
  let double: ConsulDouble;
  let base: string;
  before(async () => {
    double = await ConsulDouble.start({ otherDatacenters: ['dc2'] });
    base = `http://${double.address}`;
  });
  after(() => double.stop());

  const put = (path: string, body?: unknown) =>
    fetch(`${base}${path}`, { method: 'PUT', ...(body !== undefined && { body: JSON.stringify(body) }) });
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`);
    const text = await r.text();
    return { status: r.status, index: r.headers.get('x-consul-index'), text, json: () => JSON.parse(text) };
  };

  it('validates registrations as Consul does', async () => {
    assert.equal((await put('/v1/agent/service/register', { Port: 1 })).status, 400);
    assert.equal(
      (await put('/v1/agent/service/register', { Name: 'x', Weights: { Passing: 0 } })).status,
      400,
    );
    assert.equal(
      (await put('/v1/agent/service/register', { Name: 'x', Check: { GRPC: '127.0.0.1:1' } })).status,
      400,
    );
    assert.equal((await put('/v1/agent/service/deregister/never-registered')).status, 200);
    const unknown = await put('/v1/agent/check/pass/nope');
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /Unknown check ID "nope"/);
  });

  it('filters by passing, by every tag, and by datacenter', async () => {
    await put('/v1/agent/service/register', { Name: 'f', ID: 'f1', Port: 1, Tags: ['a', 'b'] });
    await put('/v1/agent/service/register', {
      Name: 'f',
      ID: 'f2',
      Port: 2,
      Tags: ['a'],
      Check: { TTL: '30s' },
    });
    const ids = async (q: string) =>
      (await get(`/v1/health/service/f${q}`)).json().map((e: { Service: { ID: string } }) => e.Service.ID);
    assert.deepEqual(await ids(''), ['f1', 'f2']);
    assert.deepEqual(await ids('?passing=true'), ['f1'], 'a new TTL check starts critical');
    assert.deepEqual(await ids('?tag=a&tag=b'), ['f1']);
    assert.deepEqual(await ids('?dc=dc2'), []);
    const noDc = await get('/v1/health/service/f?dc=dc9');
    assert.equal(noDc.status, 500);
    assert.equal(noDc.text, 'No path to datacenter');
    const first = (await get('/v1/health/service/f')).json()[0];
    assert.equal(first.Node.Address, '127.0.0.1');
    assert.equal(first.Service.Address, '');
    assert.deepEqual(first.Service.Weights, { Passing: 1, Warning: 1 });
  });

  it('blocks until the index passes, answers at once when behind, and times out after wait', async () => {
    await put('/v1/agent/service/register', { Name: 'b', ID: 'b1', Port: 1 });
    const now = await get('/v1/health/service/b');
    const index = Number(now.index);
    assert.ok(index > 0);
    const behind = await get(`/v1/health/service/b?index=${index - 1}&wait=5s`);
    assert.equal(behind.status, 200);
    const t0 = Date.now();
    const blocked = get(`/v1/health/service/b?index=${index}&wait=5s`);
    await waitFor(() => double.blockedQueries === 1, 'the query to block');
    await put('/v1/agent/service/register', { Name: 'b', ID: 'b2', Port: 2 });
    const woken = await blocked;
    assert.ok(Number(woken.index) > index);
    assert.equal(woken.json().length, 2);
    assert.ok(Date.now() - t0 < 4000);
    const t1 = Date.now();
    const idle = await get(`/v1/health/service/b?index=${woken.index}&wait=300ms`);
    const waited = Date.now() - t1;
    assert.equal(idle.index, woken.index);
    assert.ok(waited >= 290 && waited < 300 + 300 / 16 + 500, `waited ${waited} ms`);
    assert.equal((await get('/v1/health/service/b?index=1&wait=soon')).status, 400);
  });

  it('turns a TTL check critical when not updated in time, and passing on update', async () => {
    await put('/v1/agent/service/register', { Name: 't', ID: 't1', Port: 1, Check: { TTL: '200ms' } });
    assert.equal((await put('/v1/agent/check/pass/service:t1')).status, 200);
    assert.equal(double.listChecks()['service:t1']!.Status, 'passing');
    await waitFor(() => double.listChecks()['service:t1']!.Status === 'critical', 'TTL expiry', 2000);
    assert.equal(double.listChecks()['service:t1']!.Output, 'TTL expired');
  });

  it('answers ACL errors as Consul does', async () => {
    const acl = await ConsulDouble.start({ acl: { tokens: { r: { serviceRead: true, nodeRead: true } } } });
    try {
      const bad = await fetch(`http://${acl.address}/v1/health/service/x`, {
        headers: { 'X-Consul-Token': 'zzz' },
      });
      assert.equal(bad.status, 403);
      assert.equal(await bad.text(), 'ACL not found');
      const anon = await fetch(`http://${acl.address}/v1/health/service/x`);
      assert.equal(anon.status, 200);
      assert.equal(anon.headers.get('x-consul-results-filtered-by-acls'), 'true');
      const write = await fetch(`http://${acl.address}/v1/agent/service/register`, {
        method: 'PUT',
        headers: { 'X-Consul-Token': 'r' },
        body: JSON.stringify({ Name: 'x' }),
      });
      assert.equal(write.status, 403);
    } finally {
      await acl.stop();
    }
  });
});
