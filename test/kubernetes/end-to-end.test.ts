// The kubernetes: resolver behind consistent_hash, end to end: pods are real grpc-js servers on
// 127.0.0.2, 127.0.0.3, ... sharing one port; the API is the double (or a real cluster when
// KUBECONFIG is set: then the fault tests are skipped).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { registerConsistentHashPolicy } from '../../src/balancer';
import { registerKubernetesResolver } from '../../src/resolvers/kubernetes';
import {
  KUBERNETES_IDENTITY_OPTION,
  KUBERNETES_KUBECONFIG_OPTION,
} from '../../src/resolvers/kubernetes/target';
import { createHelloClient, sayWithKey, startBackgroundCalls, waitFor } from '../support/hello-servers';
import { expectedOwners, ownerProbe } from '../support/key-owners';
import {
  type KubernetesUnderTest,
  movePod,
  NEEDS_DOUBLE,
  openKubernetes,
  type Pod,
  sliceOf,
  startPods,
  uniqueService,
} from '../support/kubernetes-env';

const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER, algorithm: 'ketama' } }];
const KEYS = Array.from({ length: 100 }, (_, i) => `user-${i}`);

/** Key → pod name, as the ring over these pods' names (their hash keys) places the keys. */
const ownersOf = (pods: readonly Pod[], keys: readonly string[] = KEYS) =>
  expectedOwners(
    pods.filter((p) => p.ready).map((p) => ({ address: p.name, serverId: p.name })),
    keys,
    'ketama',
  );

async function stopPods(pods: readonly Pod[]): Promise<void> {
  await Promise.all(pods.map((p) => p.server.stop()));
}

