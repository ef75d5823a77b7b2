import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CbirError } from 'cbir-core';
import { SIMD_KERNEL_NAMES, type SimdKernelName, type SimdThreadPool } from 'cbir-core/compute';

import { CMD, FAILED, MAX_ARGS, SLOT, WORD, WORKER_SPIN, type SimdWorkerData } from './workers/simd-protocol.js';

/** Polls of a worker's control word the caller makes before sleeping on it (tens of microseconds). */
const SPIN = 20000;

/** Options of {@link SimdThreads}. */
export interface SimdThreadsOptions {
  /**
   * Polls of its control word a worker makes after each command before it sleeps (for benchmarks; see
   * bench/threads-spin.ts). @defaultValue 300000
   */
  workerSpin?: number;
}

/**
 * cbir's SIMD kernels on every core: worker threads that share each kernel memory with the main thread and run their
 * share of a call while it runs its own, synchronously (the main thread blocks in `Atomics.wait`, which Node allows).
 * {@link initNodeBackend} installs one (`threads` option); the distance kernels of the indexes and the clustering then
 * split their rows between the threads.
 *
 * @example
 * ```ts
 * import { setSimdThreads } from 'cbir-core/compute';
 * import { SimdThreads } from 'cbir-node';
 * setSimdThreads(new SimdThreads(1));   // the main thread and one worker
 * ```
 */
export class SimdThreads implements SimdThreadPool {
  readonly workers: number;
  private readonly ctl: Int32Array;
  private readonly results: Float64Array;
  private readonly ports: MessagePort[] = [];
  private readonly threads: Worker[] = [];
  /** Kernel calls shared with the workers so far. */
  runs = 0;
  private nextHandle = 1;
  private running = 0;
  private closed = false;

  /**
   * Starts `workers` worker threads (they do not keep the process alive).
   * @param workers - Worker threads besides the caller's. @defaultValue `os.availableParallelism() - 1`
   */
  constructor(workers = availableParallelism() - 1, options: SimdThreadsOptions = {}) {
    if (!Number.isInteger(workers) || workers < 1)
      throw new CbirError('INVALID_ARGUMENT', `SimdThreads: workers must be a positive integer, got ${workers}.`);
    this.workers = workers;
    this.ctl = new Int32Array(new SharedArrayBuffer(workers * SLOT * 4));
    this.results = new Float64Array(new SharedArrayBuffer(workers * 8));
    for (let slot = 0; slot < workers; slot++) {
      const { port1, port2 } = new MessageChannel();
      const workerData: SimdWorkerData = {
        control: this.ctl.buffer as SharedArrayBuffer,
        results: this.results.buffer as SharedArrayBuffer,
        port: port2,
        slot,
        names: SIMD_KERNEL_NAMES,
        spin: options.workerSpin ?? WORKER_SPIN,
      };
      const worker = new Worker(new URL('./workers/simd-worker.js', import.meta.url), {
        workerData,
        transferList: [port2],
      });
      worker.unref();
      this.threads.push(worker);
      this.ports.push(port1);
    }
  }

  attach(module: object, memory: object): number {
    if (this.closed)
      throw new CbirError(
        'INVALID_ARGUMENT',
        'SimdThreads.attach: the pool is closed; install a new one (setSimdThreads).',
      );
    const handle = this.nextHandle++;
    for (let w = 0; w < this.workers; w++) {
      this.ports[w].postMessage({ handle, module, memory });
      this.command(w, CMD.attach, handle);
    }
    this.waitAll(this.workers, 'attach');
    return handle;
  }

  detach(handle: number): void {
    // Called by a finalizer: mid-call (a later call does not need it gone), or after close (the workers are gone).
    if (this.running || this.closed) return;
    for (let w = 0; w < this.workers; w++) this.command(w, CMD.detach, handle);
    this.waitAll(this.workers, 'detach');
  }

  start(handle: number, name: SimdKernelName, args: number[][]): void {
    if (this.closed)
      throw new CbirError(
        'INVALID_ARGUMENT',
        'SimdThreads.start: the pool is closed; remove it first (setSimdThreads(undefined)) or install a new one.',
      );
    const kernel = SIMD_KERNEL_NAMES.indexOf(name);
    if (kernel < 0)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `SimdThreads.start: no kernel named "${name}" (SIMD_KERNEL_NAMES lists them).`,
      );
    if (args.length > this.workers)
      throw new CbirError('INVALID_ARGUMENT', `SimdThreads.start: ${args.length} shares for ${this.workers} workers.`);
    const tooMany = args.find((a) => a.length > MAX_ARGS);
    if (tooMany)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `SimdThreads.start: ${name} is called with ${tooMany.length} arguments; a worker's slot holds ${MAX_ARGS} (pass a struct instead).`,
      );
    args.forEach((a, w) => {
      const base = w * SLOT;
      this.ctl[base + WORD.kernel] = kernel;
      this.ctl[base + WORD.nargs] = a.length;
      this.ctl.set(a, base + WORD.args);
      this.command(w, CMD.run, handle);
    });
    this.running = args.length;
    this.runs++;
  }

  wait(): number[] {
    const n = this.running;
    this.running = 0;
    this.waitAll(n, 'kernel');
    return Array.from(this.results.subarray(0, n));
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let w = 0; w < this.workers; w++) this.command(w, CMD.exit, 0);
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  private command(w: number, cmd: number, handle: number): void {
    const base = w * SLOT;
    this.ctl[base + WORD.handle] = handle;
    Atomics.store(this.ctl, base + WORD.cmd, cmd);
    Atomics.notify(this.ctl, base + WORD.cmd);
  }

  private waitAll(n: number, what: string): void {
    let failed = false;
    for (let w = 0; w < n; w++) {
      const at = w * SLOT + WORD.cmd;
      // Spin first: the worker's share usually ends within microseconds of the caller's.
      for (let i = 0; i < SPIN && Atomics.load(this.ctl, at) > CMD.idle; i++);
      for (let v = Atomics.load(this.ctl, at); v > CMD.idle; v = Atomics.load(this.ctl, at))
        Atomics.wait(this.ctl, at, v, 1000);
      if (Atomics.load(this.ctl, at) === FAILED) {
        failed = true;
        Atomics.store(this.ctl, at, CMD.idle);
      }
    }
    if (failed)
      throw new CbirError('WORKER_FAILED', `SimdThreads: a worker failed in ${what} (its error is on stderr).`);
  }
}
