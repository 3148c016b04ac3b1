import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEtcdCredentials } from '../../src/etcd/credentials';
import { registerWithEtcd } from '../../src/registration/etcd';
import { encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';
import { waitFor } from '../support/hello-servers';
import { makeTestCa, type TestCa } from '../support/test-ca';

// etcd behind a certificate issued by a CA made with the openssl CLI at test time (the tests fail,
// not skip, without openssl). tls.test.ts covers a self-signed leaf certificate; this adds a real
// CA chain, etcd's --client-cert-auth with a client certificate, and the failures: no CA, the
// wrong CA, no client certificate.

let pki: TestCa;
before(() => {
  pki = makeTestCa();
});
after(() => pki?.cleanup());

describe('etcd with a CA-issued server certificate and client-cert auth', () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd({
      tls: {
        certFile: pki.server.certFile,
        keyFile: pki.server.keyFile,
        ca: pki.ca.cert,
        clientCert: { cert: pki.client.cert, key: pki.client.key },
      },
      extraArgs: ['--client-cert-auth', '--trusted-ca-file', pki.ca.certFile],
    });
    const admin = new EtcdAdmin(etcd.endpoint, undefined, etcd.credentials);
    try {
      await admin.put('tls-ca/a', encodeEtcdEndpointValue('127.0.0.1:41001'));
    } finally {
      admin.close();
    }
  });
  after(async () => {
    await etcd?.destroy();
  });

  const resolveWith = (tls: Parameters<typeof createEtcdCredentials>[0]['tls']) => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(
      etcdUri(`https://${etcd.endpoint}`.replace('https://', ''), 'tls-ca'),
      recorder.listener,
      {
        'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({ tls }),
        'grpc-consistent-hash.etcd.initial_backoff_ms': 60_000,
      },
    );
    resolver.updateResolution();
    return { recorder, resolver };
  };

  it('connects with the CA and a client certificate: resolver and registration', async () => {
    const tls = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
    const registration = registerWithEtcd({
      target: 'tls-ca',
      id: 'b',
      addr: '127.0.0.1:41002',
      ttl: 5,
      endpoints: `https://${etcd.endpoint}`,
      tls,
    });
    const { recorder, resolver } = resolveWith(tls);
    try {
      await registration.ready;
      await recorder.waitForAddresses(['127.0.0.1:41001', '127.0.0.1:41002'], 'resolved over mutual TLS');
    } finally {
      resolver.destroy();
      await registration.deregister();
    }
  });

  const failures: [string, () => Parameters<typeof createEtcdCredentials>[0]['tls']][] = [
    ['without a CA (system roots only)', () => true],
    ['with the wrong CA', () => ({ ca: pki.otherCa.cert, cert: pki.client.cert, key: pki.client.key })],
    ['without a client certificate', () => ({ ca: pki.ca.cert })],
  ];
  for (const [what, tls] of failures) {
    it(`fails clearly ${what}: UNAVAILABLE naming etcd, no endpoint list`, async () => {
      const { recorder, resolver } = resolveWith(tls());
      try {
        await waitFor(() => recorder.updates.length > 0, 'error report', 15_000);
        const update = recorder.updates[0]!;
        console.log(`etcd TLS ${what}: ${update.error?.details}`);
        assert.equal(update.endpoints, undefined);
        assert.equal(update.error?.code, 14);
        assert.match(update.error!.details, /etcd .*certificate/);
      } finally {
        resolver.destroy();
      }
    });
  }
});
