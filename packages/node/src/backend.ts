import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { CbirError, chooseBackend, prepareSimdKernels, registerWasmTrainingKernels, setSimdThreads } from 'cbir-core';
import { SimdThreads } from './simd-threads.js';
import { enableRelaxedSimd } from './relaxed-simd.js';

/** The tfjs backends cbir-node can run on, fastest first. */
export type NodeBackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Options of {@link initNodeBackend}. */
export interface InitNodeBackendOptions {
  /**
   * Backends to try, in order.
   * @defaultValue `['tensorflow', 'wasm', 'cpu']`
   */
  prefer?: NodeBackendName[];
  /**
   * Threads for cbir's SIMD kernels (the wasm backend's convolutions and their gradients, exact search, LSH hashing,
   * clustering): the main thread plus `threads - 1` workers; 1 keeps everything on the main thread. (tfjs's own wasm
   * kernels have one thread in Node whatever this is.)
   * @defaultValue `os.availableParallelism()`
   */
  threads?: number;
}

/** What {@link initNodeBackend} chose, and why each backend before it was skipped. */
export interface BackendChoice {
  name: NodeBackendName;
  /** The tfjs backend name now active (`tensorflow`, `wasm` or `cpu`). */
  tfjsBackend: string;
  skipped: { name: NodeBackendName; reason: string }[];
  /** Threads cbir's WebAssembly SIMD kernels run on (the calling thread included); 0 where WebAssembly SIMD is missing. */
  simdThreads: number;
}

const require = createRequire(import.meta.url);

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

async function tryTensorflow(): Promise<void> {
  const failures: string[] = [];
  // tfjs-node(-gpu) are optional peer dependencies: imported only when the user installed them.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      if (await tf.setBackend('tensorflow')) return;
      failures.push(`${pkg} loaded but the 'tensorflow' backend did not initialise`);
    } catch (e) {
      failures.push(`${pkg}: ${message(e)}`);
    }
  }
  throw new Error(`${failures.join('; ')} (install @tensorflow/tfjs-node or -node-gpu to use libtensorflow)`);
}

async function tryWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package's dist folder.
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  // tfjs's wasm backend cannot train convolutions as shipped; cbir's gradient kernels make it train, fast.
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
}

async function tryCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
}

let installed: { threads: number; pool?: SimdThreads } = { threads: 1 };

/** Installs SIMD threads once per thread count (initNodeBackend may be called again, e.g. to switch backends). */
function setSimdKernelThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1)
    throw new CbirError('INVALID_ARGUMENT', `initNodeBackend: threads must be a positive integer, got ${threads}.`);
  if (installed.threads === threads) return;
  void installed.pool?.close();
  const pool = threads > 1 ? new SimdThreads(threads - 1) : undefined;
  setSimdThreads(pool);
  installed = { threads, pool };
}

const TRY: Record<NodeBackendName, () => Promise<void>> = { tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu };

/**
 * Chooses and initialises the tfjs backend for Node, trying in order `tensorflow` (libtensorflow through
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, when the user has installed one), `wasm` (the default:
 * installs everywhere) and `cpu` (pure JS, slow).
 *
 * @param options - `prefer`: the backends to try, in order.
 * @returns The backend chosen and why each one before it was skipped.
 * @throws {@link cbir-core!BackendUnavailableError | BackendUnavailableError} listing every backend tried with its cause, when none works.
 *
 * @example
 * ```ts
 * import { initNodeBackend } from 'cbir-node';
 * const { name, skipped } = await initNodeBackend();
 * console.log(name, skipped); // 'wasm', [{ name: 'tensorflow', reason: "@tensorflow/tfjs-node-gpu: Cannot find package ..." }]
 * ```
 */
export async function initNodeBackend(options: InitNodeBackendOptions = {}): Promise<BackendChoice> {
  enableRelaxedSimd();
  const simd = await prepareSimdKernels();
  if (simd) setSimdKernelThreads(options.threads ?? availableParallelism());
  const { name, skipped } = await chooseBackend(
    'initNodeBackend',
    options.prefer ?? ['tensorflow', 'wasm', 'cpu'],
    TRY,
    'Reinstall dependencies (pnpm install) so @tensorflow/tfjs-backend-wasm is present.',
  );
  return { name, tfjsBackend: tf.getBackend(), skipped, simdThreads: simd ? installed.threads : 0 };
}
