import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedEtcdClientCount } from '../../src/etcd/client';
import { createEtcdCredentials } from '../../src/etcd/credentials';
import { registerWithEtcd } from '../../src/registration/etcd';
import { encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { EtcdAdmin, type EtcdServer, enableRootAuth, startEtcd } from '../support/etcd-server';
import { waitFor } from '../support/hello-servers';
import { runTsxChild } from '../support/tsx-child';

const PASSWORD = 'Sup3r-Secret-Passw0rd';
let etcd: EtcdServer;

/** An admin client authenticated as root (tokens do not survive an etcd restart). */
async function rootAdmin(): Promise<EtcdAdmin> {
  const anonymous = new EtcdAdmin(etcd.endpoint);
  try {
    const { token } = (await anonymous.call('Auth', 'Authenticate', {
      name: 'root',
      password: PASSWORD,
    })) as {
      token: string;
    };
    return new EtcdAdmin(etcd.endpoint, token);
  } finally {
    anonymous.close();
  }
}

before(async () => {
  etcd = await startEtcd();
  await enableRootAuth(etcd.endpoint, PASSWORD);
});

after(async () => {
  await etcd?.destroy();
});

describe('etcd with authentication enabled', () => {
  it('refuses anonymous access (auth really is on)', async () => {
    const admin = new EtcdAdmin(etcd.endpoint);
    try {
      await assert.rejects(admin.put('auth-svc/x', '{}'), /user name is empty|permission denied|token/);
    } finally {
      admin.close();
    }
  });

  it('resolves and registers with username/password, and re-authenticates after an etcd restart', async () => {
    const admin = await rootAdmin();
    await admin.put('auth-svc/a', encodeEtcdEndpointValue('127.0.0.1:30001'));
    admin.close();
    const registration = registerWithEtcd({
      target: 'auth-svc',
      id: 'b',
      addr: '127.0.0.1:30002',
      ttl: 5,
      endpoints: etcd.endpoint,
      username: 'root',
      password: PASSWORD,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(etcd.endpoint, 'auth-svc'), recorder.listener, {
      'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({
        username: 'root',
        password: PASSWORD,
      }),
      'grpc-consistent-hash.etcd.initial_backoff_ms': 50,
      'grpc-consistent-hash.etcd.max_backoff_ms': 500,
    });
    resolver.updateResolution();
    try {
      await registration.ready;
      await recorder.waitForAddresses(['127.0.0.1:30001', '127.0.0.1:30002'], 'resolved with auth');
      // Simple tokens live in etcd's memory: after a restart, the old token is invalid.
      await etcd.restart();
      const fresh = await rootAdmin();
      await fresh.put('auth-svc/c', encodeEtcdEndpointValue('127.0.0.1:30003'));
      fresh.close();
      await recorder.waitForAddresses(
        ['127.0.0.1:30001', '127.0.0.1:30002', '127.0.0.1:30003'],
        're-authenticated and re-synced',
        15_000,
      );
    } finally {
      resolver.destroy();
      await registration.deregister();
    }
    const check = await rootAdmin();
    try {
      assert.equal(await check.get('auth-svc/b'), undefined, 'deregister revoked the lease with auth');
    } finally {
      check.close();
    }
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('a wrong password gives a clear UNAVAILABLE without the password', async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(etcd.endpoint, 'auth-svc'), recorder.listener, {
      'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({
        username: 'root',
        password: `${PASSWORD}x`,
      }),
    });
    resolver.updateResolution();
    try {
      await waitFor(() => recorder.updates.length > 0, 'error report');
      const error = recorder.updates[0]!.error!;
      assert.equal(error.code, 14);
      assert.match(error.details, /authentication failed/);
      assert.ok(!error.details.includes(PASSWORD), error.details);
    } finally {
      resolver.destroy();
    }
  });

  it('never writes the password to logs or traces, even with GRPC_TRACE=all at DEBUG', async () => {
    const { code, output } = await runTsxChild(
      join(__dirname, 'fixtures', 'auth-child.ts'),
      [etcd.endpoint, PASSWORD, '127.0.0.1:30009'],
      { env: { ...process.env, GRPC_TRACE: 'all', GRPC_VERBOSITY: 'DEBUG' }, killAfterMs: 30_000 },
    );
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /child done/);
    // Proof that tracing was on and covered our code and the etcd channel options.
    assert.match(output, /consistent_hash \| etcd-client authenticated to etcd/);
    assert.match(output, /grpc-consistent-hash\.etcd\.credentials/);
    assert.match(output, /authentication failed/);
    assert.ok(!output.includes(PASSWORD), 'password found in the output');
  });
});
