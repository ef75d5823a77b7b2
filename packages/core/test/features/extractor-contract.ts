import * as tf from '@tensorflow/tfjs-core';
import {
  CbirError,
  createExtractor,
  extractMatrix,
  extractOne,
  NotFittedError,
  type ExtractorContext,
  type FeatureExtractor,
  type RawImage,
} from 'cbir-core';
import { describe, expect, it } from 'vitest';

/** One extractor under the contract: how to make it fresh, and what its saved spec needs to come back. */
export interface ExtractorCase {
  /** A new extractor, not fitted. */
  make(): Promise<FeatureExtractor> | FeatureExtractor;
  /** What `createExtractor` needs besides the spec (the loaded model, OpenCV). @defaultValue {} */
  context?: ExtractorContext;
}

/** A seeded photo-like image of `width` x `height`: gradients, a disc, noise. */
export function contractImage(seed: number, width = 48, height = 40): RawImage {
  let s = seed * 2654435761 + 1;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const data = new Uint8Array(width * height * 3);
  const [cx, cy, r] = [width * (0.3 + 0.4 * rand()), height * (0.3 + 0.4 * rand()), 5 + 8 * rand()];
  const col = [255 * rand(), 255 * rand(), 255 * rand()];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
      const base = [(x * 255) / width, (y * 255) / height, 128 + 100 * Math.sin((x + seed) / 5)];
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = Math.max(
          0,
          Math.min(255, Math.round((inside ? col[c] : base[c]) + 20 * (rand() - 0.5))),
        );
    }
  return { data, width, height, channels: 3 };
}

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
};

/**
 * What every feature extractor promises (the `FeatureExtractor` contract), checked on one kind:
 * - `extract` gives one finite vector of `rawDim` values per image, and a batch gives what the images give one by one;
 * - a kind that `needsFit` refuses `transform` before `fit` with a `NotFittedError`; after `fit`, `transform` gives
 *   `[n, dim]` finite rows;
 * - its `spec()` is JSON (options) plus float32 state, and `createExtractor(spec, context)` gives an extractor whose
 *   raw vectors and features are the original's, bit for bit;
 * - no tfjs tensor is left behind by extraction, and `dispose` can be called.
 */
export function describeExtractorContract(name: string, make: () => ExtractorCase, images: readonly RawImage[]): void {
  describe(`FeatureExtractor contract: ${name}`, () => {
    it('extracts rawDim finite values per image; a batch equals the images one by one', async () => {
      const { make: create } = make();
      const fx = await create();
      const before = tf.memory().numTensors;
      const batch = await fx.extract(images);
      expect(batch).toHaveLength(images.length);
      for (const v of batch) {
        expect(v).toHaveLength(fx.rawDim);
        expect(v.every(Number.isFinite)).toBe(true);
      }
      for (const [i, image] of images.slice(0, 3).entries()) {
        const [alone] = await fx.extract([image]);
        // Models run the batch as one tensor: equal to float rounding; hand-crafted kinds exactly.
        expect(relDiff(alone, batch[i])).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors).toBe(before);
      fx.dispose();
    });

    it('transform: NotFittedError before fit when it needs one; [n, dim] finite rows after', async () => {
      const fx = await make().make();
      const raw = await extractMatrix(fx, images);
      if (fx.needsFit) {
        expect(() => fx.transform(raw)).toThrow(NotFittedError);
        fx.fit(raw);
      }
      const out = fx.transform(raw);
      expect([out.rows, out.cols]).toEqual([images.length, fx.dim]);
      expect(out.data.every(Number.isFinite)).toBe(true);
      fx.dispose();
    });

    it('comes back from its spec: the same raw vectors and features, bit for bit', async () => {
      const c = make();
      const fx = await c.make();
      const raw = await extractMatrix(fx, images);
      if (fx.needsFit) fx.fit(raw);
      const features = fx.transform(raw);
      const spec = fx.spec();
      expect(spec.kind).toBe(fx.kind);
      expect(JSON.parse(JSON.stringify(spec.options))).toEqual(spec.options);
      for (const v of Object.values(spec.state ?? {})) expect(v).toBeInstanceOf(Float32Array);
      const back = await createExtractor(spec, c.context);
      expect([back.kind, back.rawDim, back.dim, back.imageSize]).toEqual([fx.kind, fx.rawDim, fx.dim, fx.imageSize]);
      const raw2 = await extractMatrix(back, images);
      expect(Array.from(raw2.data)).toEqual(Array.from(raw.data));
      expect(Array.from(back.transform(raw2).data)).toEqual(Array.from(features.data));
      expect(Array.from(await extractOne(back, images[0]))).toEqual(Array.from(features.data.subarray(0, fx.dim)));
      back.dispose();
      fx.dispose();
    });

    it('refuses a spec of another kind, naming the known kinds', async () => {
      const fx = await make().make();
      await expect(createExtractor({ ...fx.spec(), kind: 'no-such-kind' })).rejects.toThrow(CbirError);
      await expect(createExtractor({ ...fx.spec(), kind: 'no-such-kind' })).rejects.toThrow(/known: /);
      fx.dispose();
    });
  });
}
