import { CosineIndex } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { describeIndexContract } from './index-contract.js';

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return 1 - d / Math.sqrt(na * nb);
};

describeIndexContract('CosineIndex', (dim) => new CosineIndex(dim), cosine);

describe('CosineIndex', () => {
  it('rejects a zero vector at add time, naming its row', () => {
    const index = new CosineIndex(3);
    expect(() => index.add({ data: Float32Array.from([1, 0, 0, 0, 0, 0]), rows: 2, cols: 3 })).toThrow(
      /row 1 is the zero vector/,
    );
  });

  it('is scale-invariant: a vector and its multiple are at distance 0', () => {
    const index = new CosineIndex(2);
    index.add({ data: Float32Array.from([3, 4]), rows: 1, cols: 2 });
    const r = index.search({ data: Float32Array.from([30, 40]), rows: 1, cols: 2 }, 1);
    expect(Math.abs(r.distances[0])).toBeLessThan(1e-7);
  });
});
