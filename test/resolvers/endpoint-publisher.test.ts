import assert from 'node:assert/strict';
import { readFile } from 'node:fs';
import { describe, it } from 'node:test';
import { type DiscoveredEndpoint, sameEndpointList } from '../../src/endpoint';
import { EndpointListPublisher } from '../../src/resolvers/shared/endpoint-publisher';
import { ResolutionRecorder } from '../support/consul-resolver-recorder';

const endpoint = (extra: Partial<DiscoveredEndpoint> = {}, port = 1): DiscoveredEndpoint => ({
  addresses: [{ host: '10.0.0.1', port }],
  ...extra,
});

describe('resolver updates: change detection and timing', () => {
  it('a list equals a fresh copy of itself, and differs in every field that routes or is shown', () => {
    const base = (): DiscoveredEndpoint[] => [
      endpoint({ weight: 2, hashKey: 'a', metadata: { zone: 'x', n: { deep: 1 } }, tags: ['v1'] }),
      { addresses: [{ path: '/tmp/s.sock' }, { host: '::1', port: 5 }] },
    ];
    assert.equal(sameEndpointList(base(), base()), true);
    assert.equal(sameEndpointList([endpoint()], [endpoint({ weight: 1 })]), true, 'weight 1 is the default');
    const variants: [string, (list: DiscoveredEndpoint[]) => void][] = [
      ['host', (l) => ((l[0]!.addresses[0] as { host: string }).host = '10.0.0.2')],
      ['port', (l) => ((l[0]!.addresses[0] as { port: number }).port = 2)],
      ['path', (l) => ((l[1]!.addresses[0] as { path: string }).path = '/tmp/t.sock')],
      ['address order', (l) => l[1]!.addresses.reverse()],
      ['address count', (l) => l[1]!.addresses.pop()],
      ['list order', (l) => l.reverse()],
      ['list length', (l) => l.pop()],
      ['weight', (l) => (l[0]!.weight = 3)],
      ['hash key', (l) => (l[0]!.hashKey = 'b')],
      ['hash key removed', (l) => delete l[0]!.hashKey],
      ['nested metadata', (l) => (l[0]!.metadata = { zone: 'x', n: { deep: 2 } })],
      ['metadata removed', (l) => delete l[0]!.metadata],
      ['tags', (l) => (l[0]!.tags = ['v2'])],
      ['tags added', (l) => (l[1]!.tags = [])],
    ];
    for (const [what, change] of variants) {
      const changed = base();
      change(changed);
      assert.equal(sameEndpointList(base(), changed), false, what);
      assert.equal(sameEndpointList(changed, base()), false, `${what} (swapped)`);
    }
  });

  it('pushes a list only when it changed, even if the resolver mutates its array afterwards', async () => {
    const recorder = new ResolutionRecorder();
    const publisher = new EndpointListPublisher(recorder.listener);
    const list = [endpoint()];
    assert.equal(publisher.push(list, ''), true);
    await recorder.waitFor(() => true, 'the first push');
    assert.equal(publisher.push([endpoint()], ''), false, 'an equal list is not pushed');
    list.push(endpoint({}, 2)); // the resolver reuses its array
    assert.equal(publisher.push([endpoint()], ''), false, 'what the channel has is the list as pushed');
    assert.equal(publisher.push([endpoint(), endpoint({}, 2)], ''), true);
  });

  it('hands a list parsed in an I/O callback to the channel only after the loop has turned', async () => {
    const recorder = new ResolutionRecorder();
    const publisher = new EndpointListPublisher(recorder.listener);
    const order: string[] = [];
    recorder.on('result', () => order.push('channel'));
    await new Promise<void>((resolve) =>
      // An answer arrives in the poll phase: an immediate queued there runs in the same iteration, so
      // one setImmediate would let parsing and the policy's update block the loop as one turn.
      readFile(__filename, () => {
        publisher.push([endpoint()], '');
        setImmediate(() => order.push('same iteration'));
        recorder.once('result', () => resolve());
      }),
    );
    assert.deepEqual(order, ['same iteration', 'channel']);
  });
});
