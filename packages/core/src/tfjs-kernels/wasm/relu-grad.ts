import {
  Relu,
  cast,
  engine,
  getBackend,
  getKernel,
  mul,
  step,
  tidy,
  util,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './run-kernel.js';
import { HEAP_CHUNK, heapKernels, heapKernelsTesting } from './heap-kernels.js';
import { tensorSimd } from './tensor-simd.js';

/** cbir's kernel for ReLU's gradient: `dy * step(x)` in one pass. */
export const RELU_GRAD = 'CbirReluGrad';

/**
 * `dy * step(x)` for the wasm backend in one pass, as tfjs computes it (`step` of NaN is NaN, so a NaN input still
 * poisons its gradient). In place in tfjs's memory where cbir's heap kernels load there (`relu_grad_f32` of
 * heap-kernels.c, one thread); else on cbir's SIMD kernels and threads, the operands copied into their memory and the
 * result back; else a JS loop. On a 32 x 128 x 128 x 64 gradient: tfjs's three kernels (`Step`, `Cast`, `Multiply`)
 * took about 160 ms, a JS loop over the wasm heap 285 ms, the threads with copies 86 to 89.
 */
function reluGrad(args: { inputs: NamedTensorInfoMap; backend: WasmHeapBackend }): TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as TensorInfo;
  const x = args.inputs.x as TensorInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  const n = util.sizeFromShape(x.shape);
  const heap = heapKernels(backend);
  if (heap) {
    const [d, v, o] = [dy, x, out].map((t) => backend.typedArrayFromHeap(t).byteOffset);
    for (let i = 0; i < n; i += HEAP_CHUNK)
      heap.relu_grad_f32(d + 4 * i, v + 4 * i, Math.min(HEAP_CHUNK, n - i), o + 4 * i);
    heapKernelsTesting.runs++;
    return out;
  }
  const k = tensorSimd();
  if (k) {
    k.reset();
    const db = k.alloc(n, 4);
    const xb = k.alloc(n, 4);
    k.f32(db).set(backend.typedArrayFromHeap(dy));
    k.f32(xb).set(backend.typedArrayFromHeap(x));
    k.rows('relu_grad_f32', n, 1, (i0, i1) => [db.ptr + i0 * 4, xb.ptr + i0 * 4, i1 - i0, db.ptr + i0 * 4]);
    backend.typedArrayFromHeap(out).set(k.f32(db));
    k.reset();
    return out;
  }
  const o = backend.typedArrayFromHeap(out);
  const d = backend.typedArrayFromHeap(dy);
  const v = backend.typedArrayFromHeap(x);
  for (let i = 0; i < n; i++) {
    const xi = v[i];
    o[i] = d[i] * (xi > 0 ? 1 : xi === xi ? 0 : NaN);
  }
  return out;
}

/** {@link RELU_GRAD} for the wasm backend, as a kernel config to register. */
export const wasmReluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as KernelFunc,
};

/**
 * `dy * step(x)`: {@link RELU_GRAD} where the active backend has it, else tfjs's own formula (the same values). Also
 * ReLU's gradient through its output (`step(relu(z)) = step(z)`), for a fused convolution.
 */
export function reluGradient(dy: Tensor, x: Tensor): Tensor {
  if (getKernel(RELU_GRAD, getBackend())) return engine().runKernel(RELU_GRAD, { dy, x }) as Tensor;
  return tidy(() => mul(dy, cast(step(x), 'float32')));
}

/** ReLU's gradient by {@link reluGradient}; replaces tfjs's gradient for `Relu` when registered. */
export const reluGradConfig: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => ({ x: () => reluGradient(dy as Tensor, saved[0]) }),
};
