import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, fitPca } from 'cbir-core';
import { symmetricEigen } from '../../src/decomposition/pca.js';
import { useBackend } from '../helpers/backends.js';

describe('fitPca', () => {
  beforeAll(() => useBackend('cpu'));

  it('finds the covariance eigenvectors of an exact float64 oracle (up to sign), leaving no tensor behind', async () => {
    const rng = new Rng(4);
    const n = 300;
    const d = 12;
    // Anisotropic data: coordinate j scaled by 12 - j, then rotated by a fixed mixing.
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * (d - j) + (j === 0 ? 5 : 0);
    for (let i = 0; i < n; i++) {
      const r = x.subarray(i * d, (i + 1) * d);
      const [a, b] = [r[0], r[1]];
      r[0] = 0.6 * a + 0.8 * b;
      r[1] = -0.8 * a + 0.6 * b;
    }
    const k = 4;
    const before = tf.memory().numTensors;
    const { mean, components } = await fitPca({ data: x, rows: n, cols: d }, k, 1);
    expect(tf.memory().numTensors).toBe(before);
    // Oracle: eigen-decomposition of the float64 covariance matrix.
    const mu = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += x[i * d + j] / n;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++)
      for (let a = 0; a < d; a++)
        for (let b = 0; b < d; b++) cov[a * d + b] += (x[i * d + a] - mu[a]) * (x[i * d + b] - mu[b]);
    const { vectors } = symmetricEigen(cov, d);
    for (let j = 0; j < d; j++) expect(Math.abs(mean[j] - mu[j])).toBeLessThan(1e-4);
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += components[c * d + j] * vectors[j * d + c];
      expect(Math.abs(dot), `component ${c}`).toBeGreaterThan(0.9999);
    }
  });

  it('works when dim is far larger than the number of vectors', async () => {
    const rng = new Rng(9);
    const n = 40;
    const d = 5000;
    const x = Float32Array.from({ length: n * d }, () => rng.normal());
    const { components } = await fitPca({ data: x, rows: n, cols: d }, 8);
    for (let a = 0; a < 8; a++) {
      for (let b = 0; b <= a; b++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += components[a * d + j] * components[b * d + j];
        expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(1e-3);
      }
    }
    await expect(fitPca({ data: x, rows: n, cols: d }, 41)).rejects.toThrow(/at most min\(n, d\) = 40/);
  });
});
