import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { loadTorchWeights, type Autoencoder } from 'cbir-core';
import { fixtureNpy, maxAbsDiff } from './fixtures.js';

/** Max abs differences of latent and reconstruction against the PyTorch fixture `${tag}-${size}-*.npy`. */
export function parityAgainstTorch(
  model: Autoencoder,
  weights: Uint8Array,
  tag: string,
  size: number,
): Promise<{ latent: number; recon: number }> {
  return parityAgainstFiles(model, weights, `models/${tag}-${size}`);
}

/**
 * Max abs differences of latent and reconstruction against the PyTorch fixtures `${prefix}-{input,latent,recon}.npy`.
 * Async: the event loop turns between the encoder and the reconstruction, so that no synchronous stretch (tens of
 * seconds for V2 at 128 px on tfjs's cpu backend) outlasts vitest's 60 s worker RPC timeout on a loaded machine.
 */
export async function parityAgainstFiles(
  model: Autoencoder,
  weights: Uint8Array,
  prefix: string,
): Promise<{ latent: number; recon: number }> {
  loadTorchWeights(model, weights);
  const input = fixtureNpy(`${prefix}-input.npy`);
  const latent = fixtureNpy(`${prefix}-latent.npy`);
  const recon = fixtureNpy(`${prefix}-recon.npy`);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
  const z = model.encode(x);
  await new Promise((r) => setTimeout(r, 0));
  const y = model.reconstruct(x);
  expect(z.shape).toEqual(latent.shape);
  expect(y.shape).toEqual(recon.shape);
  // Read asynchronously: the same check runs on webgpu, which has no synchronous reads in Node.
  const result = { latent: maxAbsDiff(await z.data(), latent.data), recon: maxAbsDiff(await y.data(), recon.data) };
  tf.dispose([x, z, y]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}
