import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { loadTorchWeights, type Autoencoder } from 'cbir-core';
import { fixtureNpy, maxAbsDiff } from './fixtures.js';

/** Max abs differences of latent and reconstruction against the PyTorch fixture `${tag}-${size}-*.npy`. */
export function parityAgainstTorch(model: Autoencoder, weights: Uint8Array, tag: string, size: number): { latent: number; recon: number } {
  return parityAgainstFiles(model, weights, `models/${tag}-${size}`);
}

/** Max abs differences of latent and reconstruction against the PyTorch fixtures `${prefix}-{input,latent,recon}.npy`. */
export function parityAgainstFiles(model: Autoencoder, weights: Uint8Array, prefix: string): { latent: number; recon: number } {
  loadTorchWeights(model, weights);
  const input = fixtureNpy(`${prefix}-input.npy`);
  const latent = fixtureNpy(`${prefix}-latent.npy`);
  const recon = fixtureNpy(`${prefix}-recon.npy`);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
  const z = model.encode(x);
  const y = model.reconstruct(x);
  expect(z.shape).toEqual(latent.shape);
  expect(y.shape).toEqual(recon.shape);
  const result = { latent: maxAbsDiff(z.dataSync(), latent.data), recon: maxAbsDiff(y.dataSync(), recon.data) };
  tf.dispose([x, z, y]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}
