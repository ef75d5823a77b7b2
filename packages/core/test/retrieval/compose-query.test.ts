import { describe, expect, it } from 'vitest';
import { CbirError, composeQuery, CosineIndex, ExactEuclideanIndex } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

const rng = new Rng(37);
const vec = (dim = 6) => Float32Array.from({ length: dim }, () => rng.next() * 2 - 1);

describe('composeQuery', () => {
  it("is Rocchio's weighted mean of the positives minus gamma times the negatives', in float64", () => {
    const [a, b, c, d] = [vec(), vec(), vec(), vec()];
    const got = composeQuery([{ vector: a, weight: 3 }, { vector: b }], [{ vector: c }, { vector: d, weight: 0.5 }], {
      negativeWeight: 0.4,
    });
    const want = Array.from(a, (_, j) => (3 * a[j] + b[j]) / 4 - 0.4 * ((c[j] + 0.5 * d[j]) / 1.5));
    got.forEach((v, j) => expect(v).toBeCloseTo(want[j], 6));
    // One positive, no negative: itself; no negatives weigh nothing; gamma 0 ignores them.
    expect(Array.from(composeQuery([{ vector: a }]))).toEqual(Array.from(a));
    expect(Array.from(composeQuery([{ vector: a }], [{ vector: c }], { negativeWeight: 0 }))).toEqual(Array.from(a));
  });

  it('on a cosine index: each example by its direction, the query unit length; it ranks as a search expects', () => {
    const [a, b, c] = [vec(), vec(), vec()];
    const unit = (v: Float32Array) => {
      const n = Math.hypot(...v);
      return Array.from(v, (x) => x / n);
    };
    const [ua, ub, uc] = [unit(a), unit(b), unit(c)];
    const raw = ua.map((_, j) => (ua[j] + ub[j]) / 2 - 0.25 * uc[j]);
    const want = unit(Float32Array.from(raw));
    const got = composeQuery([{ vector: a }, { vector: Float32Array.from(b, (x) => x * 7) }], [{ vector: c }], {
      metric: 'cosine',
    });
    got.forEach((v, j) => expect(v).toBeCloseTo(want[j], 6));
    // The composed query searched in an index: nearer to the positives than to the negative.
    const index = new CosineIndex(6);
    index.add({ data: Float32Array.from([...a, ...b, ...c]), rows: 3, cols: 6 });
    const res = index.search({ data: got, rows: 1, cols: 6 }, 3);
    expect(res.ids[2]).toBe(2);
    const euclid = new ExactEuclideanIndex(6);
    euclid.add({ data: Float32Array.from([...a, ...b]), rows: 2, cols: 6 });
    const mid = composeQuery([{ vector: a }, { vector: b }]);
    const r = euclid.search({ data: mid, rows: 1, cols: 6 }, 2);
    expect(r.distances[0]).toBeCloseTo(r.distances[1], 5); // the mean is as far from both
  });

  it('refuses no positive, mixed lengths, bad weights, zero vectors on cosine and a query that cancels out', () => {
    const a = vec();
    const cases: [() => unknown, RegExp][] = [
      [() => composeQuery([]), /at least one positive example/],
      [
        () => composeQuery([{ vector: a }, { vector: vec(5) }]),
        /positive example 1 has 5 values; the first positive has 6/,
      ],
      [() => composeQuery([{ vector: a, weight: 0 }]), /positive example 0 has weight 0/],
      [() => composeQuery([{ vector: a }], [{ vector: a, weight: NaN }]), /negative example 0 has weight NaN/],
      [() => composeQuery([{ vector: new Float32Array(6) }], [], { metric: 'cosine' }), /zero vector/],
      [() => composeQuery([{ vector: a }], [{ vector: a }], { metric: 'cosine', negativeWeight: 1 }), /cancel out/],
      [() => composeQuery([{ vector: a }], [], { negativeWeight: -1 }), /negativeWeight must be a number >= 0/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(CbirError);
      expect(call).toThrow(message);
    }
  });
});
