import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../src/endpoint';
import {
  LifecycleResolver,
  type LifecycleSchedule,
  type RegistryAnswer,
  type ResolverAdapter,
  ResolverError,
  type WatchSink,
} from '../../src/resolvers/shared';
import { addressesOf, ResolutionRecorder } from '../support/consul-resolver-recorder';

const TARGET = 'test:///svc';
const list = (...ports: number[]): DiscoveredEndpoint[] =>
  ports.map((port) => ({ addresses: [{ host: '127.0.0.1', port }] }));

/** A fetch adapter whose answers a test queues; records when each fetch started. */
class ScriptedFetch implements ResolverAdapter {
  readonly target = TARGET;
  readonly component = 'test';
  readonly fetchTimes: number[] = [];
  opened = 0;
  closed = 0;
  private readonly waiting: ((answer: RegistryAnswer | Error) => void)[] = [];
  private readonly queued: (RegistryAnswer | Error)[] = [];
  constructor(readonly schedule: LifecycleSchedule = {}) {}

  /** The next fetch (running or future) returns `answer`. */
  answer(answer: RegistryAnswer | Error): void {
    const next = this.waiting.shift();
    if (next) next(answer);
    else this.queued.push(answer);
  }

  fetch(): Promise<RegistryAnswer> {
    this.fetchTimes.push(performance.now());
    const settle = (answer: RegistryAnswer | Error) =>
      answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    const queued = this.queued.shift();
    if (queued) return settle(queued);
    return new Promise((resolve) => this.waiting.push(resolve)).then((a) => settle(a as RegistryAnswer));
  }

  open(): void {
    this.opened++;
  }
  close(): void {
    this.closed++;
  }
}

function start(adapter: ResolverAdapter) {
  const recorder = new ResolutionRecorder();
  const resolver = recorder.sync(() => new LifecycleResolver(TARGET, recorder.listener, () => adapter));
  return { recorder, resolver };
}

