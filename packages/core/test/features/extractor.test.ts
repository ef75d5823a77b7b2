import {
  BlockExtractor,
  chiSquare,
  colorGrid,
  colorMoments,
  createExtractor,
  DEFAULT_FUSION,
  deserializeFeatures,
  extractMatrix,
  extractOne,
  extractorKinds,
  hellinger,
  hog,
  lbp,
  NotFittedError,
  resizeShortSide,
  serializeFeatures,
  type FeatureExtractor,
  type RawImage,
} from 'cbir-core';
import { registerExtractor } from 'cbir-core/extend';
import { describe, expect, it } from 'vitest';

/** A seeded photo-like image: gradients, a disc whose colour and place vary, and noise. */
function card(seed: number, width = 96, height = 72): RawImage {
  let s = seed * 2654435761 + 1;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const data = new Uint8Array(width * height * 3);
  const [cx, cy, rad] = [width * (0.3 + 0.4 * rand()), height * (0.3 + 0.4 * rand()), 8 + 12 * rand()];
  const col = [255 * rand(), 255 * rand(), 255 * rand()];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad;
      const base = [(x * 255) / width, (y * 255) / height, 128 + 100 * Math.sin((x + seed) / 7)];
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = Math.max(
          0,
          Math.min(255, Math.round((inside ? col[c] : base[c]) + 30 * (rand() - 0.5))),
        );
    }
  }
  return { data, width, height, channels: 3 };
}
const images = Array.from({ length: 12 }, (_, i) => card(i + 1));

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const unit = (v: number[]) => {
  const n = Math.sqrt(dot(v, v));
  return v.map((x) => x / n);
};

describe('BlockExtractor: the study fusion', () => {
  it('concatenates the blocks as the study does: raw vectors are the four features of each image', async () => {
    const fx = new BlockExtractor();
    expect(fx.kind).toBe('fused');
    expect(fx.rawDim).toBe(1280 + 885 + 90 + 1764);
    const [raw] = await fx.extract([images[0]]);
    const crop = resizeShortSide(images[0], 256, true);
    const expected = [...colorGrid(images[0]), ...lbp(crop), ...colorMoments(crop), ...hog(crop)];
    expect(Array.from(raw)).toEqual(expected);
  });

  it('the dot product of two fused vectors is the weighted mean of the blocks similarities (a float64 oracle)', async () => {
    const fx = new BlockExtractor();
    const raw = await extractMatrix(fx, images);
    fx.fit(raw);
    const out = fx.transform(raw);
    const rows = (m: { data: Float32Array; cols: number }, i: number) =>
      Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
    // The oracle: each block normalised on its own from the raw values, the collection statistics recomputed here.
    const bounds = [0, 1280, 2165, 2255, 4019];
    const blocks = images.map((_, i) => [0, 1, 2, 3].map((b) => rows(raw, i).slice(bounds[b], bounds[b + 1])));
    const block = (i: number, b: number) => blocks[i][b];
    const stats = [1, 2, 3].map((b) => {
      const cols = bounds[b + 1] - bounds[b];
      const mean = Array.from(
        { length: cols },
        (_, j) => images.reduce((s, _i, i) => s + block(i, b)[j], 0) / images.length,
      );
      const std = mean.map((m, j) =>
        Math.sqrt(images.reduce((s, _i, i) => s + (block(i, b)[j] - m) ** 2, 0) / images.length),
      );
      return { mean, std };
    });
    const normalised = (i: number, b: number) => {
      if (b === 0) {
        const v = block(i, 0);
        const sum = v.reduce((s, x) => s + x, 0);
        return v.map((x) => Math.sqrt(x / sum));
      }
      const { mean, std } = stats[b - 1];
      return unit(block(i, b).map((x, j) => (x - mean[j]) / (std[j] + 1e-8)));
    };
    const weights = [1, 0.5, 0.25, 0.25];
    for (const [i, j] of [
      [0, 1],
      [2, 7],
      [5, 11],
    ]) {
      const expected = weights.reduce((s, w, b) => s + w * dot(normalised(i, b), normalised(j, b)), 0) / 2;
      expect(dot(rows(out, i), rows(out, j))).toBeCloseTo(expected, 5);
    }
    for (let i = 0; i < images.length; i++) expect(dot(rows(out, i), rows(out, i))).toBeCloseTo(1, 5);
  });

  it('refuses to transform before fit, and says so', async () => {
    const fx = new BlockExtractor();
    const raw = await extractMatrix(fx, images.slice(0, 2));
    expect(() => fx.transform(raw)).toThrow(NotFittedError);
    expect(() => fx.fit({ data: raw.data.subarray(0, fx.rawDim), rows: 1, cols: fx.rawDim })).toThrow(
      /at least 2 images/,
    );
  });

  it('a query extracted through the saved spec equals the collection row of the same image', async () => {
    const fx = new BlockExtractor();
    const raw = await extractMatrix(fx, images);
    fx.fit(raw);
    const features = fx.transform(raw);
    const file = deserializeFeatures(
      serializeFeatures({
        matrix: features,
        ids: images.map((_, i) => `${i}.jpg`),
        labels: images.map(() => undefined),
        extractor: fx.spec(),
      }),
    );
    expect(file.extractor!.kind).toBe('fused');
    expect(Object.keys(file.extractor!.state!).sort()).toEqual([
      'mean.1',
      'mean.2',
      'mean.3',
      'std.1',
      'std.2',
      'std.3',
    ]);
    const again = await createExtractor(file.extractor!);
    const q = await extractOne(again, images[4]);
    expect(Array.from(q)).toEqual(Array.from(features.data.subarray(4 * fx.dim, 5 * fx.dim)));
  });

  it('single blocks are kinds of their own, with their options and norms', async () => {
    const hist = await createExtractor({ kind: 'colorhist', options: { norm: 'hellinger' } });
    expect([hist.kind, hist.dim, hist.needsFit]).toEqual(['colorhist', 288, false]);
    const v = await extractOne(hist, images[0]);
    expect(dot(v, v)).toBeCloseTo(1, 5);
    const l = await createExtractor({ kind: 'lbp', options: { options: { radii: [1] } } });
    expect([l.dim, l.needsFit]).toEqual([295, true]);
    expect(DEFAULT_FUSION.map((b) => b.kind)).toEqual(['colorgrid', 'lbp', 'moments', 'hog']);
  });

  it('checks options before any image is read', () => {
    expect(() => new BlockExtractor([{ kind: 'lbp', options: { radii: [0] } }])).toThrow(
      /radii must be positive integers/,
    );
    expect(() => new BlockExtractor([{ kind: 'colorgrid', weight: -1 }])).toThrow(/weight must be a positive number/);
    expect(() => new BlockExtractor([{ kind: 'sift' as never }])).toThrow(/block kind must be one of/);
    expect(() => new BlockExtractor([{ kind: 'hog', norm: 'l3' as never }])).toThrow(/norm must be one of/);
    expect(() => new BlockExtractor([])).toThrow(/at least one block/);
  });
});

