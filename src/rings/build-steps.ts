/**
 * A ring build in slices: each `next()` does a bounded piece of work (ketama: the MD5 points of a
 * few hundred members), and the generator returns the ring. A caller that must not block its event
 * loop for long runs it for a time budget per turn; {@link runToEnd} runs it at once.
 *
 * A started build must be run to its end: a builder's state (per-member caches, the last ring)
 * follows each build it started.
 */
export type RingBuildSteps<R> = Generator<void, R, void>;

/** Runs every step of `steps` and returns the ring. */
export function runToEnd<R>(steps: RingBuildSteps<R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs `steps` until they finish or `budgetMs` has passed (checked after each step). Returns the
 * ring, or `undefined` when steps remain.
 */
export function runFor<R>(steps: RingBuildSteps<R>, budgetMs: number): R | undefined {
  const until = performance.now() + budgetMs;
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() >= until) return undefined;
  }
}
