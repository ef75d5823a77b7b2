import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CbirError, DimensionMismatchError, type Autoencoder } from 'cbir-core';
import { withoutSimdThreads } from 'cbir-core/compute';

/** Options of {@link EncoderPool.create}. */
export interface EncoderPoolOptions {
  /**
   * Threads that encode: the calling thread (on its tfjs backend) and `threads - 1` worker threads, each with its own
   * tfjs on the wasm backend.
   * @defaultValue `os.availableParallelism()`
   */
  threads?: number;
}

interface Pending {
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/**
 * Encodes batches on every CPU core. tfjs's wasm backend runs on one thread in Node (its threaded build is disabled
 * there), so `EncoderPool` splits each batch between the calling thread and a worker thread per extra core, each with
 * its own encoder. The weights are copied when the pool is created; later changes to the model are not seen (create a
 * new pool after training).
 *
 * @example
 * ```ts
 * const pool = await EncoderPool.create(ae);             // this thread and a worker per extra core
 * const latent = await pool.encode(pixels, 64);          // pixels: NHWC [64, size, size, 3] in [-1, 1]
 * await pool.close();
 * ```
 */
export class EncoderPool {
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  /** Why a worker is gone, once one is: the pool then refuses work instead of waiting on it. */
  private broken?: string;
  /**
   * Per worker, a shared buffer its share of the pixels is copied into, reused from call to call (a new 3 MB buffer
   * per call of 32 images at 128 px costs more in page faults than the copy), and whether a call is using it.
   */
  private readonly staging: { buffer?: SharedArrayBuffer; busy: boolean }[];

  private constructor(
    private readonly workers: Worker[],
    /** The calling thread's copy of the encoder (the weights at creation, as the workers have them). */
    private readonly local: tfl.LayersModel,
    /** Side of the input images. */
    readonly inputSize: number,
    /** Latent shape per image, NHWC order `[h, w, c]`. */
    readonly latentShape: readonly [number, number, number],
    /**
     * Whether the workers run cbir's wasm kernels (they import them from cbir-core's build; without one, as when
     * running from sources, they encode with tfjs's own kernels: the same numbers, slower for small models).
     */
    readonly cbirKernels: boolean,
    /** Images per run of the encoder (the model's {@link Autoencoder.encodeChunk}): each share goes in chunks. */
    private readonly chunk: number,
  ) {
    this.staging = workers.map(() => ({ busy: false }));
    for (const worker of workers) {
      worker.on('message', (m: { id: number; data?: Float32Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new CbirError('WORKER_FAILED', `EncoderPool: a worker failed: ${m.error}`));
        else p.resolve(m.data!);
      });
      // A worker that throws or exits takes its pending work with it: the callers get a WORKER_FAILED error, not a hang.
      const fail = (why: string, cause?: unknown) => {
        this.broken ??= why;
        for (const p of this.pending.values())
          p.reject(
            new CbirError(
              'WORKER_FAILED',
              `EncoderPool: a worker ${why}; its images were not encoded. Create a new pool.`,
              { cause },
            ),
          );
        this.pending.clear();
      };
      worker.on('error', (e) => fail(`failed (${(e as Error).message})`, e));
      worker.on('exit', (code) => code !== 0 && fail(`exited with code ${code}`));
    }
  }

