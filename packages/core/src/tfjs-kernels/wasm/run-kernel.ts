import {
  getKernel,
  type Attribute,
  type KernelBackend,
  type KernelConfig,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The kernels ours replaced, by name, for the cases ours hands back to them. */
export const FALLBACKS = new Map<string, KernelConfig>();
const SET_UP = new WeakSet<KernelConfig>();

/**
 * Runs another kernel registered for `backend`'s backend directly, without going through the engine: the building
 * block of composite kernels. The caller disposes the result with `backend.disposeData(result.dataId)` when it is an
 * intermediate.
 */
export function runKernel(
  backendName: string,
  backend: KernelBackend,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: Record<string, Attribute> = {},
): TensorInfo {
  const kernel = getKernel(kernelName, backendName);
  if (!kernel) throw new Error(`runKernel: no ${kernelName} kernel is registered for backend '${backendName}'`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

/** Disposes intermediate results of {@link runKernel}. */
export function disposeAll(backend: KernelBackend, infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Runs the kernel that ours replaced, or throws `why` when there was none. */
export function runFallback(
  kernelName: string,
  args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs: object },
  why: string,
): TensorInfo {
  const fallback = FALLBACKS.get(kernelName);
  if (!fallback) throw new Error(`wasm ${kernelName}: ${why}`);
  // A kernel unregistered before the backend initialised never had its setup run.
  if (fallback.setupFunc && !SET_UP.has(fallback)) {
    fallback.setupFunc(args.backend);
    SET_UP.add(fallback);
  }
  return fallback.kernelFunc(args as never) as TensorInfo;
}

/** The parts of tfjs's `BackendWasm` that JS-side kernels use to read and write tensors on the wasm heap. */
export interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  /** A view of the tensor's memory; invalid once the heap grows, so take views after allocating outputs. */
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

/**
 * A scope for composite kernels: `run` calls another wasm kernel and remembers its result as a temporary,
 * `dispose` frees every temporary. The kernel's own output is made with `makeOutput` or returned by `run(.., true)`.
 */
export function compositeScope(backend: KernelBackend): {
  run: (name: string, inputs: NamedTensorInfoMap, attrs?: Record<string, unknown>, keep?: boolean) => TensorInfo;
  temp: (info: TensorInfo) => TensorInfo;
  dispose: () => void;
} {
  const temps: TensorInfo[] = [];
  const temp = (info: TensorInfo) => (temps.push(info), info);
  return {
    run: (name, inputs, attrs = {}, keep = false) => {
      const out = runKernel('wasm', backend, name, inputs, attrs as Record<string, Attribute>);
      return keep ? out : temp(out);
    },
    temp,
    dispose: () => disposeAll(backend, temps),
  };
}

/**
 * The threads tfjs's own wasm kernels (XNNPACK) run on: 1 in Node, more in a browser page that is cross-origin
 * isolated, where tfjs loads its threaded build. Read from the backend's module, 1 when it does not say.
 */
export function tfjsWasmThreads(backend: KernelBackend): number {
  const wasm = (backend as unknown as { wasm?: { _get_threads_count?: () => number } }).wasm;
  return wasm?._get_threads_count?.() ?? 1;
}
