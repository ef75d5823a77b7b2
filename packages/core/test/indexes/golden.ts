import { CosineIndex, ExactEuclideanIndex, LSHIndex, type Index } from 'cbir-core';

/** Small fixed indexes whose serialized bytes are committed as the format's golden files. */
export function goldenIndexes(): Record<string, Index> {
  const data = Float32Array.from({ length: 5 * 4 }, (_, i) => ((i * 37) % 11) - 5 + i / 8);
  const m = { data, rows: 5, cols: 4 };
  const ids = [0, 3, 10, 2 ** 33, 7];
  const meta = [{ path: 'a/0.jpg', label: 'a' }, undefined, { label: 'b' }, { path: 'c.png' }, undefined];
  const exact = new ExactEuclideanIndex(4);
  exact.add(m, ids, meta);
  const cosine = new CosineIndex(4);
  cosine.add(m, ids, meta);
  const lsh = new LSHIndex({
    hashSize: 6,
    numHashtables: 3,
    inputDim: 4,
    seed: 5,
    distanceFunc: 'hamming',
    centre: true,
  });
  lsh.add(m, ids, meta);
  return { exact, cosine, lsh };
}