describe('kubernetes: resolver end to end', () => {
  let k8s: KubernetesUnderTest;

  before(async () => {
    registerConsistentHashPolicy();
    registerKubernetesResolver();
    k8s = await openKubernetes();
  });

  after(async () => {
    await k8s?.close();
  });

  it('merges 150 endpoints across 2 slices, without the not-ready ones', async () => {
    const service = uniqueService('big');
    const pods = await startPods('big', 160, 2);
    const client = createHelloClient(`kubernetes:///${service}.${k8s.namespace}:grpc`, LB);
    try {
      // Ten pods are not ready and have no server: a call routed to one would fail.
      for (const pod of pods.slice(150)) {
        pod.ready = false;
        await pod.server.stop();
      }
      const port = pods[0]!.server.port;
      await k8s.apply(sliceOf(service, `${service}-a`, pods.slice(0, 100), port));
      await k8s.apply(sliceOf(service, `${service}-b`, pods.slice(100), port));
      const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      const expected = ownersOf(pods, keys);
      // Keys owned by pods of the second slice only route right if both slices were merged.
      assert.ok([...expected.values()].some((p) => Number(p.split('-')[1]) >= 100));
      await ownerProbe(client, HEADER, keys, 5000).converge(
        expected,
        '150 pods across 2 slices',
        20_000,
        100,
      );
    } finally {
      client.close();
      await stopPods(pods.slice(0, 150));
    }
  });

  it('keeps a pod’s keys when its IP changes, and moves only a deleted pod’s keys', async () => {
    const service = uniqueService('sts');
    const pods = await startPods('sts', 5, 2);
    const port = pods[0]!.server.port;
    const client = createHelloClient(`kubernetes:///${service}.${k8s.namespace}:${port}`, LB);
    const probe = ownerProbe(client, HEADER, KEYS, 5000);
    try {
      await k8s.apply(sliceOf(service, `${service}-a`, pods, port));
      const before = ownersOf(pods);
      await probe.converge(before, 'five pods', 10_000, 50);
      const moved = pods[2]!;
      assert.ok([...before.values()].includes(moved.name), 'the moved pod owns keys');
      await movePod(moved, '127.0.0.40');
      await k8s.apply(sliceOf(service, `${service}-a`, pods, port));
      // Same names, same ring: every key stays with its pod, which now answers from its new IP.
      await waitFor(
        async () =>
          (await sayWithKey(client, HEADER, [...before].find(([, p]) => p === moved.name)![0])).serverId ===
          moved.name,
        'the moved pod to answer from its new IP',
        10_000,
        50,
      );
      await probe.assertHeld(before, Date.now() + 500, 5, 'keys stay with their pods across an IP change');

      const deleted = pods[3]!;
      const rest = pods.filter((p) => p !== deleted);
      await k8s.apply(sliceOf(service, `${service}-a`, rest, port));
      const afterDelete = ownersOf(rest);
      await probe.converge(afterDelete, 'the deleted pod gone', 10_000, 50);
      for (const [key, owner] of before) {
        if (owner !== deleted.name) assert.equal(afterDelete.get(key), owner, `${key} stays with ${owner}`);
      }
    } finally {
      client.close();
      await stopPods(pods);
    }
  });

  it('keys by address instead with the identity channel option', async () => {
    const service = uniqueService('addr');
    const pods = await startPods('addr', 3, 50);
    const port = pods[0]!.server.port;
    const client = createHelloClient(`kubernetes:///${service}.${k8s.namespace}:grpc`, LB, {
      [KUBERNETES_IDENTITY_OPTION]: 'address',
    });
    try {
      await k8s.apply(sliceOf(service, `${service}-a`, pods, port));
      const byAddress = expectedOwners(
        pods.map((p) => ({ address: `${p.ip}:${port}`, serverId: p.name })),
        KEYS,
        'ketama',
      );
      assert.notDeepEqual(byAddress, ownersOf(pods), 'the two identities place keys differently');
      await ownerProbe(client, HEADER, KEYS, 5000).converge(byAddress, 'address identity', 10_000, 50);
    } finally {
      client.close();
      await stopPods(pods);
    }
  });

  it('fails calls naming the cause: 401, 403, a wrong namespace, a missing port name', {
    skip: NEEDS_DOUBLE,
  }, async () => {
    const service = uniqueService('err');
    const pods = await startPods('err', 1, 60);
    await k8s.apply(sliceOf(service, `${service}-a`, pods, pods[0]!.server.port));
    k8s.double!.setTokens({ 'test-token-good': '*', 'no-rights': ['elsewhere'] });
    const cases: [string, grpc.ChannelOptions, RegExp][] = [
      [
        `${service}.${k8s.namespace}:grpc`,
        { [KUBERNETES_KUBECONFIG_OPTION]: k8s.kubeconfigWith({ token: 'bad-token-3141' }) },
        /401 Unauthorized/,
      ],
      [
        `${service}.${k8s.namespace}:grpc`,
        { [KUBERNETES_KUBECONFIG_OPTION]: k8s.kubeconfigWith({ token: 'no-rights' }) },
        /403 Forbidden: .*cannot list resource "endpointslices".*grant get, list and watch/,
      ],
      [
        `${service}.nope:grpc`,
        {},
        /no EndpointSlices labelled kubernetes.io\/service-name=.* in namespace "nope"/,
      ],
      [
        `${service}.${k8s.namespace}:nope`,
        {},
        /no port name "nope" among the ports .*grpc=\d+\/TCP, metrics=9090\/TCP/,
      ],
      // The namespace comes from the kubeconfig context when the target names none.
      [`${service}:nope`, {}, new RegExp(`no port name "nope".* in namespace "${k8s.namespace}"`)],
    ];
    try {
      for (const [target, options, pattern] of cases) {
        const client = createHelloClient(`kubernetes:///${target}`, LB, options);
        const started = Date.now();
        const r = await sayWithKey(client, HEADER, 'k', { deadline: Date.now() + 10_000 });
        const elapsed = Date.now() - started;
        client.close();
        assert.equal(r.error?.code, grpc.status.UNAVAILABLE, `${target}: ${r.error?.details}`);
        assert.match(r.error!.details, pattern);
        assert.ok(elapsed < 5000, `${target}: failed after ${elapsed} ms`);
        assert.doesNotMatch(
          r.error!.details,
          /bad-token-3141|no-rights|test-token-good/,
          'no token in the message',
        );
      }
    } finally {
      await stopPods(pods);
    }
  });

  it('goes on through an API outage with bounded requests, and through a token rotation', {
    skip: NEEDS_DOUBLE,
  }, async () => {
    const double = k8s.double!;
    const service = uniqueService('out');
    const pods = await startPods('out', 4, 70);
    const port = pods[0]!.server.port;
    const client = createHelloClient(`kubernetes:///${service}.${k8s.namespace}:grpc`, LB);
    const probe = ownerProbe(client, HEADER, KEYS, 5000);
    try {
      await k8s.apply(sliceOf(service, `${service}-a`, pods, port));
      await probe.converge(ownersOf(pods), 'four pods', 10_000, 50);
      // Connection resets for 5 s: calls go on, and the resolver backs off.
      const background = startBackgroundCalls(client, HEADER, KEYS, 100_000);
      const outageStart = Date.now();
      await double.setFault('reset');
      double.endWatches();
      await new Promise((r) => setTimeout(r, 5000));
      const requests = double.requestsFor(service, outageStart).length;
      await double.setFault(null);
      await background.stop();
      assert.deepEqual(background.failures, [], 'no call failed during the outage');
      assert.ok(background.calls > 50, `calls went on (${background.calls})`);
      console.log(
        `# kubernetes outage: ${requests} requests in 5 s of connection resets (${background.calls} calls, none failed)`,
      );
      assert.ok(requests >= 2 && requests <= 8, `${requests} requests in 5 s`);

      // Token rotation: the token file changes and the old token stops working. First the resolver
      // is back on its watch, so that no request it sent with the old token is still on its way.
      await double.whenWatched(service, 10_000);
      writeFileSync(k8s.tokenFile, 'rotated-token\n');
      double.setTokens({ 'rotated-token': '*' });
      double.endWatches();
      const moved = pods.slice(0, 3);
      await k8s.apply(sliceOf(service, `${service}-a`, moved, port));
      await probe.converge(ownersOf(moved), 'a change after the rotation', 15_000, 50);
      assert.equal(
        double.requestsFor(service).filter((r) => r.status === 401).length,
        0,
        'no request with the old token',
      );
    } finally {
      client.close();
      await stopPods(pods);
    }
  });

  for (const goneAs of ['http', 'event'] as const) {
    it(`re-lists after a 410 (${goneAs === 'http' ? 'HTTP 410' : 'ERROR event'}) during an outage and converges`, {
      skip: NEEDS_DOUBLE,
    }, async () => {
      const double = k8s.double!;
      double.goneAs = goneAs;
      const service = uniqueService(`gone-${goneAs}`);
      const pods = await startPods(`gone-${goneAs}`, 4, goneAs === 'http' ? 80 : 90);
      const port = pods[0]!.server.port;
      const [extra] = await startPods(`gone-${goneAs}-x`, 1, goneAs === 'http' ? 88 : 98, port);
      const client = createHelloClient(`kubernetes:///${service}.${k8s.namespace}:grpc`, LB);
      const probe = ownerProbe(client, HEADER, KEYS, 5000);
      try {
        await k8s.apply(sliceOf(service, `${service}-a`, pods, port));
        await probe.converge(ownersOf(pods), 'four pods', 10_000, 50);
        await double.setFault('down');
        // While the API is down the service changes, and the history the client would resume from is compacted.
        const changed = [...pods.slice(1), extra!];
        double.applySlice(k8s.namespace, sliceOf(service, `${service}-a`, changed, port));
        double.compact();
        await new Promise((r) => setTimeout(r, 2500));
        const back = Date.now();
        await double.setFault(null);
        await probe.converge(ownersOf(changed), 'the changes made during the outage', 20_000, 25);
        const convergedMs = Date.now() - back;
        const since = double.requestsFor(service, back);
        const gone = since.filter((r) => r.verb === 'watch' && r.status === (goneAs === 'http' ? 410 : 200));
        const lists = since.filter((r) => r.verb === 'list');
        assert.ok(gone.length >= 1, 'the client watched from its old resourceVersion');
        assert.ok(lists.length >= 1, 'and listed again after the 410');
        console.log(`# kubernetes 410 (${goneAs}): converged ${convergedMs} ms after the API returned`);
        assert.ok(convergedMs < 10_000, `converged in ${convergedMs} ms`);
      } finally {
        client.close();
        await stopPods([...pods, extra!]);
      }
    });
  }
});
