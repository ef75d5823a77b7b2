import type { KernelBackend } from '@tensorflow/tfjs-core';
import { SIMD_HEAP_WASM_BASE64 } from '../../compute/wasm-simd/simd-binary.js';
import { decodeBase64 } from '../../compute/wasm-simd/simd-kernels.js';

/** heap-kernels.c's exports; pointers are byte offsets into tfjs's wasm memory. */
export interface HeapKernels {
  relu_grad_f32(dy: number, x: number, n: number, out: number): void;
  column_sums_f64(x: number, n: number, d: number, sums: number): void;
  maxpool2_grad_f32(
    x: number,
    dy: number,
    dx: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    r0: number,
    r1: number,
  ): void;
}

/**
 * Test hooks: `enabled: false` leaves the kernels that use {@link heapKernels} on their other paths; `runs` counts the
 * tensor kernels that ran in place.
 */
export const heapKernelsTesting = { enabled: true, runs: 0 };

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, HeapKernels | null>();

/**
 * Elements per call of a heap kernel. V8 runs a wasm call to its end in the tier it started in, and the first calls
 * start in its baseline compiler: calls of this size let the optimised code take over after a few.
 */
export const HEAP_CHUNK = 1 << 16;

/**
 * cbir's in-place kernels (`heap-kernels.c`) instantiated on the wasm backend's own memory, so that they read and
 * write its tensors where they lie: no copies, one thread. Undefined where the backend's memory is not a plain
 * `WebAssembly.Memory` cbir can import (tfjs's threaded build, whose memory is shared), or without WebAssembly SIMD.
 * The module writes nothing of its own into that memory: no data segment, no stack (checked on the binary in
 * `binary-rules.test.ts`).
 */
export function heapKernels(backend: KernelBackend): HeapKernels | undefined {
  if (!heapKernelsTesting.enabled) return undefined;
  const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    try {
      compiled ??= new WebAssembly.Module(decodeBase64(SIMD_HEAP_WASM_BASE64));
      kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as HeapKernels;
    } catch {
      kernels = null; // a shared memory, or no SIMD: the callers' other paths
    }
    instances.set(memory, kernels);
  }
  return kernels ?? undefined;
}
