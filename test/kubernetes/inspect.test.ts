// `inspect kubernetes:///…` shows each endpoint's pod name and IP:port, and a failure names its cause.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process';
import {
  type KubernetesUnderTest,
  openKubernetes,
  type Pod,
  sliceOf,
  uniqueService,
} from '../support/kubernetes-env';

const pod = (name: string, ip: string, ready = true): Pod => ({
  name,
  ip,
  ready,
  server: undefined as never,
});

describe('inspect kubernetes:', () => {
  let k8s: KubernetesUnderTest;
  before(async () => {
    k8s = await openKubernetes();
  });
  after(() => k8s?.close());

  it('prints pod names with IP:port and ring shares, across slices', async () => {
    const service = uniqueService('insp');
    await k8s.apply(
      sliceOf(service, `${service}-a`, [pod('web-0', '10.1.0.1'), pod('web-1', '10.1.0.2')], 7000),
    );
    await k8s.apply(
      sliceOf(service, `${service}-b`, [pod('web-2', '10.1.0.3'), pod('web-3', '10.1.0.4', false)], 7000),
    );
    const r = await runCli(
      ['inspect', `kubernetes:///${service}.${k8s.namespace}:grpc`, '--key', 'alice'],
      '',
      30_000,
      {
        ...process.env,
        KUBECONFIG: k8s.kubeconfigPath,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    for (const [name, ip] of [
      ['web-0', '10.1.0.1'],
      ['web-1', '10.1.0.2'],
      ['web-2', '10.1.0.3'],
    ] as const) {
      assert.match(
        r.stdout,
        new RegExp(`^${name}\\s+${ip.replace(/\./g, '\\.')}:7000\\s+1\\s+-\\s+\\d+\\.\\d+%`, 'm'),
      );
    }
    assert.doesNotMatch(r.stdout, /web-3/, 'the not-ready pod is left out');
    assert.match(r.stdout, /3 endpoints/);
    assert.match(r.stdout, /^alice\s+\d+\s+\d+\s+web-[012]\b/m);
  });

  it('exits 1 naming a missing port name', async () => {
    const service = uniqueService('insp');
    await k8s.apply(sliceOf(service, `${service}-a`, [pod('web-0', '10.1.0.1')], 7000));
    const r = await runCli(['inspect', `kubernetes:///${service}.${k8s.namespace}:http`], '', 30_000, {
      ...process.env,
      KUBECONFIG: k8s.kubeconfigPath,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no port name "http" among the ports .*grpc=7000\/TCP/);
  });
});
