import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  FormatError,
  ImageDecodeError,
  arrayDataset,
  deserializeFeatures,
  embedImages,
  latentToChw,
  serializeFeatures,
  type ImageDataset,
  type RawImage,
} from 'cbir-core';
import { useBackend } from '../helpers/backends.js';
import { values } from '../helpers/kernel-compare.js';

function dataset(n: number, bad: number[] = []): ImageDataset {
  const items = Array.from({ length: n }, (_, i) => ({
    id: `im${i}`,
    label: i % 2 ? 'odd' : 'even',
    image: {
      data: Uint8Array.from(values([32 * 32 * 3], i + 1), (v) => Math.round((v + 1) * 127)),
      width: 32,
      height: 32,
      channels: 3,
    } as RawImage,
  }));
  const base = arrayDataset(32, items);
  return {
    ...base,
    read: async (i) => (bad.includes(i) ? Promise.reject(new ImageDecodeError('broken')) : base.read(i)),
  };
}

describe('embedImages', () => {
  beforeAll(() => useBackend('cpu'));

  it("'none' gives the CHW-flattened latent of encode, row per image, in order, skipping broken files", async () => {
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    const before = tf.memory().numTensors;
    const f = await embedImages(ae, dataset(7, [3]), { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(f.ids).toEqual(['im0', 'im1', 'im2', 'im4', 'im5', 'im6']);
    expect(f.skipped).toEqual(['im3']);
    expect(f.labels[1]).toBe('odd');
    expect(f.matrix.cols).toBe(ae.latentDim);
    const img = await dataset(7).read(4);
    const x = tf.tensor4d(
      Float32Array.from(img.data, (v) => v / 127.5 - 1),
      [1, 32, 32, 3],
    );
    const z = ae.encode(x);
    const want = latentToChw(z.dataSync() as Float32Array, ae.latentShape);
    const got = f.matrix.data.subarray(3 * f.matrix.cols, 4 * f.matrix.cols);
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-6);
    tf.dispose([x, z]);
    ae.dispose();
  });

  it('batchSize 0 is refused at once (it used to loop for ever), an abort stops it with ABORTED, an all-corrupt folder is an error', async () => {
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    await expect(embedImages(ae, dataset(3), { batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer, got 0/,
    );
    const controller = new AbortController();
    const stopped = embedImages(ae, dataset(9), {
      batchSize: 2,
      onProgress: (e) => e.stage === 'embed' && e.done >= 4 && controller.abort(),
      signal: controller.signal,
    });
    await expect(stopped).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(embedImages(ae, dataset(4, [0, 1, 2, 3]))).rejects.toMatchObject({
      code: 'IMAGE_DECODE',
      message: expect.stringMatching(/none of the 4 images could be decoded/),
    });
    // An encoder that gives NaN (broken weights) is named with the image.
    await expect(
      embedImages(ae, dataset(2), { encode: async (_, n) => new Float32Array(n * ae.latentDim).fill(NaN) }),
    ).rejects.toThrow(/the encoder gave NaN for im0/);
    ae.dispose();
  });

  it('pca fits on the data and the fitted reducer embeds queries identically', async () => {
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    const f = await embedImages(ae, dataset(12), { reduce: 'pca:4', l2: true });
    expect(f.matrix.cols).toBe(4);
    expect(f.reducer.components).toHaveLength(4 * ae.latentDim);
    const again = await embedImages(ae, dataset(12), { reducer: f.reducer, l2: true });
    expect(Array.from(again.matrix.data)).toEqual(Array.from(f.matrix.data));
    ae.dispose();
  });

  it('feature files round-trip and reject corruption', async () => {
    const ae = new ConvAutoencoder({ inputSize: 32 });
    const f = await embedImages(ae, dataset(5), { reduce: 'avgpool' });
    const bytes = serializeFeatures({ ...f, metadata: { note: 'x' } });
    const back = deserializeFeatures(bytes);
    expect(back.ids).toEqual(f.ids);
    expect(back.labels).toEqual(f.labels);
    expect(Array.from(back.matrix.data)).toEqual(Array.from(f.matrix.data));
    expect(back.metadata).toEqual({ note: 'x' });
    expect(() => deserializeFeatures(bytes.subarray(0, bytes.length - 9), 'f.cbirfeat')).toThrow(/f\.cbirfeat/);
    const bad = bytes.slice();
    bad[bad.length - 20] ^= 4;
    expect(() => deserializeFeatures(bad)).toThrow(FormatError);
    ae.dispose();
  });
});
