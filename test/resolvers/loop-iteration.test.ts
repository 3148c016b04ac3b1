import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachInSlices } from '../../src/loop-iteration';

/** Work that takes `ms` of CPU time (what an item of a large answer costs). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

describe('forEachInSlices', () => {
  it('calls fn on every item in order, letting timers and I/O run between slices', async () => {
    const items = Array.from({ length: 640 }, (_, i) => i);
    const seen: number[] = [];
    /** How many items had been done each time the loop got a turn. */
    const turnsAt: number[] = [];
    const ticker = setInterval(() => turnsAt.push(seen.length), 0);
    try {
      // 640 items of 0.05 ms: about 32 ms of work in slices of 5 ms.
      const finished = await forEachInSlices(
        items,
        (i) => {
          seen.push(i);
          busy(0.05);
        },
        5,
        () => false,
      );
      assert.equal(finished, true);
    } finally {
      clearInterval(ticker);
    }
    assert.deepEqual(seen, items);
    const during = turnsAt.filter((n) => n > 0 && n < items.length);
    assert.ok(during.length >= 2, `timers ran between slices (at ${turnsAt.join(', ')} items)`);
  });

  it('stops when told to, leaving the rest of the items', async () => {
    const items = Array.from({ length: 640 }, (_, i) => i);
    let done = 0;
    let stop = false;
    const stopper = setImmediate(() => {
      stop = true;
    });
    const finished = await forEachInSlices(
      items,
      () => {
        done++;
        busy(0.05);
      },
      5,
      () => stop,
    );
    clearImmediate(stopper);
    assert.equal(finished, false);
    assert.ok(done > 0 && done < items.length, `${done} items done`);
  });

  it('does not wait after the last item, or at all for a short list', async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      assert.equal(
        await forEachInSlices(
          [1, 2, 3],
          () => busy(0.01),
          0,
          () => true,
        ),
        true,
      );
    } finally {
      clearInterval(ticker);
    }
    assert.equal(turns, 0, 'finished within the turn it started in');
  });
});
