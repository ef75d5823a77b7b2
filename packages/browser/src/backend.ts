import * as tf from '@tensorflow/tfjs-core';
import {
  chooseBackend,
  prepareSimdKernels,
  registerWasmTrainingKernels,
  registerWebGpuTrainingKernels,
} from 'cbir-core/compute';
import { setWasmPaths } from './wasm-paths.js';

/** The tfjs backends cbir-browser can run on, fastest first. */
export type BrowserBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Options of {@link initBrowserBackend}. */
export interface InitBrowserBackendOptions {
  /** Backends to try, in order. @defaultValue `['webgpu', 'webgl', 'wasm', 'cpu']` */
  prefer?: BrowserBackendName[];
  /**
   * Where the wasm backend's `.wasm` files are served, for static hosting: a URL prefix ending in `/`, or a map from
   * file name (`tfjs-backend-wasm-simd.wasm`, ...) to URL (what bundlers' `?url` imports give). Default: the
   * tfjs's own default (the jsDelivr CDN), which does not work offline.
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Use WebGL even when it runs on a software rasterizer (SwiftShader, llvmpipe: headless browsers, machines without
   * a GPU driver), where it is far slower than wasm (an epoch of the demo: 96 s against 1.4 s in headless Chromium).
   * @defaultValue false: such a WebGL is skipped, with the renderer's name as the reason
   */
  allowSoftwareWebgl?: boolean;
}

/** The renderer WebGL draws with, from WEBGL_debug_renderer_info (undefined where the browser hides it). */
function webglRenderer(): string | undefined {
  const canvas = (
    globalThis as { document?: { createElement(t: string): { getContext(k: string): unknown } } }
  ).document?.createElement('canvas');
  const gl = (canvas?.getContext('webgl2') ?? canvas?.getContext('webgl')) as
    | { getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): unknown }
    | null
    | undefined;
  const info = gl?.getExtension('WEBGL_debug_renderer_info');
  return info ? String(gl!.getParameter(info.UNMASKED_RENDERER_WEBGL)) : undefined;
}

/** Whether a WebGL renderer's name is a software rasterizer's. */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i.test(renderer);
}

/** What {@link initBrowserBackend} chose, and why each backend before it was skipped. */
export interface BrowserBackendChoice {
  name: BrowserBackendName;
  skipped: { name: BrowserBackendName; reason: string }[];
}

const TRY: Record<BrowserBackendName, (o: InitBrowserBackendOptions) => Promise<void>> = {
  async webgpu() {
    if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu)
      throw new Error('navigator.gpu is not available (WebGPU is off or unsupported)');
    await import('@tensorflow/tfjs-backend-webgpu');
    // tfjs's filter gradient leaves a GPU idle (one thread per weight): cbir's splits the sum.
    registerWebGpuTrainingKernels();
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise (no adapter)');
  },
  async webgl(o) {
    const renderer = webglRenderer();
    if (renderer && isSoftwareRenderer(renderer) && !o.allowSoftwareWebgl) {
      throw new Error(
        `WebGL runs on a software rasterizer (${renderer}), slower than wasm; allowSoftwareWebgl: true uses it anyway`,
      );
    }
    await import('@tensorflow/tfjs-backend-webgl');
    if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend did not initialise (no WebGL context)');
  },
  async wasm(o) {
    await import('@tensorflow/tfjs-backend-wasm');
    if (o.wasmPaths) setWasmPaths(o.wasmPaths);
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  },
  async cpu() {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  },
};

/**
 * Chooses and initialises a tfjs backend in the browser, trying in order `webgpu`, `webgl`, `wasm` (with cbir's
 * training kernels, so it trains) and `cpu`.
 *
 * @returns The backend chosen and why each one before it was skipped.
 * @throws {@link cbir-core!BackendUnavailableError | BackendUnavailableError} listing every backend tried with its cause, when none works.
 * @example
 * ```ts
 * const { name, skipped } = await initBrowserBackend({ prefer: ['webgl', 'wasm'], wasmPaths: '/tfjs-wasm/' });
 * ```
 */
export async function initBrowserBackend(options: InitBrowserBackendOptions = {}): Promise<BrowserBackendChoice> {
  const prefer = options.prefer ?? ['webgpu', 'webgl', 'wasm', 'cpu'];
  const tryers = Object.fromEntries(Object.entries(TRY).map(([n, f]) => [n, () => f(options)])) as Record<
    BrowserBackendName,
    () => Promise<void>
  >;
  // The main thread may not compile cbir's SIMD kernels (over 4 KB) synchronously: compile them now.
  await prepareSimdKernels();
  return chooseBackend('initBrowserBackend', prefer, tryers);
}
