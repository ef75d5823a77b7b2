import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  CbirError,
  createExtractor,
  type ExtractorSpec,
  type FeatureExtractor,
  type Matrix,
  type RawImage,
} from 'cbir-core';

/** Options of {@link ParallelExtractor.create}. */
export interface ParallelExtractorOptions {
  /** Threads that extract: the calling thread and `threads - 1` workers. @defaultValue `os.availableParallelism()` */
  threads?: number;
}

/**
 * A feature extractor whose `extract` runs on every core: each batch is split between the calling thread and a worker
 * thread per extra core, each with the same extractor rebuilt from its spec. `fit`, `transform` and `spec` are the
 * calling thread's. For the hand-crafted kinds (fused, colour grid, LBP, moments, HOG, colour histogram), whose raw
 * vectors depend on their options only; other kinds, and a cbir-core without its build (workers load `dist/`), run on
 * the calling thread alone (`threads` then says 1).
 *
 * @example
 * ```ts
 * const fx = await ParallelExtractor.create({ kind: 'fused', options: {} });
 * const features = await extractDataset(data, fx);   // raw vectors on every core, then fit and transform
 * await fx.close();
 * ```
 */
export class ParallelExtractor implements FeatureExtractor {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }>();
  private broken?: string;

  private constructor(
    private readonly local: FeatureExtractor,
    private readonly workers: Worker[],
  ) {
    for (const worker of workers) {
      worker.on('message', (m: { id: number; data?: Float32Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new CbirError('WORKER_FAILED', `ParallelExtractor: a worker failed: ${m.error}`));
        else p.resolve(m.data!);
      });
      const fail = (why: string, cause?: unknown) => {
        this.broken ??= why;
        for (const p of this.pending.values())
          p.reject(
            new CbirError('WORKER_FAILED', `ParallelExtractor: a worker ${why}; its images were not extracted.`, {
              cause,
            }),
          );
        this.pending.clear();
      };
      worker.on('error', (e) => fail(`failed (${e.message})`, e));
      worker.on('exit', (code) => code !== 0 && fail(`exited with code ${code}`));
    }
  }

  /**
   * Builds the extractor here and in `threads - 1` workers.
   * @throws {@link cbir-core!CbirError | CbirError} for a bad spec or thread count.
   */
  static async create(spec: ExtractorSpec, options: ParallelExtractorOptions = {}): Promise<ParallelExtractor> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `ParallelExtractor.create: threads must be a positive integer, got ${threads}.`,
      );
    const local = await createExtractor(spec);
    const hand = ['fused', 'colorgrid', 'lbp', 'moments', 'hog', 'colorhist'].includes(spec.kind);
    if (!hand || threads === 1 || !coreBuilt()) return new ParallelExtractor(local, []);
    const url = new URL('./workers/extractor-worker.js', import.meta.url);
    const workers = await Promise.all(
      Array.from(
        { length: threads - 1 },
        () =>
          new Promise<Worker>((resolve, reject) => {
            const worker = new Worker(url, { workerData: { spec: local.spec() } });
            worker.once('message', (m: { ready: boolean; rawDim?: number; error?: string }) => {
              if (m.ready && m.rawDim === local.rawDim) resolve(worker);
              else {
                void worker.terminate();
                reject(
                  new CbirError(
                    'WORKER_FAILED',
                    `ParallelExtractor: a worker could not build the ${spec.kind} extractor: ${m.error ?? `it has ${m.rawDim} raw values, this thread ${local.rawDim}`}`,
                  ),
                );
              }
            });
            worker.once('error', reject);
          }),
      ),
    );
    return new ParallelExtractor(local, workers);
  }

  /** Threads that extract, the calling thread included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** The extractor's kind. */
  get kind(): string {
    return this.local.kind;
  }

  /** Length of the raw vectors. */
  get rawDim(): number {
    return this.local.rawDim;
  }

  /** Length of the final vectors. */
  get dim(): number {
    return this.local.dim;
  }

  /** How images should be decoded for it. */
  get imageSize(): number | 'original' {
    return this.local.imageSize;
  }

  /** Whether `fit` must run before `transform`. */
  get needsFit(): boolean {
    return this.local.needsFit;
  }

  /** Raw vectors of `images`: equal shares to the workers, the last share on this thread meanwhile. */
  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    if (this.broken)
      throw new CbirError(
        'WORKER_FAILED',
        `ParallelExtractor.extract: a worker ${this.broken}; create a new extractor.`,
      );
    const share = Math.ceil(images.length / this.threads);
    const parts = this.workers.map((worker, w) => {
      const part = images.slice(w * share, (w + 1) * share);
      if (part.length === 0) return Promise.resolve([] as Float32Array[]);
      const id = this.next++;
      const done = new Promise<Float32Array>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      worker.postMessage({
        id,
        images: part.map(({ data, width, height, channels }) => ({ data, width, height, channels })),
      });
      return done.then((flat) =>
        Array.from({ length: part.length }, (_, i) => flat.subarray(i * this.rawDim, (i + 1) * this.rawDim)),
      );
    });
    const mine = await this.local.extract(images.slice(this.workers.length * share));
    return [...(await Promise.all(parts)).flat(), ...mine];
  }

  fit(raw: Matrix): void {
    this.local.fit(raw);
  }

  transform(raw: Matrix): Matrix {
    return this.local.transform(raw);
  }

  spec(): ExtractorSpec {
    return this.local.spec();
  }

  /** Stops the workers (use {@link close} to wait for them). */
  dispose(): void {
    void this.close();
  }

  /** Stops the workers and waits until they have exited. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
    this.local.dispose();
  }
}

/** Whether cbir-core's build is there for workers to import. */
function coreBuilt(): boolean {
  try {
    return existsSync(createRequire(import.meta.url).resolve('cbir-core'));
  } catch {
    return false;
  }
}
