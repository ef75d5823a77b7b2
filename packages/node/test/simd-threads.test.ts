import { ExactEuclideanIndex, KMeans, LSHIndex, MiniBatchKMeans, Rng, silhouetteSamples, type Matrix } from 'cbir-core';
import { setSimdThreads } from 'cbir-core/compute';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend, SimdThreads } from 'cbir-node';
import { afterAll, describe, expect, it } from 'vitest';

function blobs(n: number, dim: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 6 * dim }, () => rng.normal() * 3);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++) data[i * dim + j] = centres[(i % 6) * dim + j] + rng.normal();
  return { data, rows: n, cols: dim };
}

/** Runs `fn` with the kernels on one thread, then on the main thread and a worker. */
function bothWays<T>(fn: () => T): [T, T] {
  setSimdThreads(undefined);
  const one = fn();
  setSimdThreads(pool);
  const runs = pool.runs;
  const two = fn();
  setSimdThreads(undefined);
  expect(pool.runs, 'kernel calls shared with the worker').toBeGreaterThan(runs);
  return [one, two];
}

const pool = new SimdThreads(1);
afterAll(async () => {
  setSimdThreads(undefined);
  await pool.close();
});

// Threads split the rows of each kernel call: every row's arithmetic is the same, so results are identical (sums
// over rows, such as inertia, are added in another order: equal to 1e-12).
describe('SimdThreads: the kernels split between threads give the single-thread results', () => {
  it('exact search (single query and a batch, d = 300 and 5,000; the float32 and the int16 scans)', () => {
    for (const [n, dim, nq] of [
      [4000, 300, 1],
      [4000, 300, 70],
      [600, 5000, 9],
      [5000, 300, 40], // the int16 pass: 16+ queries over 4,096+ rows
      [4500, 64, 17],
    ]) {
      const x = blobs(n, dim, 1);
      const q = blobs(nq, dim, 2);
      // The exact distances computed after the scan: the same candidates either way (a share's candidates mapped to
      // the wrong rows would still give exact results, through the full-scan fallback, but many more distances).
      const proto = ExactEuclideanIndex.prototype as unknown as { distance: (...a: unknown[]) => number };
      const distance = proto.distance;
      const counts: number[] = [];
      const [a, b] = bothWays(() => {
        const index = new ExactEuclideanIndex(dim);
        index.add(x);
        let calls = 0;
        proto.distance = function (this: unknown, ...args: unknown[]) {
          calls++;
          return distance.apply(this, args);
        };
        try {
          return index.search(q, 10);
        } finally {
          proto.distance = distance;
          counts.push(calls);
        }
      });
      expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
      expect(Array.from(b.distances)).toEqual(Array.from(a.distances));
      expect(counts[1]).toBe(counts[0]);
      expect(counts[0]).toBeLessThanOrEqual(nq * 26);
    }
  });

  it('KMeans, MiniBatchKMeans and the silhouette', () => {
    const x = blobs(6000, 64, 3);
    const [k1, k2] = bothWays(() => new KMeans({ nClusters: 6, nInit: 2, seed: 0 }).fit(x));
    expect(Array.from(k2.labels)).toEqual(Array.from(k1.labels));
    expect(k2.inertia / k1.inertia - 1).toBeLessThan(1e-12);
    const [m1, m2] = bothWays(() => new MiniBatchKMeans({ nClusters: 6, batchSize: 2048, seed: 0 }).fit(x));
    expect(Array.from(m2.centroids.data)).toEqual(Array.from(m1.centroids.data));
    const [s1, s2] = bothWays(() => silhouetteSamples(x, k1.labels));
    s1.forEach((v, i) => expect(Math.abs(v - s2[i])).toBeLessThan(1e-12));
  });

  it('a closed pool refuses work with a clear error, and kernels made for it run alone once it is replaced', async () => {
    const other = new SimdThreads(1);
    setSimdThreads(other);
    const index = new ExactEuclideanIndex(300);
    index.add(blobs(4000, 300, 7));
    const q = blobs(70, 300, 8);
    const before = index.search(q, 5);
    await other.close();
    expect(() => index.search(q, 5)).toThrow(/closed/);
    setSimdThreads(undefined);
    expect(Array.from(index.search(q, 5).ids)).toEqual(Array.from(before.ids));
  });

  it('the protocol refuses a call it cannot carry: more arguments than a slot holds, an unknown kernel', () => {
    const handle = 0; // checked before any worker is asked
    expect(() => pool.start(handle, 'dots_f32', [Array.from({ length: 29 }, () => 0)])).toThrow(
      /29 arguments; a worker's slot holds 28 \(pass a struct instead\)/,
    );
    expect(() => pool.start(handle, 'no_such_kernel' as 'dots_f32', [[]])).toThrow(/no kernel named "no_such_kernel"/);
    expect(() => pool.start(handle, 'dots_f32', [[], []])).toThrow(/2 shares for 1 workers/);
  });

  it('LSH keys and results', () => {
    const x = blobs(5000, 64, 4);
    const q = blobs(50, 64, 5);
    const [a, b] = bothWays(() => {
      const lsh = new LSHIndex({ hashSize: 12, numHashtables: 8, inputDim: 64, seed: 2, centre: true });
      lsh.add(x);
      return { keys: lsh.keys(17), result: lsh.search(q, 10) };
    });
    expect(b.keys).toEqual(a.keys);
    expect(Array.from(b.result.ids)).toEqual(Array.from(a.result.ids));
  });

  it("the wasm backend's convolutions: Conv2D, FusedConv2D with bias and ReLU, the transposed convolution, the filter gradient", async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    const x = tf.randomUniform([4, 19, 17, 24], -1, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomUniform([3, 3, 24, 20], -1, 1, 'float32', 2) as tf.Tensor4D;
    const bias = tf.randomUniform([20], -1, 1, 'float32', 3) as tf.Tensor1D;
    const dy = tf.randomUniform([4, 10, 9, 20], -1, 1, 'float32', 4) as tf.Tensor4D;
    const g = tf.randomUniform([4, 4, 24, 20], -1, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [a, b] = bothWays(() => {
      const outs = [
        tf.conv2d(x, f, 2, 'same'),
        tf.fused.conv2d({ x, filter: f, bias, activation: 'relu', strides: 1, pad: 'valid' }),
        tf.conv2dTranspose(dy, g, [4, 20, 18, 24], 2, 'same'),
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 24, 20] },
          ) as tf.Tensor,
      ];
      const values = outs.map((t) => Array.from(t.dataSync()));
      tf.dispose(outs);
      return values;
    });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < a.length; i++) expect(b[i], `output ${i}`).toEqual(a[i]);
    tf.dispose([x, f, bias, dy, g]);
  });
});
