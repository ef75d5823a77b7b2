import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from './backends.js';

/** Deterministic values in [-1, 1) for a tensor of `shape` (so both backends see the same inputs). */
export function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `kernel` with the same inputs on cpu and on wasm, returning both outputs. */
export async function onBothBackends(
  kernel: string,
  inputs: Record<string, { shape: number[]; data: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<{ cpu: { shape: number[]; data: Float32Array }; wasm: { shape: number[]; data: Float32Array } }> {
  const run = async (backend: 'cpu' | 'wasm') => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const ins = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
    const out = tf.engine().runKernel(kernel, ins, attrs as never) as tf.Tensor;
    const result = { shape: out.shape, data: out.dataSync() as Float32Array };
    tf.dispose([out, ...Object.values(ins)]);
    if (tf.memory().numTensors !== before) throw new Error(`${kernel} on ${backend} leaked tensors`);
    return result;
  };
  return { cpu: await run('cpu'), wasm: await run('wasm') };
}

/** max |a - b| / max(1, max |b|): the error relative to the reference's scale. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
