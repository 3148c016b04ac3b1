import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONSUL_CA_OPTION, CONSUL_INITIAL_BACKOFF_OPTION, ConsulResolver } from '../../src/exports/consul';
import { registerWithConsul } from '../../src/registration/consul';
import { ConsulDouble } from '../support/consul-double';
import { addressesOf, ResolutionRecorder } from '../support/consul-resolver-recorder';
import { makeTestCa, type TestCa } from '../support/test-ca';

// The Consul double on https with a certificate issued by a CA made with the openssl CLI at test
// time (the tests fail, not skip, without openssl). tls.test.ts covers a self-signed leaf
// certificate; this adds a real CA chain and the failures: no CA, the wrong CA.

let pki: TestCa;
before(() => {
  pki = makeTestCa();
});
after(() => pki?.cleanup());

describe('consul with a CA-issued server certificate', () => {
  let double: ConsulDouble;
  before(async () => {
    double = await ConsulDouble.start({
      tls: { key: pki.server.key, cert: pki.server.cert },
      runGrpcChecks: false,
    });
  });
  after(async () => {
    await double?.stop();
  });

  const resolveWith = (ca: Buffer | undefined) => {
    const recorder = new ResolutionRecorder();
    const resolver = new ConsulResolver(
      { scheme: 'consul', authority: double.address, path: 'web?scheme=https' },
      recorder.listener,
      { [CONSUL_INITIAL_BACKOFF_OPTION]: 60_000, ...(ca && { [CONSUL_CA_OPTION]: ca }) },
    );
    resolver.updateResolution();
    return { recorder, resolver };
  };

  it('registers and resolves over https with the CA', async () => {
    const registration = await registerWithConsul({
      agent: `https://${double.address}`,
      ca: pki.ca.cert,
      service: 'web',
      address: '127.0.0.1',
      port: 7101,
    });
    const { recorder, resolver } = resolveWith(pki.ca.cert);
    try {
      const r = await recorder.waitFor((x) => x.endpoints !== null, 'list over https');
      assert.deepEqual(addressesOf(r.endpoints), ['127.0.0.1:7101']);
    } finally {
      resolver.destroy();
      await registration.deregister();
    }
  });

  for (const [what, ca] of [
    ['without the CA', () => undefined],
    ['with the wrong CA', () => pki.otherCa.cert],
  ] as const) {
    it(`fails clearly ${what}, naming the agent and the certificate problem`, async () => {
      const { recorder, resolver } = resolveWith(ca());
      try {
        const r = await recorder.waitFor((x) => x.error !== null, 'TLS error');
        console.log(`consul TLS ${what}: ${r.error!.details}`);
        assert.match(
          r.error!.details,
          /Consul at https:\/\/127\.0\.0\.1:\d+: .*(UNABLE_TO_VERIFY|certificate|CERT)/i,
        );
      } finally {
        resolver.destroy();
      }
      await assert.rejects(
        registerWithConsul({
          agent: `https://${double.address}`,
          ...(ca() && { ca: ca() }),
          service: 'web',
          address: '127.0.0.1',
          port: 7102,
        }),
        /UNABLE_TO_VERIFY|certificate|CERT/i,
      );
    });
  }
});
