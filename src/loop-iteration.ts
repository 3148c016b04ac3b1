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
