import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CbirError,
  FormatError,
  deserializeReducer,
  latentToChw,
  parseReduce,
  projectionMatrix,
  reduceLatent,
  serializeReducer,
} from 'cbir-core';
import { useBackend } from '../helpers/backends.js';
import { fixtureNpy } from '../helpers/fixtures.js';

describe('reducers', () => {
  beforeAll(() => useBackend('cpu'));

  it("latentToChw flattens as PyTorch's latent.flatten() on NCHW", () => {
    const z = fixtureNpy('models/v1-68-latent.npy'); // NHWC [2, 5, 5, 8] from PyTorch's NCHW latent
    const [n, h, w, c] = z.shape;
    const nchw = tf.tidy(() =>
      tf.transpose(tf.tensor4d(z.data as Float32Array, [n, h, w, c]), [0, 3, 1, 2]).dataSync(),
    );
    const per = h * w * c;
    for (let i = 0; i < n; i++) {
      const got = latentToChw((z.data as Float32Array).subarray(i * per, (i + 1) * per), [c, h, w]);
      expect(Array.from(got)).toEqual(Array.from(nchw.subarray(i * per, (i + 1) * per)));
    }
  });

  it('avgpool is the mean over space of each channel', () => {
    const latent = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i); // [h=2, w=2, c=3]
    expect(Array.from(reduceLatent(latent, { kind: 'avgpool', latentShape: [3, 2, 2], dim: 3 }))).toEqual([
      4.5, 5.5, 6.5,
    ]);
  });

  it('rp is seeded and roughly preserves distances (Johnson-Lindenstrauss)', () => {
    expect(projectionMatrix(10, 4, 1)).toEqual(projectionMatrix(10, 4, 1));
    expect(projectionMatrix(10, 4, 1)).not.toEqual(projectionMatrix(10, 4, 2));
    const state = { kind: 'rp' as const, latentShape: [64, 4, 4] as [number, number, number], dim: 512, seed: 3 };
    const m = projectionMatrix(1024, 512, 3);
    const a = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 1024 }, (_, i) => Math.cos(i * 0.7));
    const dist = (x: Float32Array, y: Float32Array) => Math.hypot(...x.map((v, i) => v - y[i]));
    const ratio =
      dist(reduceLatent(a, state, m), reduceLatent(b, state, m)) /
      dist(latentToChw(a, [64, 4, 4]), latentToChw(b, [64, 4, 4]));
    expect(ratio).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1.15);
  });

  it('parses the four forms and rejects others with the valid list', () => {
    expect(parseReduce('pca:32')).toEqual({ kind: 'pca', dim: 32 });
    expect(parseReduce('avgpool')).toEqual({ kind: 'avgpool' });
    expect(() => parseReduce('pca:0')).toThrow(CbirError);
    expect(() => parseReduce('umap:2')).toThrow(/Use none, avgpool, rp:N or pca:N/);
  });

  it('serialises a fitted reducer exactly and rejects corruption', () => {
    const state = {
      kind: 'pca' as const,
      latentShape: [2, 1, 1] as [number, number, number],
      dim: 1,
      mean: Float32Array.from([1, 2]),
      components: Float32Array.from([0.6, 0.8]),
    };
    const bytes = serializeReducer(state);
    expect(deserializeReducer(bytes)).toEqual(state);
    bytes[20] ^= 1;
    expect(() => deserializeReducer(bytes)).toThrow(FormatError);
  });
});
