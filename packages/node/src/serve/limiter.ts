/**
 * Runs at most `concurrency` tasks at once and queues at most `maxQueue` more; beyond that {@link Limiter.run} refuses
 * at once, so a burst of uploads waits in a bounded queue instead of holding every image in memory. Hand-written
 * because the maintained limiters (p-limit, p-queue) queue without bound: refusing is the point here.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly concurrency: number, readonly maxQueue: number) {}

  /** Tasks running and waiting. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /** Whether a task would be refused now. */
  get full(): boolean {
    return this.active >= this.concurrency && this.waiting.length >= this.maxQueue;
  }

  /** Runs `task` when a slot is free; returns `undefined` without running it when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return { value: await task() };
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes to the next task: `active` is unchanged
      else this.active--;
    }
  }
}
