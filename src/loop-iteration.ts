/**
 * Runs `fn` one full event-loop iteration from now: after the next timers and poll phases, so
 * that timers and I/O run between two long pieces of work. One `setImmediate` is not enough when
 * called from I/O (the poll phase): its callback runs in the same iteration's check phase.
 */
export function inNextLoopIteration(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** A promise of {@link inNextLoopIteration}: `await` it between two long pieces of work. */
export function nextLoopIteration(): Promise<void> {
  return new Promise((resolve) => inNextLoopIteration(resolve));
}

/**
 * Calls `fn` on each item in order, waiting a full event-loop iteration whenever a slice has run
 * for `sliceMs`, so that a long list is never one turn. Resolves false, with the rest of the items
 * left, when `stopped()` is true after a wait.
 */
export async function forEachInSlices<T>(
  items: readonly T[],
  fn: (item: T) => void,
  sliceMs: number,
  stopped: () => boolean,
): Promise<boolean> {
  let sliceStarted = performance.now();
  for (let i = 0; i < items.length; i++) {
    fn(items[i]!);
    // The clock is read every 64 items: reading it per item would cost more than most items.
    if ((i & 63) === 63 && performance.now() - sliceStarted >= sliceMs && i + 1 < items.length) {
      await nextLoopIteration();
      if (stopped()) return false;
      sliceStarted = performance.now();
    }
  }
  return true;
}