describe('the extractor registry', () => {
  it('names the known kinds when asked for an unknown one', async () => {
    await expect(createExtractor({ kind: 'sift', options: {} })).rejects.toThrow(
      /unknown extractor kind "sift"; known: .*colorgrid.*fused/,
    );
    expect(extractorKinds()).toEqual(
      expect.arrayContaining(['fused', 'colorgrid', 'lbp', 'moments', 'hog', 'colorhist']),
    );
  });

  it('takes a plugin kind and rebuilds it from its spec', async () => {
    class MeanColour implements FeatureExtractor {
      readonly kind = 'mean-colour';
      readonly rawDim = 3;
      readonly dim = 3;
      readonly imageSize = 'original' as const;
      readonly needsFit = false;
      async extract(batch: readonly RawImage[]) {
        return batch.map((im) => {
          const s = [0, 0, 0];
          for (let p = 0; p < im.width * im.height; p++) for (let c = 0; c < 3; c++) s[c] += im.data[p * 3 + c];
          return Float32Array.from(s, (v) => v / (im.width * im.height));
        });
      }
      fit() {}
      transform(raw: { data: Float32Array; rows: number; cols: number }) {
        return raw;
      }
      spec() {
        return { kind: this.kind, options: {} };
      }
      dispose() {}
    }
    registerExtractor('mean-colour', () => new MeanColour());
    const fx = await createExtractor({ kind: 'mean-colour', options: {} });
    const v = await extractOne(fx, {
      data: Uint8Array.from([10, 20, 30, 30, 40, 50]),
      width: 2,
      height: 1,
      channels: 3,
    });
    expect(Array.from(v)).toEqual([20, 30, 40]);
    expect(() => registerExtractor('Bad Kind', () => new MeanColour())).toThrow(/lower-case/);
  });
});

describe('histogram distances', () => {
  it('Hellinger: square roots of the L1-normalised rows, so cosine is the Bhattacharyya coefficient', () => {
    const h = hellinger({ data: Float32Array.from([1, 3, 0, 2, 2, 4]), rows: 2, cols: 3 });
    expect(Array.from(h.data)).toEqual([0.5, Math.sqrt(0.75), 0, 0.5, 0.5, Math.sqrt(0.5)].map(Math.fround));
    // BC = sum sqrt(p q) = 0.25 + sqrt(0.75 * 0.25) + 0
    expect(dot(h.data.subarray(0, 3), h.data.subarray(3, 6))).toBeCloseTo(0.25 + Math.sqrt(0.1875), 6);
  });

  it('chi-square: 0.5 sum (a - b)^2 / (a + b) over non-empty bins', () => {
    expect(chiSquare([0.5, 0.5, 0], [0.25, 0.25, 0.5])).toBeCloseTo(
      0.5 * (0.0625 / 0.75 + 0.0625 / 0.75 + 0.25 / 0.5),
      12,
    );
    expect(chiSquare([0.2, 0.8], [0.2, 0.8])).toBe(0);
    expect(() => chiSquare([1], [1, 2])).toThrow(/same bins/);
  });
});
