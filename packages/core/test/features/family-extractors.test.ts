import * as tf from '@tensorflow/tfjs-core';
import {
  AutoencoderExtractor,
  ConvAutoencoder,
  arrayDataset,
  createExtractor,
  embedImages,
  extractMatrix,
  extractorKinds,
  type RawImage,
} from 'cbir-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backends.js';
import { values } from '../helpers/kernel-compare.js';

const images: RawImage[] = Array.from({ length: 5 }, (_, i) => ({
  data: Uint8Array.from(values([32 * 32 * 3], i + 1), (v) => Math.round((v + 1) * 127)),
  width: 32,
  height: 32,
  channels: 3,
}));

describe('AutoencoderExtractor: the notebook models in the extractor family', () => {
  beforeAll(() => useBackend('cpu'));

  for (const reduce of ['avgpool', 'pca:3', 'rp:8'] as const) {
    it(`gives embedImages' rows (reduce ${reduce}, L2), and comes back from its spec over the same model only`, async () => {
      const ae = new ConvAutoencoder({ inputSize: 32, seed: 1 });
      const other = new ConvAutoencoder({ inputSize: 32, seed: 2 });
      const before = tf.memory().numTensors;
      const embedded = await embedImages(
        ae,
        arrayDataset(
          32,
          images.map((image, i) => ({ id: `${i}`, image })),
        ),
        { reduce, l2: true },
      );
      const fx = new AutoencoderExtractor(ae, embedded.reducer);
      expect([fx.kind, fx.imageSize, fx.dim]).toEqual(['autoencoder', 32, embedded.matrix.cols]);
      const raw = await extractMatrix(fx, images);
      const got = fx.transform(raw).data;
      embedded.matrix.data.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 5));
      const again = await createExtractor(fx.spec(), { model: ae });
      expect(Array.from((await extractMatrix(again, images)).data)).toEqual(Array.from(raw.data));
      await expect(createExtractor(fx.spec(), { model: other })).rejects.toThrow(/the features were made by weights/);
      await expect(createExtractor(fx.spec())).rejects.toThrow(/pass it as \{ model \}/);
      expect(tf.memory().numTensors).toBe(before);
      ae.dispose();
      other.dispose();
    });
  }

  it('is a registered kind', () => {
    expect(extractorKinds()).toContain('autoencoder');
  });
});

describe('FusionExtractor: any members of the family', () => {
  beforeAll(() => useBackend('cpu'));

  it('fuses the autoencoder with hand-crafted blocks; the dot product is the weighted mean of the members, and it comes back from its spec', async () => {
    const { BlockExtractor, FusionExtractor } = await import('cbir-core');
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 3 });
    const embedded = await embedImages(
      ae,
      arrayDataset(
        32,
        images.map((image, i) => ({ id: `${i}`, image })),
      ),
      { reduce: 'avgpool' },
    );
    const hand = new BlockExtractor([{ kind: 'colorgrid' }, { kind: 'lbp', options: { radii: [1] } }]);
    const fx = new FusionExtractor([
      { extractor: new AutoencoderExtractor(ae, embedded.reducer), norm: 'zscore', weight: 1 },
      { extractor: hand, weight: 3 },
    ]);
    expect([fx.kind, fx.needsFit, fx.imageSize]).toEqual(['fusion', true, 'original']);
    const raw = await extractMatrix(fx, images);
    fx.fit(raw);
    const out = fx.transform(raw);
    // Oracle: the members alone, normalised as documented, weighted 1 and 3.
    const ae1 = new AutoencoderExtractor(ae, embedded.reducer);
    const a = ae1.transform(await extractMatrix(ae1, images));
    const hraw = await extractMatrix(hand, images);
    hand.fit(hraw);
    const h = hand.transform(hraw);
    const mean = Array.from(
      { length: a.cols },
      (_, j) => images.reduce((s, _i, r) => s + a.data[r * a.cols + j], 0) / images.length,
    );
    const std = mean.map((m, j) =>
      Math.sqrt(images.reduce((s, _i, r) => s + (a.data[r * a.cols + j] - m) ** 2, 0) / images.length),
    );
    const z = (r: number) => {
      const v = mean.map((m, j) => (a.data[r * a.cols + j] - m) / (std[j] + 1e-8));
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const hv = (r: number) => {
      const v = Array.from(h.data.subarray(r * h.cols, (r + 1) * h.cols));
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
    const row = (r: number) => Array.from(out.data.subarray(r * out.cols, (r + 1) * out.cols));
    expect(dot(row(0), row(3))).toBeCloseTo((1 * dot(z(0), z(3)) + 3 * dot(hv(0), hv(3))) / 4, 5);
    const again = await createExtractor(fx.spec(), { model: ae });
    expect(Array.from(again.transform(await extractMatrix(again, images)).data)).toEqual(Array.from(out.data));
    ae.dispose();
  });
});
