import { afterAll, beforeAll } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { heapKernelsTesting } from './internal.js';

/** The two paths of a kernel that can run in place in tfjs's memory, for `describe.each`: in place, and not. */
export const HEAP_PATHS = [
  ['in place in tfjs memory', true],
  ['off the heap kernels', false],
] as const;

/** Registers cbir's wasm kernels for the suite, with the heap kernels on or off (and on again after it). */
export function useHeapKernels(enabled: boolean): void {
  beforeAll(() => {
    registerWasmTrainingKernels();
    heapKernelsTesting.enabled = enabled;
  });
  afterAll(() => {
    heapKernelsTesting.enabled = true;
  });
}
