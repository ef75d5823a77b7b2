import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvAutoencoder, ConvAutoencoderV2, DimensionMismatchError, EncoderPool, initNodeBackend } from 'cbir-node';

describe('EncoderPool', () => {
  let ae: ConvAutoencoderV2;
  let pool: EncoderPool;
  beforeAll(async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    ae = new ConvAutoencoderV2({ inputSize: 64, seed: 1 });
    pool = await EncoderPool.create(ae, { threads: 2 });
  });
  afterAll(async () => {
    await pool.close();
    ae.dispose();
  });

  it('a pool whose worker died refuses work with WORKER_FAILED instead of leaving it pending for ever', async () => {
    const small = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    const doomed = await EncoderPool.create(small, { threads: 2 });
    const pixels = new Float32Array(64 * 32 * 32 * 3);
    // The test reaches into the pool to kill its worker, as a crash (or an out-of-memory kill) would.
    const worker = (
      doomed as unknown as { workers: { terminate(): Promise<number>; once(e: 'exit', f: () => void): void }[] }
    ).workers[0];
    const exited = new Promise<void>((r) => worker.once('exit', r));
    await worker.terminate();
    await exited;
    await expect(doomed.encode(pixels, 64)).rejects.toMatchObject({
      code: 'WORKER_FAILED',
      message: expect.stringMatching(/exited with code 1/),
    });
    await doomed.close().catch(() => undefined);
    small.dispose();
  });

  it('gives the same latents as encode on the main thread, for any batch size', async () => {
    for (const n of [1, 3, 8]) {
      const x = tf.randomUniform([n, 64, 64, 3], -1, 1, 'float32', n) as tf.Tensor4D;
      const expected = ae.encode(x);
      const got = await pool.encode(x.dataSync() as Float32Array, n);
      expect(got.length).toBe(expected.size);
      const want = expected.dataSync();
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      expect(diff).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, expected]);
    }
    expect(pool.size).toBe(2);
    expect(pool.latentShape).toEqual([2, 2, 256]);
  });

  it('encodes calls made at once, without waiting for each other, correctly', async () => {
    const xs = [4, 6].map((n, k) => tf.randomUniform([n, 64, 64, 3], -1, 1, 'float32', 10 + k) as tf.Tensor4D);
    // Both calls are in flight together: the second cannot reuse the first's shared buffer.
    const got = await Promise.all(xs.map((x) => pool.encode(x.dataSync() as Float32Array, x.shape[0])));
    xs.forEach((x, k) => {
      const want = ae.encode(x);
      const w = want.dataSync();
      let diff = 0;
      for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(got[k][i] - w[i]));
      expect(got[k].length).toBe(w.length);
      expect(diff).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, want]);
    });
  });

  it('rejects a buffer of the wrong length', async () => {
    await expect(pool.encode(new Float32Array(10), 1)).rejects.toBeInstanceOf(DimensionMismatchError);
  });
});

describe('EncoderPool with ConvAutoencoder, in cache-sized chunks', () => {
  it('gives the latents of encode for a batch that spans several chunks', async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    const ae = new ConvAutoencoder({ inputSize: 128, seed: 2 });
    const pool = await EncoderPool.create(ae, { threads: 2 });
    try {
      const x = tf.randomUniform([23, 128, 128, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
      const expected = ae.encode(x);
      const got = await pool.encode(x.dataSync() as Float32Array, 23); // shares of 12 and 11, in chunks of 6, 6 and 6, 5
      const want = expected.dataSync();
      expect(got.length).toBe(want.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      expect(diff).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, expected]);
    } finally {
      await pool.close();
      ae.dispose();
    }
  });
});
