import {
  arrayDataset,
  BagOfVisualWords,
  descriptorMatrix,
  extractFeatures,
  FormatError,
  ImageDecodeError,
  NotFittedError,
  type ImageDataset,
} from 'cbir-core';
import { describe, expect, it } from 'vitest';

/** Descriptors drawn around a few prototypes, so a vocabulary of that size recovers them. */
function descriptors(seed: number, n: number, prototypes: number[]): Uint8Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const out = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) {
    const p = prototypes[i % prototypes.length];
    for (let j = 0; j < 32; j++) out[i * 32 + j] = (p + (rand() % 7)) & 255;
  }
  return out;
}

describe('BagOfVisualWords', () => {
  const images = [
    descriptors(1, 30, [10]),
    descriptors(2, 30, [10, 200]),
    descriptors(3, 30, [200]),
    new Uint8Array(0),
  ];

  it('encodes descriptors as bytes or bits', () => {
    const d = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0b10000001 : 0));
    expect(Array.from(descriptorMatrix([d], 'bytes').data.subarray(0, 2))).toEqual([129, 0]);
    const bits = descriptorMatrix([d], 'bits');
    expect(bits.cols).toBe(256);
    expect(Array.from(bits.data.subarray(0, 9))).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(() => descriptorMatrix([new Uint8Array(31)])).toThrow(/whole number of 32-byte descriptors/);
  });

  it('learns the words and gives word histograms per image (L2, tf-idf), zero rows for images without descriptors', () => {
    const bow = new BagOfVisualWords({ k: 2, seed: 0, batchSize: 16 }).fit(images);
    const h = bow.transform(images);
    expect([h.rows, h.cols]).toEqual([4, 2]);
    // Image 0 is all one word, image 2 all the other, image 1 half and half.
    const row = (i: number) => Array.from(h.data.subarray(i * 2, i * 2 + 2));
    expect(row(0).sort()).toEqual([0, 1]);
    expect(row(2).sort()).toEqual([0, 1]);
    expect(row(0)).not.toEqual(row(2));
    expect(row(1).map((v) => v.toFixed(4))).toEqual([Math.SQRT1_2.toFixed(4), Math.SQRT1_2.toFixed(4)]);
    expect(row(3)).toEqual([0, 0]);
    const l1 = new BagOfVisualWords({ k: 2, seed: 0, l2: false, tfidf: true }).fit(images).transform(images);
    expect(l1.data[2] + l1.data[3]).toBeCloseTo(1, 6);
  });

  it('round-trips through its file format and rejects corruption', () => {
    const bow = new BagOfVisualWords({ k: 2, seed: 0, tfidf: true, encoding: 'bits' }).fit(images);
    const bytes = bow.serialize();
    const back = BagOfVisualWords.deserialize(bytes);
    expect(Array.from(back.transform(images).data)).toEqual(Array.from(bow.transform(images).data));
    const bad = bytes.slice();
    bad[bad.length - 10] ^= 1;
    expect(() => BagOfVisualWords.deserialize(bad, 'v.bin')).toThrow(FormatError);
    expect(() => new BagOfVisualWords({ k: 2 }).vocabulary).toThrow(NotFittedError);
    expect(() => new BagOfVisualWords({ k: 500 }).fit(images)).toThrow(/90 descriptors for k = 500/);
  });
});

describe('extractFeatures', () => {
  it('maps every decodable image to a row and reports the rest', async () => {
    const image = (v: number) => ({
      data: new Uint8Array(4 * 4 * 3).fill(v),
      width: 4,
      height: 4,
      channels: 3 as const,
    });
    const base = arrayDataset(4, [
      { id: 'a', image: image(10), label: 'x' },
      { id: 'b', image: image(20) },
      { id: 'c', image: image(30), label: 'y' },
    ]);
    const data: ImageDataset = {
      ...base,
      read: async (i) => (i === 1 ? Promise.reject(new ImageDecodeError('corrupt')) : base.read(i)),
    };
    const warnings: string[] = [];
    const f = await extractFeatures(data, (im) => Float32Array.of(im.data[0], 1), {
      onProgress: (e) => e.stage === 'warning' && warnings.push(e.message),
    });
    expect(f.ids).toEqual(['a', 'c']);
    expect(f.labels).toEqual(['x', 'y']);
    expect(Array.from(f.matrix.data)).toEqual([10, 1, 30, 1]);
    expect(f.skipped).toEqual(['b']);
    expect(warnings[0]).toMatch(/^b: corrupt/);
  });
});
