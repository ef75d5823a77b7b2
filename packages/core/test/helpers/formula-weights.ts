import { torchWeightShapeOf, writeSafetensors, type Autoencoder } from './internal.js';

const M32 = 0x1_0000_0000;

/** scripts/fixtures/make_model_fixtures.py's formula_value: a number in [-1, 1) from tensor index t and element i. */
export function formulaValue(t: number, i: number): number {
  let h = (Math.imul(i, 2654435761 | 0) ^ Math.imul(t, 0x9e3779b9 | 0)) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b | 0) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35 | 0) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / (M32 / 2) - 1;
}

/** The formula weights of make_model_fixtures.py as a PyTorch-layout safetensors file for `model`. */
export function formulaSafetensors(model: Autoencoder): Uint8Array {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let t = 0;
  for (const [name, { spec }] of model.convLayers) {
    const fanIn = (spec.type === 'Conv2d' ? spec.inChannels : spec.outChannels) * spec.kernelSize ** 2;
    for (const [key, shape] of [
      [`${name}.weight`, torchWeightShapeOf(spec)],
      [`${name}.bias`, [spec.outChannels]],
    ] as const) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = formulaValue(t, i) / Math.sqrt(fanIn);
      tensors.set(key, { shape: [...shape], data });
      t++;
    }
  }
  return writeSafetensors(tensors);
}
