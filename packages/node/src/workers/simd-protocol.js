// @ts-check
// The protocol between SimdThreads (../simd-threads.ts) and its workers (simd-worker.js), defined once and imported by
// both. Plain JavaScript, like the workers, so that it runs as is from src/ and from dist/.
//
// Each worker owns a slot of SLOT int32 words in a shared control buffer, and one float64 in a shared results buffer.
// The caller writes a command's fields, then stores the command in the slot's `cmd` word and notifies; the worker
// runs it, writes the kernel's result, and stores IDLE (or FAILED) back in `cmd` and notifies.

/** Int32 words per worker in the control buffer. */
export const SLOT = 32;

/** Word offsets within a slot. */
export const WORD = Object.freeze({ cmd: 0, handle: 1, kernel: 2, nargs: 3, args: 4 });

/** The most int32 arguments one kernel call can pass (the words after `args` in a slot). */
export const MAX_ARGS = SLOT - WORD.args;

/**
 * Commands, stored in a slot's `cmd` word: attach a module and memory (sent on the worker's port), detach a handle,
 * run a kernel, exit. The worker answers IDLE when done, FAILED when the command threw (its error on stderr).
 */
export const CMD = Object.freeze({ idle: 0, attach: 1, detach: 2, run: 3, exit: 4 });

/** What a worker stores in `cmd` when a command threw. */
export const FAILED = -1;

/**
 * Polls of its `cmd` word a worker makes after each command before it sleeps in Atomics.wait: waking a sleeping thread
 * costs tens of microseconds, as much as a small kernel call. Measured with `pnpm bench:threads-spin` (two runs, main
 * thread plus one worker, ms): KMeans with a kernel call per iteration 85.5 / 84.9 at 300,000, 102.1 / 91.0 at 20,000,
 * 92.5 / 85.5 at 0; single exact queries and a V2 encode were the same at every spin. Kept: never slower, sometimes
 * 8% faster.
 */
export const WORKER_SPIN = 300000;

/**
 * What a worker is started with (its `workerData`).
 * @typedef {{ control: SharedArrayBuffer, results: SharedArrayBuffer, port: import('node:worker_threads').MessagePort, slot: number, names: readonly string[], spin: number }} SimdWorkerData
 */
export {};