const until = async (predicate: () => boolean, what: string, timeoutMs = 5000) => {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('the shared resolver lifecycle', () => {
  it('starts on updateResolution(), never calls back synchronously, and restarts after destroy()', async () => {
    const adapter = new ScriptedFetch();
    const { recorder, resolver } = start(adapter);
    await new Promise((r) => setImmediate(r));
    assert.equal(adapter.fetchTimes.length, 0, 'nothing runs before updateResolution()');
    adapter.answer({ endpoints: list(1) });
    recorder.sync(() => resolver.updateResolution());
    const first = await recorder.waitFor((r) => r.endpoints !== null, 'the first list');
    assert.equal(first.synchronous, false);
    assert.equal(adapter.opened, 1);
    resolver.destroy();
    assert.equal(adapter.closed, 1);
    adapter.answer({ endpoints: list(1) });
    recorder.sync(() => resolver.updateResolution());
    await recorder.waitFor((r) => r.endpoints !== null, 'the list after the restart', 1);
    assert.equal(adapter.opened, 2);
    assert.equal(recorder.results.length, 2, 'a restart pushes its list afresh');
    resolver.destroy();
  });

  it('drops the answer of a fetch that a destroy() superseded', async () => {
    const adapter = new ScriptedFetch();
    const { recorder, resolver } = start(adapter);
    resolver.updateResolution();
    await until(() => adapter.fetchTimes.length === 1, 'the fetch');
    resolver.destroy();
    adapter.answer({ endpoints: list(1) });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(recorder.results.length, 0);
  });

  it('reports an error only before the first list, keeps the last good list after, and pushes only changes', async () => {
    const adapter = new ScriptedFetch({ refetchAfterMs: 0, initialBackoffMs: 5, requestsPerSecond: 1000 });
    const { recorder, resolver } = start(adapter);
    adapter.answer(new ResolverError('UNREACHABLE', TARGET, 'registry down'));
    resolver.updateResolution();
    const error = await recorder.waitFor((r) => r.error !== null, 'the error');
    assert.equal(error.error!.code, grpc.status.UNAVAILABLE);
    assert.equal(error.error!.details, 'test:///svc: registry down');
    adapter.answer({ endpoints: list(1, 2) });
    await recorder.waitFor((r) => r.endpoints !== null, 'the list');
    adapter.answer({ endpoints: list(1, 2) }); // unchanged
    adapter.answer(new Error('down again'));
    adapter.answer(new Error('still down'));
    adapter.answer({ endpoints: list(2, 3) });
    const changed = await recorder.waitFor((r) => addressesOf(r.endpoints).includes('127.0.0.1:3'), 'change');
    assert.deepEqual(
      recorder.results.map((r) => (r.error ? 'error' : addressesOf(r.endpoints).join(','))),
      ['error', '127.0.0.1:1,127.0.0.1:2', '127.0.0.1:2,127.0.0.1:3'],
    );
    assert.equal(recorder.results[1]!.attributes, changed.attributes, 'one attributes object');
    resolver.destroy();
  });

  it('turns an empty answer into UNAVAILABLE naming the target and the reason, at once', async () => {
    const adapter = new ScriptedFetch({ refetchAfterMs: 0, requestsPerSecond: 1000 });
    const { recorder, resolver } = start(adapter);
    adapter.answer({ endpoints: [], emptyReason: 'no keys under "svc/"' });
    resolver.updateResolution();
    const first = await recorder.waitFor(() => true, 'the first result');
    assert.equal(first.error?.details, 'test:///svc: no keys under "svc/"');
    adapter.answer({ endpoints: list(1) });
    await recorder.waitFor((r) => r.endpoints?.length === 1, 'the list');
    // With a list, "nothing here" replaces it: the servers are gone.
    adapter.answer({ endpoints: [], emptyReason: 'no keys under "svc/"' });
    const emptied = await recorder.waitFor((r) => r.endpoints?.length === 0, 'the empty list', 2);
    assert.match(emptied.note, /test:\/\/\/svc: no keys under "svc\/"/);
    resolver.destroy();
  });

  it('retries early when the channel asks during backoff, but never before Retry-After', async () => {
    const adapter = new ScriptedFetch({ initialBackoffMs: 60_000, requestsPerSecond: 1000 });
    const { recorder, resolver } = start(adapter);
    adapter.answer(new Error('refused'));
    resolver.updateResolution();
    await recorder.waitFor((r) => r.error !== null, 'the error');
    // Backoff is a minute; the channel's re-resolution request retries now.
    adapter.answer(new ResolverError('REJECTED', TARGET, 'HTTP 429', { retryAfterMs: 300 }));
    resolver.updateResolution();
    await until(() => adapter.fetchTimes.length === 2, 'the early retry', 2000);
    await recorder.waitFor((r) => r.error?.details.includes('429') === true, 'the 429');
    adapter.answer({ endpoints: list(1) });
    resolver.updateResolution(); // asks again at once: Retry-After still holds
    await recorder.waitFor((r) => r.endpoints !== null, 'the list after Retry-After');
    const gap = adapter.fetchTimes[2]! - adapter.fetchTimes[1]!;
    assert.ok(gap >= 295, `waited ${gap.toFixed(0)} ms after a 300 ms Retry-After`);
    resolver.destroy();
  });

  it('bounds Retry-After: a registry asking for an hour waits only maxRetryAfterMs', async () => {
    const adapter = new ScriptedFetch({ initialBackoffMs: 5, maxRetryAfterMs: 150, requestsPerSecond: 1000 });
    const { recorder, resolver } = start(adapter);
    adapter.answer(new ResolverError('REJECTED', TARGET, 'HTTP 503', { retryAfterMs: 3_600_000 }));
    adapter.answer({ endpoints: list(1) });
    resolver.updateResolution();
    await recorder.waitFor((r) => r.endpoints !== null, 'the list after the bounded wait', 0, 3000);
    const gap = adapter.fetchTimes[1]! - adapter.fetchTimes[0]!;
    assert.ok(gap >= 145 && gap < 2000, `waited ${gap.toFixed(0)} ms`);
    resolver.destroy();
  });

  it('rate-limits requests with a token bucket', async () => {
    const adapter = new ScriptedFetch({ refetchAfterMs: 0, requestsPerSecond: 20, burst: 2 });
    const { resolver } = start(adapter);
    for (let i = 0; i < 6; i++) adapter.answer({ endpoints: list(1) });
    resolver.updateResolution();
    await until(() => adapter.fetchTimes.length === 6, 'six fetches');
    const span = adapter.fetchTimes[5]! - adapter.fetchTimes[0]!;
    // Burst 2, then one per 50 ms: the 6th fetch starts >= 4 × 50 ms after the first.
    assert.ok(span >= 190, `six fetches in ${span.toFixed(0)} ms`);
    resolver.destroy();
  });

  it('restarts a watch after it ends: at once for restartNow, after backoff otherwise', async () => {
    const sinks: WatchSink[] = [];
    let closed = 0;
    const adapter: ResolverAdapter = {
      target: TARGET,
      component: 'test',
      schedule: { initialBackoffMs: 60_000, requestsPerSecond: 1000 },
      watch(sink) {
        sinks.push(sink);
        return { close: () => closed++ };
      },
    };
    const { recorder, resolver } = start(adapter);
    resolver.updateResolution();
    await until(() => sinks.length === 1, 'the watch');
    sinks[0]!.update({ endpoints: list(1) });
    sinks[0]!.end(new Error('compacted'), true);
    await until(() => sinks.length === 2, 'the immediate restart');
    assert.equal(closed, 1);
    sinks[0]!.update({ endpoints: list(9) }); // a closed watch's sink is ignored
    sinks[1]!.end(new Error('stream reset'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sinks.length, 2, 'the next start waits for the backoff');
    assert.deepEqual(
      recorder.results.map((r) => addressesOf(r.endpoints).join(',')),
      ['127.0.0.1:1'],
      'the last good list is kept; nothing from the stale sink',
    );
    resolver.updateResolution(); // early retry
    await until(() => sinks.length === 3, 'the early retry');
    resolver.destroy();
    assert.equal(closed, 3);
  });

  it('fails calls naming the mistake when the adapter cannot be created, once per start', async () => {
    const recorder = new ResolutionRecorder();
    const resolver = new LifecycleResolver(TARGET, recorder.listener, () => {
      throw new Error('bad port "x"');
    });
    resolver.updateResolution();
    const result = await recorder.waitFor(() => true, 'the error');
    assert.equal(result.error?.details, 'test:///svc: bad port "x"');
    resolver.updateResolution();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(recorder.results.length, 1);
    resolver.destroy();
  });
});
