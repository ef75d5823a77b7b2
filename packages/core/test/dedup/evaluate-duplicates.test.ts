import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CbirError,
  duplicatePrecisionRecall,
  evaluateDuplicates,
  recallAtPrecision,
  type DuplicateEvaluation,
  type DuplicateMap,
  type ScoredPair,
} from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

// imagededup's own evaluate() on seeded maps (fixtures/dedup/make-evaluate-fixture.py, imagededup 57a7e85).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/dedup/evaluate.json', import.meta.url), 'utf8')) as {
  cases: { truth: DuplicateMap; retrieved: DuplicateMap; evaluate: DuplicateEvaluation }[];
};

describe('evaluateDuplicates', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))("equals imagededup's evaluate on case %i", (_, c) => {
    const got = evaluateDuplicates(c.truth, c.retrieved);
    for (const k of ['map', 'ndcg', 'jaccard'] as const) expect(got[k]).toBeCloseTo(c.evaluate[k], 12);
    for (const k of ['precision', 'recall', 'f1_score', 'support'] as const)
      got[k].forEach((v, cls) => expect(v).toBeCloseTo(c.evaluate[k][cls], 12));
  });

  it('reads the order of retrieved lists for MAP and NDCG, not for Jaccard or the pair counts', () => {
    const truth = { a: ['b'], b: ['a'], c: [], d: [] };
    const first = evaluateDuplicates(truth, { a: ['b', 'c'], b: ['a'], c: ['a'], d: [] });
    const last = evaluateDuplicates(truth, { a: ['c', 'b'], b: ['a'], c: ['a'], d: [] });
    expect(first.map).toBeGreaterThan(last.map);
    expect(first.ndcg).toBeGreaterThan(last.ndcg);
    expect(first.jaccard).toBe(last.jaccard);
    expect(first.precision).toEqual(last.precision);
  });

  it('refuses maps imagededup refuses, naming the file', () => {
    const truth = { a: ['b'], b: ['a'] };
    expect(() => evaluateDuplicates({ a: ['b'], b: [] }, truth)).toThrow(/not symmetric: "b".*"a"/);
    expect(() => evaluateDuplicates(truth, { a: ['x'], b: [] })).toThrow(/"x", which is not a key/);
    expect(() => evaluateDuplicates(truth, { a: ['b'], b: ['a'], c: [] })).toThrow(/"c" only in retrieved/);
    expect(() => evaluateDuplicates(truth, { a: [], b: [] })).not.toThrow();
    expect(() => evaluateDuplicates(truth, { a: 'b' as unknown as string[], b: [] })).toThrow(CbirError);
  });
});

describe('duplicatePrecisionRecall', () => {
  // Seeded groups and scores; each curve point checked against evaluateDuplicates of the map it describes.
  const rng = new Rng(7);
  const files = Array.from({ length: 30 }, (_, i) => `f${i}`);
  const truth: Record<string, string[]> = Object.fromEntries(files.map((f) => [f, []]));
  for (let g = 0; g < 8; g++) {
    const members = [0, 1, 2].map(() => files[rng.int(files.length)]);
    for (const a of members) for (const b of members) if (a !== b && !truth[a].includes(b)) truth[a].push(b);
  }
  const pairs: ScoredPair[] = [];
  for (let i = 0; i < files.length; i++)
    for (let j = i + 1; j < files.length; j++)
      if (rng.next() < 0.4 || truth[files[i]].includes(files[j]))
        pairs.push({
          a: files[i],
          b: files[j],
          score: Math.round((truth[files[i]].includes(files[j]) ? 3 : 0) + 5 * rng.next()),
        });

  it('gives at each threshold the class-1 precision and recall of the pairs scoring at least it', () => {
    const curve = duplicatePrecisionRecall(truth, pairs);
    expect(curve.length).toBeGreaterThan(3);
    expect(curve.map((p) => p.threshold)).toEqual([...new Set(pairs.map((p) => p.score))].sort((x, y) => y - x));
    for (const point of curve) {
      const found: Record<string, string[]> = Object.fromEntries(files.map((f) => [f, []]));
      for (const { a, b, score } of pairs)
        if (score >= point.threshold) {
          found[a].push(b);
          found[b].push(a);
        }
      const e = evaluateDuplicates(truth, found);
      expect(point.precision).toBeCloseTo(e.precision[1], 12);
      expect(point.recall).toBeCloseTo(e.recall[1], 12);
    }
    const at = recallAtPrecision(curve, 0.9);
    const best = Math.max(...curve.filter((p) => p.precision >= 0.9).map((p) => p.recall));
    expect(at?.recall).toBe(best);
    expect(recallAtPrecision(curve, 1.01)).toBeUndefined();
  });

  it('refuses a pair naming a file outside the truth, or a NaN score', () => {
    expect(() => duplicatePrecisionRecall(truth, [{ a: 'f0', b: 'nope', score: 1 }])).toThrow(/"nope"\) names a file/);
    expect(() => duplicatePrecisionRecall(truth, [{ a: 'f0', b: 'f1', score: NaN }])).toThrow(/NaN/);
  });
});
