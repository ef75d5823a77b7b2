import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from 'cbir-core';
import { registerWebGpuTrainingKernels } from 'cbir-core/compute';
import { importOptional } from './optional.js';

/** What a WebGPU adapter says of itself (`GPUAdapterInfo`), as `cbir doctor` prints it. */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software implementation (lavapipe, SwiftShader): a CPU emulating a GPU, slower than the wasm backend. */
  isFallbackAdapter: boolean;
  /** The largest buffer a shader may bind, in bytes: the largest tensor the backend can hold. */
  maxStorageBufferBindingSize: number;
}

/** The environment variable that lets the webgpu backend run on a software adapter (tests, CI, trying it out). */
export const ALLOW_SOFTWARE_GPU = 'CBIR_ALLOW_SOFTWARE_GPU';

type Dawn = typeof import('webgpu');
type WebGpuBackendModule = typeof import('@tensorflow/tfjs-backend-webgpu');

/** The Dawn instance and the device the backend was made with, released by {@link releaseWebGpu}. */
let held: { gpu: GPU; device?: GPUDevice; adapter?: GpuAdapter } | undefined;

async function loadModules(): Promise<{ dawn: Dawn; backend: WebGpuBackendModule }> {
  return importOptional(['webgpu', '@tensorflow/tfjs-backend-webgpu'], async () => ({
    dawn: await import('webgpu'),
    backend: await import('@tensorflow/tfjs-backend-webgpu'),
  }));
}

function describe(adapter: GPUAdapter): GpuAdapter {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

/**
 * An adapter in one line, as `cbir doctor` and `cbir train` print it.
 *
 * @example
 * ```ts
 * const { adapter } = await probeWebGpu();
 * if (adapter) console.log(formatAdapter(adapter));   // 'mesa software (llvmpipe: Mesa 25.0.7 ...), a software fallback'
 * ```
 */
export function formatAdapter(a: GpuAdapter): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown vendor';
  return `${name} (${a.description || a.device || 'no description'}), ${a.isFallbackAdapter ? 'a software fallback' : 'hardware'}`;
}

/** Why Dawn found no adapter, with what to check. */
const NO_ADAPTER =
  'Dawn found no WebGPU adapter: no Vulkan driver for a GPU is visible. Install the GPU driver and libvulkan1 ' +
  '(in a container, expose graphics: NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics); `vulkaninfo --summary` lists what Vulkan sees.';

/**
 * Asks Dawn (the `webgpu` package) for a high-performance adapter, without making a backend: what `cbir doctor`
 * prints. Never throws.
 *
 * @returns The adapter, or why there is none (the package missing, no Vulkan driver).
 *
 * @example
 * ```ts
 * const { adapter, reason } = await probeWebGpu();
 * console.log(adapter ? formatAdapter(adapter) : reason);
 * ```
 */
export async function probeWebGpu(): Promise<{ adapter?: GpuAdapter; reason?: string }> {
  if (held?.adapter) return { adapter: held.adapter };
  try {
    const { dawn } = await loadModules();
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? { adapter: describe(adapter) } : { reason: NO_ADAPTER };
  } catch (e) {
    return { reason: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}

/**
 * Registers and starts tfjs's WebGPU backend on a device cbir makes through Dawn, so that it runs in Node without a
 * `navigator.gpu` (Node 20 has none; the backend's constructor checks it, so it is lent for that call only) and
 * without tfjs 4.22's device request, which nests a feature list inside the list. A software adapter is refused
 * unless `CBIR_ALLOW_SOFTWARE_GPU=1`.
 *
 * @throws {@link cbir-core!BackendUnavailableError | BackendUnavailableError} when the packages are missing, there is no
 * adapter, or the adapter is a software one.
 */
export async function startWebGpu(): Promise<void> {
  if (held && tf.findBackend('webgpu')) {
    await tf.setBackend('webgpu');
    return;
  }
  const { dawn, backend } = await loadModules();
  // The backend reads GPUBufferUsage, GPUMapMode and friends as globals, as in a browser.
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new BackendUnavailableError(NO_ADAPTER);
  const info = describe(adapter);
  if (info.isFallbackAdapter && process.env[ALLOW_SOFTWARE_GPU] !== '1') {
    throw new BackendUnavailableError(
      `the only WebGPU adapter is ${formatAdapter(info)}: a CPU emulating a GPU, slower than the wasm backend. ` +
        `Install the GPU's driver, or set ${ALLOW_SOFTWARE_GPU}=1 to use it anyway (tests).`,
    );
  }
  const L = adapter.limits;
  const features: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    },
  });
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => withNavigatorGpu(gpu, () => new backend.WebGPUBackend(device, adapter.info)));
  // CBIR_WEBGPU_KERNELS=0 keeps tfjs's own kernels (to compare, or to rule cbir's out).
  if (process.env.CBIR_WEBGPU_KERNELS !== '0') registerWebGpuTrainingKernels();
  held = { gpu, device, adapter: info };
  if (!(await tf.setBackend('webgpu'))) {
    releaseWebGpu();
    throw new BackendUnavailableError('the webgpu backend did not initialise (see the warning above).');
  }
}

/** Runs `fn` with `navigator.gpu` set to `gpu`, then puts `navigator` back as it was. */
function withNavigatorGpu<T>(gpu: GPU, fn: () => T): T {
  const g = globalThis as { navigator?: object };
  const had = Object.getOwnPropertyDescriptor(g, 'navigator');
  const nav = g.navigator ?? {};
  const ownGpu = Object.getOwnPropertyDescriptor(nav, 'gpu');
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  if (!had) Object.defineProperty(g, 'navigator', { value: nav, configurable: true });
  try {
    return fn();
  } finally {
    if (ownGpu) Object.defineProperty(nav, 'gpu', ownGpu);
    else delete (nav as { gpu?: unknown }).gpu;
    if (!had) delete g.navigator;
  }
}

/** The adapter the webgpu backend runs on, once started. */
export function webGpuAdapter(): GpuAdapter | undefined {
  return held?.adapter;
}

/**
 * Destroys the webgpu backend's device: Dawn keeps the process alive while it is held. Tensors on webgpu are lost;
 * call it when done (the CLI does at exit).
 *
 * @example
 * ```ts
 * await initNodeBackend({ prefer: ['webgpu'] });
 * // ... train, embed
 * releaseWebGpu();
 * ```
 */
export function releaseWebGpu(): void {
  if (!held) return;
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  held.device?.destroy();
  held = undefined;
}
