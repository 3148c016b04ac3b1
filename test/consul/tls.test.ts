import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CONSUL_CA_OPTION, CONSUL_INITIAL_BACKOFF_OPTION, ConsulResolver } from '../../src/exports/consul';
import { registerWithConsul } from '../../src/registration/consul';
import { ConsulDouble } from '../support/consul-double';
import { NEEDS_DOUBLE } from '../support/consul-env';
import { addressesOf, ResolutionRecorder } from '../support/consul-resolver-recorder';
import { makeLoopbackCertificate } from '../support/consul-tls';

const certificate = NEEDS_DOUBLE ? null : makeLoopbackCertificate();
const skip =
  NEEDS_DOUBLE || (certificate === null ? 'needs the openssl binary to make a test certificate' : false);

describe('consul over https', { skip }, () => {
  let double: ConsulDouble;
  before(async () => {
    double = await ConsulDouble.start({ tls: { key: certificate!.key, cert: certificate!.cert } });
  });
  after(async () => {
    await double.stop();
    certificate!.cleanup();
  });

  const resolve = (query: string, options: grpc.ChannelOptions) => {
    const recorder = new ResolutionRecorder();
    const resolver = new ConsulResolver(
      { scheme: 'consul', authority: double.address, path: `web${query}` },
      recorder.listener,
      { [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000, ...options },
    );
    resolver.updateResolution();
    return { recorder, resolver };
  };

  it('registers and resolves with scheme=https and the CA from a channel option', async () => {
    const reg = await registerWithConsul({
      agent: `https://${double.address}`,
      ca: certificate!.cert,
      service: 'web',
      address: '127.0.0.1',
      port: 7001,
    });
    const { recorder, resolver } = resolve('?scheme=https', { [CONSUL_CA_OPTION]: certificate!.cert });
    const r = await recorder.waitFor((x) => x.endpoints !== null, 'list over https');
    assert.deepEqual(addressesOf(r.endpoints), ['127.0.0.1:7001']);
    resolver.destroy();
    await reg.deregister();
  });

  it('takes the CA from CONSUL_CACERT', async () => {
    const saved = process.env['CONSUL_CACERT'];
    process.env['CONSUL_CACERT'] = certificate!.certPath;
    try {
      const { recorder, resolver } = resolve('?scheme=https', {});
      const r = await recorder.waitFor(() => true, 'answer');
      // The TLS handshake worked: Consul answered (no instances of "web"), not a certificate error.
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(r.error!.details, /no passing instances of service "web"/);
      resolver.destroy();
    } finally {
      if (saved === undefined) delete process.env['CONSUL_CACERT'];
      else process.env['CONSUL_CACERT'] = saved;
    }
  });

  it('refuses an untrusted certificate, naming the cause', async () => {
    const { recorder, resolver } = resolve('?scheme=https', {});
    const r = await recorder.waitFor((x) => x.error !== null, 'TLS error');
    assert.match(r.error!.details, /Consul at https:\/\/127\.0\.0\.1:\d+: .*(SELF_SIGNED|self.signed|CERT)/i);
    resolver.destroy();
  });
});
