import { describe, expect, it } from 'vitest';
import { Rng } from 'cbir-core';
import { TopK } from '../../src/compute/top-k.js';

// Against a full sort by (value, key): values drawn from a few levels so that ties are common, keys shuffled so that
// the arrival order is not the key order.
describe('TopK', () => {
  it('keep the k smallest by (value, key), whatever the arrival order', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 300; trial++) {
      const n = rng.int(60);
      const k = rng.int(n + 3);
      const d = Float64Array.from({ length: n }, () => rng.int(6) - 2);
      const keys = rng.shuffle(Array.from({ length: n }, (_, i) => i * 3));
      const oracle = Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => d[a] - d[b] || keys[a] - keys[b])
        .slice(0, k);
      const inOrder = new TopK(k);
      for (let i = 0; i < n; i++) inOrder.push(d[i], i, keys[i]);
      expect(inOrder.sorted()).toEqual(oracle.slice(0, Math.min(k, n)));
      const cap = Math.min(k, n);
      const top = new TopK(cap);
      for (let i = n - 1; i >= 0; i--) top.push(d[i], i, keys[i]); // reversed arrival
      expect(top.sorted()).toEqual(oracle);
      expect(top.worst).toBe(cap === 0 ? -Infinity : d[oracle[cap - 1]]);
      expect(new TopK(cap + 1).worst).toBe(Infinity); // not full yet
    }
  });

  it('k = 0 keeps nothing; keys default to the item', () => {
    const none = new TopK(0);
    none.push(1, 0);
    expect(none.sorted()).toEqual([]);
    const top = new TopK(3);
    [2, 1, 1, 0].forEach((v, i) => top.push(v, i));
    expect(top.sorted()).toEqual([3, 1, 2]);
  });
});
