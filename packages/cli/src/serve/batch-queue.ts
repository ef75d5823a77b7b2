/** What {@link BatchQueue.submit} resolves to: the item's result and how it was run. */
export interface Batched<O> {
  value: O;
  /** Milliseconds the item waited for the worker. */
  waitedMs: number;
  /** Milliseconds its batch took. */
  ranMs: number;
  /** How many items its batch held. */
  batch: number;
}

interface Waiting<I, O> {
  item: I;
  since: number;
  resolve(r: Batched<O>): void;
  reject(e: unknown): void;
}

/**
 * One worker fed in batches from a bounded queue: the first item runs at once, and items that arrive while a batch
 * runs wait and go together into the next (up to `maxBatch`). Beyond `maxQueue` waiting items, {@link BatchQueue.submit}
 * refuses at once, so a burst of uploads waits in bounded memory instead of holding every image. An encoder costs
 * far less per image in a batch (a ConvAutoencoderV2 at 32 px: about a third), so the queue that protects memory is
 * also what makes a burst fast. Hand-written because the maintained queues (p-queue, fastq) neither refuse when full
 * nor batch.
 */
export class BatchQueue<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private running = false;

  /**
   * @param run Runs a batch; its i-th result settles the i-th item (one failure does not fail the others).
   */
  constructor(
    private readonly run: (items: I[]) => Promise<PromiseSettledResult<O>[]>,
    readonly maxBatch: number,
    readonly maxQueue: number,
  ) {}

  /** Whether the worker is busy, and how many items wait. */
  get load(): { running: boolean; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Queues `item`; `undefined` (nothing queued) when `maxQueue` items already wait. */
  submit(item: I): Promise<Batched<O>> | undefined {
    if (this.waiting.length >= this.maxQueue) return undefined;
    const done = new Promise<Batched<O>>((resolve, reject) =>
      this.waiting.push({ item, since: performance.now(), resolve, reject }),
    );
    if (!this.running) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, this.maxBatch);
        const start = performance.now();
        let results: PromiseSettledResult<O>[];
        try {
          results = await this.run(batch.map((w) => w.item));
        } catch (e) {
          for (const w of batch) w.reject(e);
          continue;
        }
        const ranMs = performance.now() - start;
        batch.forEach((w, i) => {
          const r = results[i];
          if (r?.status === 'fulfilled')
            w.resolve({ value: r.value, waitedMs: start - w.since, ranMs, batch: batch.length });
          else
            w.reject(
              r
                ? r.reason
                : new Error(
                    `BatchQueue: the batch function returned ${results.length} results for ${batch.length} items`,
                  ),
            );
        });
      }
    } finally {
      this.running = false;
    }
  }
}
