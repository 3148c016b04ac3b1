import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedEtcdClientCount } from '../../src/etcd/client';
import { registerWithEtcd } from '../../src/registration/etcd';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';
import { waitFor } from '../support/hello-servers';

const trace = (text: string) => process.env['ETCD_TEST_DEBUG'] && console.log(text);

let etcd: EtcdServer;
let admin: EtcdAdmin;
const children = new Set<ChildProcess>();

before(async () => {
  etcd = await startEtcd();
  admin = new EtcdAdmin(etcd.endpoint);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  admin?.close();
  await etcd?.destroy();
});

describe('registerWithEtcd', () => {
  it('writes the Go-convention value under <target>/<id> with a lease; deregister revokes it', async () => {
    const registration = registerWithEtcd({
      target: 'reg-svc',
      id: 'one',
      addr: '127.0.0.1:20001',
      metadata: { weight: 2, zone: 'a' },
      ttl: 5,
      endpoints: `http://${etcd.endpoint}`,
    });
    await registration.ready;
    assert.equal(registration.key, 'reg-svc/one');
    assert.deepEqual(JSON.parse((await admin.get('reg-svc/one'))!), {
      Op: 0,
      Addr: '127.0.0.1:20001',
      Metadata: { weight: 2, zone: 'a' },
    });
    assert.equal(
      await admin.leaseOf('reg-svc/one'),
      registration.leaseId,
      'key bound to the registration lease',
    );
    await registration.deregister();
    assert.equal(await admin.get('reg-svc/one'), undefined);
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('deregister right after registering leaves no key behind', async () => {
    const registration = registerWithEtcd({
      target: 'quick-svc',
      id: 'a',
      addr: '127.0.0.1:20009',
      endpoints: etcd.endpoint,
    });
    await registration.deregister();
    await assert.rejects(registration.ready, /deregistered/);
    assert.equal(await admin.get('quick-svc/a'), undefined);
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('rejects bad options with an error naming the field', () => {
    const base = { target: 's', id: 'i', addr: '127.0.0.1:1', endpoints: etcd.endpoint };
    assert.throws(() => registerWithEtcd({ ...base, target: '' }), /^Error: target:/);
    assert.throws(() => registerWithEtcd({ ...base, id: 'a/b' }), /^Error: id:.*"a\/b"/);
    assert.throws(() => registerWithEtcd({ ...base, addr: 'nohost' }), /^Error: addr:.*"nohost"/);
    assert.throws(() => registerWithEtcd({ ...base, ttl: 1 }), /^Error: ttl:.*1/);
    assert.throws(() => registerWithEtcd({ ...base, metadata: { weight: 0 } }), /^Error: metadata.weight:/);
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('keeps the key alive past its TTL', async () => {
    const registration = registerWithEtcd({
      target: 'ka-svc',
      id: 'a',
      addr: '127.0.0.1:20002',
      ttl: 2,
      endpoints: etcd.endpoint,
    });
    try {
      await registration.ready;
      const started = Date.now();
      // Poll for 3.5 s (> TTL): the key must be there every time.
      while (Date.now() - started < 3500) {
        assert.ok(await admin.get('ka-svc/a'), `key vanished after ${Date.now() - started} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await registration.deregister();
    }
  });

  it('re-creates the lease and re-puts when the lease is lost (revoked behind its back)', async () => {
    const registration = registerWithEtcd({
      target: 'lost-svc',
      id: 'a',
      addr: '127.0.0.1:20003',
      ttl: 2,
      endpoints: etcd.endpoint,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    try {
      await registration.ready;
      const firstLease = registration.leaseId!;
      await admin.call('Lease', 'LeaseRevoke', { ID: firstLease });
      assert.equal(await admin.get('lost-svc/a'), undefined);
      await waitFor(async () => (await admin.get('lost-svc/a')) !== undefined, 'key re-put', 5000, 50);
      assert.notEqual(registration.leaseId, firstLease);
    } finally {
      await registration.deregister();
    }
    assert.equal(await admin.get('lost-svc/a'), undefined);
  });

  it('is back in etcd after etcd froze for longer than the TTL (partition)', async () => {
    const registration = registerWithEtcd({
      target: 'part-svc',
      id: 'a',
      addr: '127.0.0.1:20005',
      ttl: 2,
      endpoints: etcd.endpoint,
      backoff: { initialMs: 50, maxMs: 300 },
    });
    try {
      await registration.ready;
      const firstLease = registration.leaseId;
      etcd.pause();
      try {
        await new Promise((r) => setTimeout(r, 3500)); // the partition itself: no event to wait for
      } finally {
        etcd.resume();
      }
      // Right after the freeze etcd may still revoke the expired lease; then the registration
      // re-grants. Converged means: bound to the registration's current lease, continuously for
      // longer than the TTL (so keep-alives work again).
      let stableSince: number | undefined;
      await waitFor(
        async () => {
          const lease = await admin.leaseOf('part-svc/a');
          const bound = lease !== undefined && lease === registration.leaseId;
          if (!bound) stableSince = undefined;
          else stableSince ??= Date.now();
          return stableSince !== undefined && Date.now() - stableSince > 2500;
        },
        'key bound to a live lease for longer than the TTL after the partition',
        15_000,
        100,
      );
      trace(`partition: lease ${firstLease} -> ${registration.leaseId}`);
    } finally {
      await registration.deregister();
    }
  });

  it('a server process killed without deregistering disappears when its lease expires', async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(etcd.endpoint, 'kill-svc'), recorder.listener, {});
    resolver.updateResolution();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'fixtures', 'register-child.ts'),
        etcd.endpoint,
        'kill-svc',
        'c1',
        '127.0.0.1:20004',
        '2',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(child);
    try {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => output.includes('registered'), 'child registered', 15_000);
      await recorder.waitForAddresses(['127.0.0.1:20004'], 'resolver sees the child');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await recorder.waitForAddresses([], 'lease expiry removes the child', 8000);
      const took = Date.now() - killedAt;
      // Gone within TTL (2 s) plus etcd's expiry check granularity, not instantly (no deregister happened).
      assert.ok(took < 6000, `took ${took} ms`);
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
      resolver.destroy();
    }
  });
});
