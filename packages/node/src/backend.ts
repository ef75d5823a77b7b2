import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { CbirError, backendMemory, type MemoryLimits } from 'cbir-core';
import { chooseBackend, prepareSimdKernels, registerWasmTrainingKernels, setSimdThreads } from 'cbir-core/compute';
import { SimdThreads } from './simd-threads.js';
import { enableRelaxedSimd } from './relaxed-simd.js';
import { ALLOW_SOFTWARE_GPU, startWebGpu, webGpuAdapter, type GpuAdapter } from './webgpu.js';

/** The tfjs backends cbir-node can run on, fastest first. */
export type NodeBackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Every backend name, in the automatic order. */
export const NODE_BACKENDS: readonly NodeBackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The environment variable that sets the backends to try, in order, comma-separated (`CBIR_BACKEND=wasm`). */
export const BACKEND_ENV = 'CBIR_BACKEND';

/** Options of {@link initNodeBackend}. */
export interface InitNodeBackendOptions {
  /**
   * Backends to try, in order. `webgpu` needs the optional `webgpu` and `@tensorflow/tfjs-backend-webgpu` packages
   * and a GPU with a Vulkan (Metal, D3D12) driver; it is skipped on a software adapter.
   * @defaultValue `CBIR_BACKEND` from the environment (comma-separated), else `['tensorflow', 'webgpu', 'wasm', 'cpu']`
   */
  prefer?: NodeBackendName[];
  /** This backend and no other (`{ backend: 'webgpu' }` is `{ prefer: ['webgpu'] }`); `prefer` wins when both are given. */
  backend?: NodeBackendName;
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
  /** The tensor memory a training step may take on this backend: what `cbir train` picks its micro-batch by. */
  memory: MemoryLimits;
  /** On `webgpu`: the adapter it runs on. */
  adapter?: GpuAdapter;
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

const TRY: Record<NodeBackendName, () => Promise<void>> = {
  tensorflow: tryTensorflow,
  webgpu: startWebGpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** Where Linux exposes a GPU to a process: DRM render nodes, NVIDIA's device files, WSL2's GPU. */
const GPU_DEVICE_NODES = ['/dev/dri', '/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg'];

/**
 * Why the automatic order passes over webgpu without asking Dawn, or undefined to ask it: on Linux with no GPU device
 * node Dawn can only find a software adapter (refused unless `CBIR_ALLOW_SOFTWARE_GPU=1`), after about 250 ms and
 * the Vulkan loader's warnings on stderr. Other systems (Metal, D3D12) are always asked. An explicit `webgpu`
 * (`--backend webgpu`, `CBIR_BACKEND`, `prefer`) is always tried.
 * @internal
 */
export function autoWebGpuSkip(
  platform: string = process.platform,
  exists: (path: string) => boolean = existsSync,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  if (platform !== 'linux' || env[ALLOW_SOFTWARE_GPU] === '1' || GPU_DEVICE_NODES.some(exists)) return undefined;
  return `no GPU device node (${GPU_DEVICE_NODES.join(', ')}), so no hardware adapter; name webgpu (--backend webgpu, CBIR_BACKEND=webgpu) to ask Dawn anyway`;
}

/** The backends `CBIR_BACKEND` names, checked. */
function fromEnvironment(): NodeBackendName[] | undefined {
  const value = process.env[BACKEND_ENV]?.trim();
  if (!value) return undefined;
  const names = value.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !(NODE_BACKENDS as readonly string[]).includes(n));
  if (bad.length)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${BACKEND_ENV}=${value}: unknown backend ${bad.map((b) => `"${b}"`).join(', ')}; valid: ${NODE_BACKENDS.join(', ')} (comma-separated, in order).`,
    );
  return names as NodeBackendName[];
}

/**
 * Chooses and initialises the tfjs backend for Node, trying in order `tensorflow` (libtensorflow through
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, when the user has installed one), `webgpu` (a GPU
 * through Dawn, when the user has installed `webgpu` and `@tensorflow/tfjs-backend-webgpu`), `wasm` (the default:
 * installs everywhere) and `cpu` (pure JS, slow). Choose once per process: tensors made on webgpu cannot move to
 * another backend in Node (that needs a synchronous read).
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
  const asked = options.prefer ?? (options.backend ? [options.backend] : undefined) ?? fromEnvironment();
  const prefer = asked ?? [...NODE_BACKENDS];
  const current = webGpuAdapter() ? tf.getBackend() : undefined;
  if (current === 'webgpu' && prefer[0] !== 'webgpu')
    throw new CbirError(
      'INVALID_ARGUMENT',
      `initNodeBackend: this process already runs on webgpu, and its tensors cannot move to ${prefer[0]} in Node. Choose the backend once per process (releaseWebGpu() ends the webgpu backend).`,
    );
  const skipWebGpu = asked ? undefined : autoWebGpuSkip();
  const tryers = skipWebGpu
    ? {
        ...TRY,
        webgpu: async () => {
          throw new Error(skipWebGpu);
        },
      }
    : TRY;
  const { name, skipped } = await chooseBackend(
    'initNodeBackend',
    prefer,
    tryers,
    'Reinstall dependencies (pnpm install) so @tensorflow/tfjs-backend-wasm is present.',
  );
  return {
    name,
    tfjsBackend: tf.getBackend(),
    skipped,
    simdThreads: simd ? installed.threads : 0,
    memory: backendMemory(tf.getBackend()),
    adapter: name === 'webgpu' ? webGpuAdapter() : undefined,
  };
}
