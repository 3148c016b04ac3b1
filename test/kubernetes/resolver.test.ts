// The kubernetes: resolver against the double, at the resolver's listener: what it asks the API
// (list, then watch from the list's resourceVersion; re-watch from the last one, bookmarks included),
// what it pushes (only changes), and how it fails before its first list (within 5 s, naming why).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { KubernetesResolver } from '../../src/resolvers/kubernetes/resolver';
import { waitFor } from '../support/hello-servers';
import type { KubernetesFault } from '../support/kubernetes-double';
import {
  type KubernetesUnderTest,
  NEEDS_DOUBLE,
  openKubernetes,
  type Pod,
  sliceOf,
  uniqueService,
} from '../support/kubernetes-env';

type Update = { hashKeys?: string[]; error?: string; at: number };

function resolverFor(target: string) {
  const updates: Update[] = [];
  const listener: grpc.experimental.ResolverListener = (list) => {
    updates.push(
      list.ok
        ? { hashKeys: list.value.map((e) => (e as { hashKey?: string }).hashKey ?? '?'), at: Date.now() }
        : { error: list.error.details, at: Date.now() },
    );
    return true;
  };
  const resolver = new KubernetesResolver(
    { scheme: 'kubernetes', authority: '', path: target },
    listener,
    {},
  );
  resolver.updateResolution();
  return { resolver, updates };
}

const pod = (name: string, ip: string, ready = true): Pod => ({
  name,
  ip,
  ready,
  server: undefined as never,
});

describe('kubernetes: resolver', { skip: NEEDS_DOUBLE }, () => {
  let k8s: KubernetesUnderTest;
  before(async () => {
    k8s = await openKubernetes({ bookmarkIntervalMs: 0 });
  });
  after(() => k8s?.close());

  it('lists, watches from the list’s resourceVersion, re-watches from the last one (bookmarks too), pushes only changes', async () => {
    const double = k8s.double!;
    const service = uniqueService('rv');
    await k8s.apply(sliceOf(service, `${service}-a`, [pod('p-0', '10.0.0.1'), pod('p-1', '10.0.0.2')], 5000));
    const { resolver, updates } = resolverFor(`${service}.${k8s.namespace}:grpc`);
    try {
      await waitFor(() => updates.length === 1, 'the first list');
      assert.deepEqual(updates[0]!.hashKeys, ['p-0', 'p-1']);
      await waitFor(() => double.openWatches === 1, 'the watch');
      const [list, watch] = double.requestsFor(service);
      assert.equal(list?.verb, 'list');
      assert.equal(watch?.verb, 'watch');
      assert.equal(watch?.query.get('allowWatchBookmarks'), 'true');
      assert.ok(Number(watch?.query.get('timeoutSeconds')) > 0, 'asks for a server-side timeout');
      const listRv = watch!.query.get('resourceVersion');
      assert.equal(listRv, String(double.currentResourceVersion));

      // A change that does not change the endpoints (a not-ready pod appears) is not pushed.
      await k8s.apply(
        sliceOf(
          service,
          `${service}-a`,
          [pod('p-0', '10.0.0.1'), pod('p-1', '10.0.0.2'), pod('p-2', '10.0.0.3', false)],
          5000,
        ),
      );
      // A change that does is.
      await k8s.apply(
        sliceOf(service, `${service}-a`, [pod('p-0', '10.0.0.1'), pod('p-2', '10.0.0.3')], 5000),
      );
      await waitFor(() => updates.length === 2, 'the change');
      assert.deepEqual(updates[1]!.hashKeys, ['p-0', 'p-2']);

      // Other writes move the resourceVersion; a bookmark tells the watch; the next watch starts there.
      await k8s.apply(sliceOf(uniqueService('other'), 'other-a', [pod('o-0', '10.0.9.1')], 5000));
      double.sendBookmarks();
      const bookmarkRv = String(double.currentResourceVersion);
      await new Promise((r) => setTimeout(r, 100));
      const before = double.requestsFor(service).length;
      double.endWatches();
      await waitFor(
        () => double.requestsFor(service).length > before && double.openWatches === 1,
        'the re-watch',
      );
      const next = double.requestsFor(service).slice(before);
      assert.deepEqual(
        next.map((r) => r.verb),
        ['watch'],
        'no re-list after a watch ends',
      );
      assert.equal(next[0]!.query.get('resourceVersion'), bookmarkRv);
      assert.equal(updates.length, 2, 'nothing pushed for the re-watch');
    } finally {
      resolver.destroy();
    }
  });

  const faults: [KubernetesFault, RegExp][] = [
    ['hang', /no answer within 4000 ms/],
    ['status-500', /500 Internal Server Error: Internal error occurred/],
    ['garbage', /malformed JSON/],
    ['reset', /connection reset|socket hang up|ECONNRESET/],
    ['down', /connection refused \(ECONNREFUSED\)/],
  ];
  for (const [fault, pattern] of faults) {
    it(`fails within 5 s before its first list when the API is ${fault}, naming the cause; recovers after`, async () => {
      const double = k8s.double!;
      const service = uniqueService(`f-${fault.replace(/\W/g, '')}`);
      await k8s.apply(sliceOf(service, `${service}-a`, [pod('p-0', '10.0.0.1')], 5000));
      await double.setFault(fault);
      const started = Date.now();
      const { resolver, updates } = resolverFor(`${service}.${k8s.namespace}:grpc`);
      try {
        await waitFor(() => updates.length > 0, 'the first answer', 6000);
        assert.ok(updates[0]!.at - started < 5000, `answered after ${updates[0]!.at - started} ms`);
        assert.match(updates[0]!.error ?? '', pattern);
        assert.match(updates[0]!.error!, new RegExp(`EndpointSlices of service "${service}"`));
        await double.setFault(null);
        await waitFor(() => updates.some((u) => u.hashKeys !== undefined), 'recovery', 10_000);
      } finally {
        resolver.destroy();
        await double.setFault(null);
      }
    });
  }
});