  /**
   * Starts the workers and loads the encoder's current weights into each.
   *
   * @param model - The autoencoder whose encoder to run.
   * @param options - `threads` (default: one per core, the calling thread included).
   */
  static async create(model: Autoencoder, options: EncoderPoolOptions = {}): Promise<EncoderPool> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `EncoderPool.create: threads must be a positive integer, got ${threads}.`,
      );
    const count = threads - 1;
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.encoder.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const url = new URL('./workers/encoder-worker.js', import.meta.url);
    let cbirKernels = true;
    const workers = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<Worker>((resolve, reject) => {
            const worker = new Worker(url, { workerData: { artifacts, backend: 'wasm', chunk: model.encodeChunk } });
            worker.once('message', (m: { cbirKernels: boolean }) => {
              cbirKernels &&= m.cbirKernels;
              resolve(worker);
            });
            worker.once('error', reject);
          }),
      ),
    );
    const local = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    const [c, h, w] = model.latentShape;
    return new EncoderPool(workers, local, model.inputSize, [h, w, c], cbirKernels, model.encodeChunk);
  }

  /** Threads that encode, the calling thread included. */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Encodes `n` images, split evenly between the workers.
   *
   * @param pixels - NHWC float32 images in [-1, 1], row-major, shape `[n, inputSize, inputSize, 3]`.
   * @param n - Number of images in `pixels`.
   * @returns The NHWC latents, row-major, shape `[n, h, w, c]`.
   * @throws {@link cbir-core!DimensionMismatchError | DimensionMismatchError} if `pixels.length` is not `n * inputSize^2 * 3`.
   */
  async encode(pixels: Float32Array, n: number): Promise<Float32Array> {
    if (this.broken)
      throw new CbirError('WORKER_FAILED', `EncoderPool.encode: a worker ${this.broken}; create a new pool.`);
    const per = this.inputSize * this.inputSize * 3;
    if (pixels.length !== n * per) {
      throw new DimensionMismatchError(
        `EncoderPool.encode: expected ${n} x ${this.inputSize}x${this.inputSize}x3 = ${n * per} values, got ${pixels.length}.`,
      );
    }
    const latent = this.latentShape[0] * this.latentShape[1] * this.latentShape[2];
    // Equal shares; the calling thread takes the last one and encodes it while the workers encode theirs.
    const chunk = Math.ceil(n / this.size);
    const parts = this.workers.map((worker, i) => {
      const lo = i * chunk;
      const hi = Math.min(n, lo + chunk);
      if (hi <= lo) return Promise.resolve(new Float32Array(0));
      const id = this.next++;
      const stage = this.staging[i];
      let message: { id: number; n: number; size: number; data?: Float32Array; shared?: SharedArrayBuffer };
      let transfer: ArrayBuffer[] = [];
      if (stage.busy) {
        // Another call is still reading this worker's buffer: send a copy of its own.
        const data = pixels.slice(lo * per, hi * per);
        message = { id, n: hi - lo, size: this.inputSize, data };
        transfer = [data.buffer];
      } else {
        const bytes = (hi - lo) * per * 4;
        if (!stage.buffer || stage.buffer.byteLength < bytes) stage.buffer = new SharedArrayBuffer(bytes);
        new Float32Array(stage.buffer, 0, (hi - lo) * per).set(pixels.subarray(lo * per, hi * per));
        stage.busy = true;
        message = { id, n: hi - lo, size: this.inputSize, shared: stage.buffer };
      }
      return new Promise<Float32Array>((resolve, reject) => {
        const release = () => {
          if (message.shared) stage.busy = false;
        };
        this.pending.set(id, { resolve: (v) => (release(), resolve(v)), reject: (e) => (release(), reject(e)) });
        worker.postMessage(message, transfer);
      });
    });
    const lo = Math.min(n, this.workers.length * chunk);
    const out = new Float32Array(n * latent);
    // The workers keep the other cores busy: this share's kernels stay on this thread.
    const step = Math.ceil((n - lo) / Math.ceil((n - lo) / this.chunk)); // equal chunks
    for (let i = lo; i < n; i += step) {
      const m = Math.min(step, n - i);
      const z = withoutSimdThreads(() =>
        tf.tidy(() => {
          const x = tf.tensor4d(pixels.subarray(i * per, (i + m) * per), [m, this.inputSize, this.inputSize, 3]);
          return this.local.apply(x, { training: false }) as tf.Tensor;
        }),
      );
      out.set(await z.data(), i * latent);
      z.dispose();
    }
    let at = 0;
    for (const p of await Promise.all(parts)) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.local.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
