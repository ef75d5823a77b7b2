import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AveragePooling,
  CbirError,
  DimensionMismatchError,
  GaussianRandomProjection,
  NotFittedError,
  PCA,
  type Matrix,
} from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';
import { useBackend } from '../helpers/backends.js';

beforeAll(() => useBackend('cpu')); // PCA's fit runs on tfjs

// What every fitted transform promises (scikit-learn's conventions, as the clustering estimators'): `fit` returns the
// transform; what it learnt is read after `fit` only (NotFittedError before); the same seed gives the same transform,
// bit for bit; `transform` takes rows of the fitted width only (DimensionMismatchError) and equals a float64 oracle of
// its definition; bad options are refused at construction (CbirError INVALID_ARGUMENT).

const shape = [3, 4, 2] as const; // [h, w, c]
const d = shape[0] * shape[1] * shape[2];
function rows(n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n * d }, () => Math.max(0, rng.normal())), rows: n, cols: d };
}
const x = rows(40, 1);

interface Transform {
  fit(x: Matrix): unknown;
  transform(x: Matrix): Matrix;
  readonly nComponents: number;
}

/** Each kind: how to make it, whether it learns before transform, and its definition in float64. */
const KINDS: Record<
  string,
  { make: (seed: number) => Transform; learns: boolean; oracle: (t: Transform, x: Matrix) => Float64Array }
> = {
  PCA: {
    make: (seed) => new PCA({ nComponents: 3, randomState: seed }),
    learns: true,
    oracle: (t, m) => {
      const { mean, components } = t as PCA;
      return project(m, (i, j) => components.data[j * d + i], 3, mean);
    },
  },
  GaussianRandomProjection: {
    make: (seed) => new GaussianRandomProjection({ nComponents: 5, randomState: seed }),
    learns: true,
    oracle: (t, m) => {
      const c = (t as GaussianRandomProjection).components;
      return project(m, (i, j) => c.data[i * 5 + j], 5);
    },
  },
  AveragePooling: {
    make: () => new AveragePooling({ shape }),
    learns: false,
    oracle: (_t, m) => project(m, (i, j) => (i % shape[2] === j ? 1 / (shape[0] * shape[1]) : 0), shape[2]),
  },
};

/** `(x - mean) . W` in float64, `W[i][j]` given by `w`. */
function project(m: Matrix, w: (i: number, j: number) => number, k: number, mean?: Float32Array): Float64Array {
  const out = new Float64Array(m.rows * k);
  for (let r = 0; r < m.rows; r++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < m.cols; i++) s += (m.data[r * m.cols + i] - (mean?.[i] ?? 0)) * w(i, j);
      out[r * k + j] = s;
    }
  return out;
}

for (const [name, { make, learns, oracle }] of Object.entries(KINDS))
  describe(`transform contract: ${name}`, () => {
    it('fit returns the transform; a transform that learns refuses to transform before it', async () => {
      const t = make(0);
      if (learns) expect(() => t.transform(x)).toThrow(NotFittedError);
      const tensors = tf.memory().numTensors;
      expect(await t.fit(x)).toBe(t);
      expect(tf.memory().numTensors).toBe(tensors);
      expect([t.transform(x).rows, t.transform(x).cols]).toEqual([x.rows, t.nComponents]);
    });

    it('transform equals a float64 oracle of its definition, on rows it was not fitted on', async () => {
      const t = make(0);
      await t.fit(x);
      const y = rows(7, 9);
      const want = oracle(t, y);
      Array.from(t.transform(y).data).forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    });

    it('the same seed gives the same transform, bit for bit', async () => {
      const a = make(3);
      const b = make(3);
      await a.fit(x);
      await b.fit(x);
      expect(Array.from(b.transform(x).data)).toEqual(Array.from(a.transform(x).data));
    });

    it('refuses rows of another width', async () => {
      const t = make(0);
      await t.fit(x);
      expect(() => t.transform({ data: new Float32Array(d + 1), rows: 1, cols: d + 1 })).toThrow(
        DimensionMismatchError,
      );
    });
  });

describe('transform options', () => {
  it('are checked when the transform is made', () => {
    expect(() => new PCA({ nComponents: 0 })).toThrow(CbirError);
    expect(() => new GaussianRandomProjection({ nComponents: 2.5 })).toThrow(/positive integer, got 2.5/);
    expect(() => new AveragePooling({ shape: [3, 0, 2] })).toThrow(/shape must be \[h, w, c\]/);
  });

  it('PCA from a saved reducer state projects as the fitted one', async () => {
    const pca = await new PCA({ nComponents: 3 }).fit(x);
    const again = PCA.fromState(pca.mean, pca.components.data);
    expect(Array.from(again.transform(x).data)).toEqual(Array.from(pca.transform(x).data));
    expect(() => PCA.fromState(new Float32Array(4), new Float32Array(7))).toThrow(/do not make whole rows/);
  });
});
