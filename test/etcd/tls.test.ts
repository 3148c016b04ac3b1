import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedEtcdClientCount } from '../../src/etcd/client';
import { createEtcdCredentials } from '../../src/etcd/credentials';
import { registerWithEtcd } from '../../src/registration/etcd';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { type EtcdServer, startEtcd } from '../support/etcd-server';
import { waitFor } from '../support/hello-servers';

let etcd: EtcdServer;
let dir: string;
let ca: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gch-etcd-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // A self-signed certificate for 127.0.0.1, valid one day.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
    ].concat(['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']),
    { stdio: 'ignore', timeout: 20_000 },
  );
  ca = readFileSync(certFile);
  etcd = await startEtcd({ tls: { certFile, keyFile, ca } });
});

after(async () => {
  await etcd?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('etcd over TLS', () => {
  it('resolves and registers with a CA from options (and from ETCD_CACERT)', async () => {
    const registration = registerWithEtcd({
      target: 'tls-svc',
      id: 'a',
      addr: '127.0.0.1:40001',
      ttl: 5,
      endpoints: `https://${etcd.endpoint}`,
      tls: { ca },
    });
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(etcd.endpoint, 'tls-svc'), recorder.listener, {
      'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({ tls: { ca } }),
    });
    resolver.updateResolution();
    try {
      await registration.ready;
      await recorder.waitForAddresses(['127.0.0.1:40001'], 'resolved over TLS');
    } finally {
      resolver.destroy();
      await registration.deregister();
    }
    assert.equal(sharedEtcdClientCount(), 0);
    // The environment alone: ETCD_ENDPOINTS with https:// and ETCD_CACERT.
    const saved = { endpoints: process.env['ETCD_ENDPOINTS'], cacert: process.env['ETCD_CACERT'] };
    process.env['ETCD_ENDPOINTS'] = `https://${etcd.endpoint}`;
    process.env['ETCD_CACERT'] = join(dir, 'cert.pem');
    const envRegistration = registerWithEtcd({ target: 'tls-env', id: 'e', addr: '127.0.0.1:40002', ttl: 5 });
    const envRecorder = recordingListener();
    const envResolver = new EtcdResolver(etcdUri('', 'tls-env'), envRecorder.listener, {});
    envResolver.updateResolution();
    try {
      await envRegistration.ready;
      await envRecorder.waitForAddresses(
        ['127.0.0.1:40002'],
        'resolved over TLS configured by the environment',
      );
    } finally {
      envResolver.destroy();
      await envRegistration.deregister();
      for (const [key, value] of [
        ['ETCD_ENDPOINTS', saved.endpoints],
        ['ETCD_CACERT', saved.cacert],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('fails clearly when the server certificate is not trusted', async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(etcd.endpoint, 'tls-svc'), recorder.listener, {
      'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({ tls: true }),
    });
    resolver.updateResolution();
    try {
      await waitFor(() => recorder.updates.length > 0, 'error report');
      assert.equal(recorder.updates[0]!.error?.code, 14);
      assert.match(recorder.updates[0]!.error!.details, /UNAVAILABLE/);
    } finally {
      resolver.destroy();
    }
  });
});
